"""Dead letters: listed from ClickHouse, replayed from the topic after a fix, none lost."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from oppchain.check import check
from oppchain.deadletters import (
    DeadLetter,
    list_dead_letters,
    list_sql,
    read_dead_letters,
    replay,
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
