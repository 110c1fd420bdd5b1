"""End to end on the real broker and engine: nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kafka import KafkaConsumer

from oppchain.generator import generate
from oppchain.settings import Settings
from tests.integration.harness import make_pipeline, produce, run_until, scalar

pytestmark = pytest.mark.integration


def _deadletter_topic_count(settings: Settings) -> int:
    consumer = KafkaConsumer(
        settings.topics["deadletters"],
        bootstrap_servers=settings.brokers,
        auto_offset_reset="earliest",
        consumer_timeout_ms=1500,
        enable_auto_commit=False,
    )
    try:
        return sum(1 for _ in consumer)
    finally:
        consumer.close()


def _stored(client: Any) -> tuple[int, int, int]:
    events = scalar(client, "SELECT uniqExact(event_id) FROM touchpoints") + scalar(
        client, "SELECT uniqExact(event_id) FROM crm_events"
    )
    rows = scalar(client, "SELECT count() FROM touchpoints") + scalar(
        client, "SELECT count() FROM crm_events"
    )
    dead = scalar(client, "SELECT count() FROM dead_letters")
    return events, rows, dead


@pytest.mark.parametrize("processes", [0, 2], ids=["in-thread", "two-processes"])
def test_every_event_is_stored_or_dead_lettered(
    settings: Settings, clickhouse: Any, processes: int
) -> None:
    world = generate(7, 365, events=3000, bad_fraction=0.02)
    bad = world.truth["counts"]["bad"]
    assert bad >= 50
    settings = settings.model_copy(
        update={"markov_interval_s": 0.5, "processing_processes": processes}
    )
    sent = produce(settings, world.events)
    assert sent == 3000
    pipeline = run_until(
        settings,
        sent,
        use_faust=True,
        also=lambda p: p.sink.query("SELECT count() FROM channel_attribution")[0][0] > 0,
    )
    events, rows, dead = _stored(clickhouse)
    assert events == rows == 3000 - bad
    assert dead == bad
    assert pipeline.counters.duplicates_dropped == 0
    assert _deadletter_topic_count(settings) == bad
    # The worker's scheduled data-driven attribution ran and wrote its rows.
    assert scalar(clickhouse, "SELECT count() FROM channel_attribution") > 0
    pipeline.close()
    reasons = dict(
        clickhouse.query("SELECT reason, count() FROM dead_letters GROUP BY reason").result_rows
    )
    assert set(reasons) >= {"malformed_json", "invalid", "unknown_event_type", "oversized"}
    emails = [e for person in world.truth["persons"].values() for e in person["emails"]]
    assert emails, "the world should hold clear emails to hide"
    for name in ("touchpoints", "crm_events", "dead_letters", "identity_merges"):
        table_text = scalar(clickhouse, f"SELECT groupArray(toString(tuple(*))) FROM {name}")
        assert not [e for e in emails if e in str(table_text)], name


def test_redelivered_events_are_stored_once(settings: Settings, clickhouse: Any) -> None:
    world = generate(8, 365, events=1500, bad_fraction=0.02)
    bad = world.truth["counts"]["bad"]
    sent = produce(settings, world.events)
    run_until(settings, sent)
    first = _stored(clickhouse)
    # A new consumer group reads every message again: full redelivery of the
    # same offsets into the same database, with state rebuilt from it.
    again = settings.model_copy(update={"group_id": settings.group_id + "-again"})
    pipeline = run_until(again, sent)
    assert pipeline.counters.duplicates_dropped == sent - bad
    assert _stored(clickhouse) == first == (sent - bad, sent - bad, bad)
    # The same events produced a second time (new offsets) are dropped too.
    valid_lines = world.events[:200]
    produce(settings, valid_lines)
    pipeline = run_until(again, len(valid_lines))
    assert _stored(clickhouse)[:2] == (sent - bad, sent - bad)


def test_a_failed_rebuild_stops_the_worker_instead_of_consuming_without_history(
    settings: Settings, clickhouse: Any
) -> None:
    """aiokafka only logs a rebalance callback's error: a worker whose rebuild failed
    went on consuming without the history of its partitions (redelivered events
    were stored again, chains computed without their touches)."""
    sent = produce(settings, generate(5, 30, events=50).events)
    pipeline = make_pipeline(settings)

    def broken(partitions: set[int]) -> int:
        raise ConnectionError("ClickHouse said no")

    pipeline.rebuild = broken  # type: ignore[method-assign]
    try:
        with pytest.raises(RuntimeError, match="a partition assignment failed") as failed:
            asyncio.run(asyncio.wait_for(pipeline.run(), 60))
    finally:
        pipeline.close()
    assert isinstance(failed.value.__cause__, ConnectionError)
    assert sent == 50 and _stored(clickhouse) == (0, 0, 0)
