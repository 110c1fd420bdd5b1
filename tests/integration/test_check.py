"""Reconciliation: every message on the topics is stored, dead-lettered, a duplicate or
erased; a lost one shows as a gap and a non-zero exit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from oppchain.check import check, run_check
from oppchain.cli_context import UsageError
from oppchain.erase import erase
from oppchain.generator import generate
from oppchain.settings import Settings
from sinks.tables.privacy import TABLES as PRIVACY_TABLES
from sinks.writer import ClickHouseSink
from tests.integration.harness import produce, run_until

pytestmark = pytest.mark.integration


def test_check_accounts_for_every_message(
    settings: Settings, clickhouse: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    for table in PRIVACY_TABLES:
        clickhouse.command(table.create_sql())
    world = generate(5, 365, events=2000, bad_fraction=0.02)
    bad = world.truth["counts"]["bad"]
    sent = produce(settings, world.events)
    run_until(settings, sent)

    def query(sql: str) -> Any:
        return clickhouse.query(sql).result_rows

    results = check(query, settings.brokers, settings.input_topics)
    assert [r.topic for r in results] == settings.input_topics
    assert all(r.ok and r.extra == 0 for r in results)
    assert sum(r.messages for r in results) == sent
    assert sum(r.stored for r in results) == sent - bad
    assert sum(r.dead_lettered for r in results) == bad
    assert run_check(settings, settings.brokers) == 0
    assert "ok: every message accounted for" in capsys.readouterr().out

    # Erased events are accounted for, not reported lost.
    workspace, person = query(
        "SELECT workspace, person_id FROM touchpoints WHERE person_id != '' "
        "GROUP BY workspace, person_id ORDER BY count() DESC, person_id LIMIT 1"
    )[0]
    report = erase(clickhouse, settings.secret_bytes(), workspace, person)
    assert report.events > 0
    results = check(query, settings.brokers, settings.input_topics)
    assert all(r.ok for r in results)
    assert sum(r.erased for r in results) == report.events
    assert sum(r.stored for r in results) == sent - bad - report.events

    # Rows lost behind the pipeline's back: a gap, with where to look, and exit 1.
    lost = query(
        "SELECT event_id, source_topic, source_partition, source_offset FROM touchpoints "
        "ORDER BY event_id LIMIT 3"
    )
    ids = ", ".join(f"'{r[0]}'" for r in lost)
    clickhouse.command(
        f"ALTER TABLE touchpoints DELETE WHERE event_id IN ({ids}) SETTINGS mutations_sync = 2"
    )
    results = check(query, settings.brokers, settings.input_topics)
    assert sum(r.gap for r in results) == 3
    gaps = {f"{r.topic}:{m}" for r in results for m in r.missing_sample}
    assert gaps == {f"{t}:{p}/{o}" for _, t, p, o in lost}
    assert run_check(settings, settings.brokers) == 1
    assert "3 messages unaccounted" in capsys.readouterr().out


def _dead_letter_at(topic: str, offset: int) -> dict[str, Any]:
    return {
        "dead_at": datetime(2026, 6, 1, tzinfo=UTC),
        "reason": "invalid_json",
        "detail": "truncated",
        "source_topic": topic,
        "source_partition": 0,
        "source_offset": offset,
        "message_key": "",
        "event_id": "",
        "workspace": "",
        "payload_bytes": 1,
        "payload": "{",
    }


def test_reading_nothing_from_kafka_is_a_failure_not_all_extra(
    settings: Settings, clickhouse: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """ClickHouse accounts for positions of a topic that gives nothing back (missing,
    wrong brokers, broker too slow for the first fetch): that is no "ok"."""

    def query(sql: str) -> Any:
        return clickhouse.query(sql).result_rows

    # Empty topics and an empty database: nothing to account for, nothing wrong.
    fast = {"idle_ms": 300, "first_idle_ms": 1000}
    assert all(r.ok for r in check(query, settings.brokers, settings.input_topics, **fast))

    # The topics as another prefix names them do not exist on this broker.
    gone = settings.model_copy(update={"topic_prefix": settings.topic_prefix + "gone."})
    social = gone.input_topics[0]
    ClickHouseSink(lambda: clickhouse).write(
        {"dead_letters": [_dead_letter_at(social, 0), _dead_letter_at(social, 1)]}
    )
    results = check(query, gone.brokers, gone.input_topics, **fast)
    (bad,) = [r for r in results if not r.ok]
    assert (bad.topic, bad.messages, bad.gap, bad.extra) == (social, 0, 0, 2)
    assert "read no message from Kafka" in bad.problem and "\n" not in bad.problem
    assert run_check(gone, gone.brokers, **fast) == 1
    out = capsys.readouterr().out
    assert f"{social}: read no message from Kafka at {gone.brokers}" in out
    assert "ok: every message accounted for" not in out
    assert out.rstrip().endswith("FAILED: nothing read from Kafka")


def test_check_against_unreachable_brokers_is_one_line(settings: Settings) -> None:
    with pytest.raises(UsageError) as caught:
        run_check(settings, "127.0.0.1:1", idle_ms=300, first_idle_ms=1000)
    assert str(caught.value).startswith("Kafka at 127.0.0.1:1: ")
    assert "\n" not in str(caught.value)
