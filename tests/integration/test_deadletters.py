"""Dead letters: listed from ClickHouse, replayed from the topic after a fix, none lost."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import orjson
import pytest
from kafka import KafkaProducer
from kafka.errors import KafkaTimeoutError

from oppchain import deadletters
from oppchain.check import check
from oppchain.deadletters import (
    DeadLetter,
    list_dead_letters,
    list_sql,
    read_dead_letters,
    read_topic,
    replay,
    run_replay,
    select,
)
from oppchain.generator import generate
from oppchain.settings import Settings
from tests.integration.harness import produce, run_until, scalar

pytestmark = pytest.mark.integration


def _letter(offset: int, reason: str, source_offset: int) -> DeadLetter:
    return DeadLetter(offset, reason, "", "t.social", 0, source_offset, None, b"x")


def test_select_filters_by_reason_and_takes_each_source_once() -> None:
    letters = [
        _letter(0, "oversized", 5),
        _letter(1, "malformed_json", 6),
        _letter(2, "oversized", 5),  # the same message dead-lettered twice (redelivery)
        _letter(3, "oversized", 9),
    ]
    assert [d.offset for d in select(letters)] == [0, 1, 3]
    assert [d.offset for d in select(letters, "oversized")] == [0, 3]
    assert select(letters, "invalid") == []
    assert letters[0].source == "t.social/0/5"


def test_list_sql() -> None:
    sql = list_sql("it's", 7)
    assert "WHERE reason = 'it\\'s'" in sql and sql.endswith("LIMIT 7")
    assert "payload " not in sql.replace("payload_bytes", "")


def _big(line: bytes) -> bytes:
    """A valid event over 2 KiB: oversized under a 2 KiB limit, fine under 64 KiB."""
    event = orjson.loads(line)
    event["event_id"] += "-big"
    event["hashtags"] = [f"tag{i}" + "x" * 90 for i in range(30)]
    return orjson.dumps(event)


def test_replay_after_fix_loses_nothing(settings: Settings, clickhouse: Any) -> None:
    world = generate(11, 120, events=400)
    good = [line for line in world.events if len(line) <= 2048]
    socials = [line for line in good if b'"social_interaction"' in line and b'"handle"' in line]
    big = [_big(line) for line in socials[:15]]
    malformed = [b'{"event_id": "broken-%d",' % i for i in range(6)]
    lines = good + big + malformed
    dead_total = len(big) + len(malformed)
    sent = produce(settings, lines)
    assert sent == len(lines)

    strict = settings.model_copy(update={"max_message_bytes": 2048})
    run_until(strict, sent)
    rows = list_dead_letters(settings, limit=1000)
    reasons = sorted({r["reason"] for r in rows})
    assert reasons == ["malformed_json", "oversized"] and len(rows) == dead_total
    assert len(list_dead_letters(settings, reason="oversized", limit=1000)) == len(big)
    assert len(list_dead_letters(settings, reason="oversized", limit=3)) == 3
    on_topic = read_dead_letters(settings.brokers, settings.topics["deadletters"])
    assert sorted(d.value for d in on_topic) == sorted(big + malformed), "original bytes kept"

    dry = replay(settings, settings.brokers, dry_run=True)
    assert (dry.matched, dry.replayed) == (dead_total, 0)
    assert dict(dry.by_reason) == {"oversized": len(big), "malformed_json": len(malformed)}

    # The fix: the limit goes back up. Replay everything; only the fixed ones stick.
    fixed = settings.model_copy(update={"max_message_bytes": 64 * 1024})
    first = replay(fixed, settings.brokers)
    assert (first.matched, first.already_replayed, first.replayed) == (dead_total, 0, dead_total)
    run_until(fixed, dead_total)
    stored = scalar(clickhouse, "SELECT uniqExact(event_id) FROM touchpoints") + scalar(
        clickhouse, "SELECT uniqExact(event_id) FROM crm_events"
    )
    assert stored == len(good) + len(big)
    again = dict(
        clickhouse.query(
            "SELECT reason, count() FROM dead_letters GROUP BY reason ORDER BY reason"
        ).result_rows
    )
    assert again == {"malformed_json": 2 * len(malformed), "oversized": len(big)}

    # Replaying again sends only the new dead letters (the copies that failed again).
    second = replay(fixed, settings.brokers)
    assert second.already_replayed == dead_total and second.replayed == len(malformed)
    assert dict(second.by_reason) == {"malformed_json": len(malformed)}
    run_until(fixed, len(malformed))

    # Every message on every topic, originals and replays, is accounted for.
    results = check(
        lambda sql: clickhouse.query(sql).result_rows, settings.brokers, settings.input_topics
    )
    assert [r.gap for r in results] == [0, 0, 0]
    assert sum(r.messages for r in results) == sent + dead_total + len(malformed)
    assert sum(r.stored for r in results) == len(good) + len(big)
    assert sum(r.dead_lettered for r in results) == dead_total + 2 * len(malformed)


def test_a_message_over_a_mebibyte_is_dead_lettered_whole(
    settings: Settings, clickhouse: Any
) -> None:
    """The dead-letter producer's default request limit (1 MiB) used to fail on such a
    message at every restart: the worker could not get past it."""
    line = generate(11, 30, events=20).events[0]
    event = orjson.loads(line)
    event["event_id"] += "-huge"
    event["hashtags"] = ["x" * 1000 for _ in range(2200)]
    huge = orjson.dumps(event)
    assert len(huge) > 2 * 1024 * 1024
    sent = produce(settings, [line, huge])
    run_until(settings, sent)
    [letter] = read_dead_letters(settings.brokers, settings.topics["deadletters"])
    assert (letter.reason, letter.value) == ("oversized", huge)
    assert scalar(clickhouse, "SELECT payload_bytes FROM dead_letters") == len(huge)
    assert (
        scalar(clickhouse, "SELECT count() FROM touchpoints")
        + scalar(clickhouse, "SELECT count() FROM crm_events")
        == 1
    )


def _put_dead_letters(settings: Settings, letters: list[tuple[str, int, int, bytes]]) -> None:
    """Dead letters as the pipeline writes them: original bytes, source in headers."""
    producer = KafkaProducer(bootstrap_servers=settings.brokers, acks="all")
    try:
        for topic, partition, offset, value in letters:
            producer.send(
                settings.topics["deadletters"],
                value=value,
                headers=[
                    ("reason", b"malformed_json"),
                    ("source_topic", topic.encode()),
                    ("source_partition", str(partition).encode()),
                    ("source_offset", str(offset).encode()),
                ],
            ).get(timeout=30)
    finally:
        producer.close()


def test_replay_counts_copies_the_broker_refuses_and_exits_1(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """A dead letter whose source partition is gone (the topic was recreated with fewer
    partitions) cannot be sent: the others still go, and the counts say so."""
    social = settings.input_topics[0]
    assert settings.partitions == 3
    _put_dead_letters(
        settings, [(social, 0, 5, b"{1"), (social, 7, 9, b"{2"), (social, 1, 6, b"{3")]
    )

    assert run_replay(settings, settings.brokers, None, False) == 1
    captured = capsys.readouterr()
    assert "dead letters matched 3, already replayed 0, replayed 2, failed 1" in captured.out
    assert f"not sent: {social}/7/9: ValueError" in captured.err
    assert "1 of 3 copies were not sent" in captured.err
    copies = {_source(m) for m in read_topic(settings.brokers, social, idle_ms=500)}
    assert copies == {f"{social}/0/5", f"{social}/1/6"}

    # Run again: only the one still to do is tried.
    report = replay(settings, settings.brokers, idle_ms=500)
    assert (report.already_replayed, report.replayed, report.failed) == (2, 0, 1)


def _source(message: Any) -> str:
    return dict(message.headers)["replay_of"].decode()


class _Future:
    def __init__(self, error: Exception | None) -> None:
        self.error = error

    def get(self, timeout: float) -> None:
        if self.error is not None:
            raise self.error


class _FlakyProducer:
    """Takes every send; the broker then times out the second copy."""

    sent: ClassVar[list[str]] = []

    def __init__(self, **_: Any) -> None:
        pass

    def partitions_for(self, topic: str) -> set[int]:
        return {0, 1, 2}

    def send(self, topic: str, **kw: Any) -> _Future:
        n = len(self.sent)
        self.sent.append(kw["headers"][0][1].decode())
        return _Future(KafkaTimeoutError("no ack in 30 s") if n == 1 else None)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_replay_counts_a_failed_delivery_and_goes_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    letters = [_letter(n, "oversized", 10 + n) for n in range(4)]
    monkeypatch.setattr(deadletters, "read_dead_letters", lambda *a, **k: letters)
    monkeypatch.setattr(deadletters, "replayed_sources", lambda *a, **k: set())
    monkeypatch.setattr(deadletters, "KafkaProducer", _FlakyProducer)
    settings = Settings(data_dir=tmp_path, topic_prefix="x.")

    assert run_replay(settings, "127.0.0.1:1", None, False) == 1
    assert len(_FlakyProducer.sent) == 4  # every copy was tried
    captured = capsys.readouterr()
    assert "replayed 3, failed 1" in captured.out
    assert "not sent: t.social/0/11: KafkaTimeoutError: no ack in 30 s" in captured.err
    assert "1 of 4 copies were not sent" in captured.err


def test_events_off_their_partition_are_dead_lettered_and_replayed_home(
    settings: Settings, clickhouse: Any
) -> None:
    """A producer that ignores the routing contract: its events would be stitched
    apart from the rest of their workspace, so they wait as dead letters until a
    replay sends them to their workspace's partition."""
    from schemas.events import family_of
    from streams.routing import partition_for

    lines = generate(13, 60, events=300, workspaces=2).events
    strays = lines[-12:]
    sent = produce(settings, lines[:-12])
    raw = KafkaProducer(bootstrap_servers=settings.brokers)
    for line in strays:
        event = orjson.loads(line)
        home = partition_for(event["workspace"], settings.partitions)
        topic = settings.topics[family_of(event["event_type"])]
        raw.send(topic, line, partition=(home + 1) % settings.partitions)
    raw.flush()
    raw.close()
    run_until(settings, sent + len(strays))
    rows = list_dead_letters(settings, limit=100)
    assert sorted(r["event_id"] for r in rows) == sorted(
        orjson.loads(s)["event_id"] for s in strays
    )
    assert {r["reason"] for r in rows} == {"wrong_partition"}

    report = replay(settings, settings.brokers, reason="wrong_partition")
    assert (report.matched, report.replayed) == (len(strays), len(strays))
    run_until(settings, len(strays))
    stored = scalar(clickhouse, "SELECT uniqExact(event_id) FROM touchpoints") + scalar(
        clickhouse, "SELECT uniqExact(event_id) FROM crm_events"
    )
    assert stored == len(lines)
    results = check(
        lambda sql: clickhouse.query(sql).result_rows, settings.brokers, settings.input_topics
    )
    assert [r.gap for r in results] == [0, 0, 0]
    assert sum(r.dead_lettered for r in results) == len(strays)


def test_a_worker_refuses_topics_with_another_partition_count(settings: Settings) -> None:
    from streams.pipeline import PartitionCountMismatch
    from tests.integration.harness import make_pipeline

    pipeline = make_pipeline(settings.model_copy(update={"partitions": settings.partitions + 1}))
    with pytest.raises(PartitionCountMismatch, match=r"has 3 partitions, settings say 4"):
        asyncio.run(pipeline.start())
