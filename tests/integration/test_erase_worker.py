"""A running worker forgets an erased person, whatever the clock of the erasing host."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from oppchain.erase import erase, resolve
from oppchain.erasure_log import ERASURE_COLUMNS
from oppchain.generator import generate
from oppchain.settings import Settings
from sinks.spec import quote
from streams.pipeline import Pipeline
from tests.integration.harness import ACCOUNTED, make_pipeline, produce, scalar

EVENTS = 3000


async def _handled(pipeline: Pipeline, expected: int, timeout_s: float = 120) -> None:
    counters = pipeline.counters
    deadline = time.monotonic() + timeout_s
    while counters.stored + counters.dead_lettered + counters.duplicates_dropped < expected:
        assert time.monotonic() < deadline, f"only {counters} of {expected}"
        await asyncio.sleep(0.05)


async def _stored(client: Any, expected: int, timeout_s: float = 60) -> None:
    """Until the batches handled are in ClickHouse too (the last one is stored while
    the loop goes on)."""
    deadline = time.monotonic() + timeout_s
    while await asyncio.to_thread(scalar, client, ACCOUNTED) < expected:
        assert time.monotonic() < deadline, "the batches were not stored"
        await asyncio.sleep(0.05)


async def _erasure_seen(pipeline: Pipeline, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while pipeline.erasures_applied < 1:
        assert time.monotonic() < deadline, "the worker never saw the erasure"
        await asyncio.sleep(0.05)


def test_a_running_worker_forgets_a_person_erased_by_a_host_whose_clock_is_behind(
    settings: Settings, clickhouse: Any
) -> None:
    client = clickhouse
    lines = generate(3, 365, events=EVENTS).events
    produce(settings, lines)
    pipeline = make_pipeline(settings)
    erased_lines: list[bytes] = []

    async def main() -> None:
        task = asyncio.ensure_future(pipeline.run())
        try:
            await _handled(pipeline, EVENTS)
            await _stored(client, EVENTS)
            workspace, person = client.query(
                "SELECT workspace, person_id FROM opportunity_chains "
                "ORDER BY workspace, opportunity_id LIMIT 1"
            ).result_rows[0]
            subject = resolve(client, workspace, person)
            behind = datetime.now(UTC) - timedelta(hours=3)  # the erasing host's clock
            secret = settings.secret_bytes()
            report = await asyncio.to_thread(
                erase, client, secret, workspace, person, now=behind, wait_for_worker_s=60
            )
            assert report.complete and report.events == len(subject.events)
            assert report.worker_rebuilt  # the worker said it no longer holds the person
            await _erasure_seen(pipeline)
            # The erased events arrive again (a producer's resend).
            erased_lines.extend(
                line for line in lines if orjson.loads(line)["event_id"] in subject.events
            )
            produce(settings, erased_lines)
            await _handled(pipeline, EVENTS + len(erased_lines))
        finally:
            pipeline.stopping.set()
            await asyncio.wait_for(task, 60)
        pipeline.close()
        events = ", ".join(quote(e) for e in sorted(subject.events))
        for table in ("touchpoints", "crm_events", "ingest_duplicates"):
            found = scalar(client, f"SELECT count() FROM {table} WHERE event_id IN ({events})")
            assert found == 0, table  # neither stored again nor named as a duplicate
        assert scalar(client, "SELECT count() FROM erased_events") == report.events + len(
            erased_lines
        )

    asyncio.run(main())
    assert erased_lines


def test_a_running_worker_rebuilds_the_rollups_an_erasure_raced_with(
    settings: Settings, clickhouse: Any
) -> None:
    """An erasure rebuilds the rollups of the workspace from its source rows; a batch
    the worker stored meanwhile lands in a rollup both through its view and through
    that rebuild. Here the double count is made by hand, then an erasure of the
    workspace is recorded: the worker rebuilds the rollups, between its batches."""
    client = clickhouse
    produce(settings, generate(4, 365, events=EVENTS).events)
    pipeline = make_pipeline(settings)
    rolled = (
        "SELECT (SELECT sum(touches) FROM touchpoints_daily WHERE workspace = {w}), "
        "(SELECT sum(acts) FROM karma_daily WHERE workspace = {w})"
    )
    source = (
        "SELECT count(), countIf(direction = 'outbound' AND intent IN ('give', 'ask')) "
        "FROM touchpoints WHERE workspace = {w}"
    )

    async def main() -> None:
        task = asyncio.ensure_future(pipeline.run())
        try:
            await _handled(pipeline, EVENTS)
            await _stored(client, EVENTS)
            workspace = scalar(client, "SELECT min(workspace) FROM touchpoints")
            w = quote(workspace)
            expected = client.query(source.format(w=w)).result_rows[0]
            assert client.query(rolled.format(w=w)).result_rows[0] == expected
            for rollup in ("touchpoints_daily", "karma_daily"):
                client.command(
                    f"INSERT INTO {rollup} SELECT * FROM {rollup} WHERE workspace = {w} "
                    "SETTINGS insert_deduplicate = 0"
                )
            assert client.query(rolled.format(w=w)).result_rows[0] == tuple(2 * n for n in expected)
            client.insert(
                "erasures",
                [["e-race", workspace, datetime.now(UTC), "h", 1, 1, 1, {"touchpoints": 1}, {}]],
                column_names=list(ERASURE_COLUMNS),
            )
            await _erasure_seen(pipeline)
            assert client.query(rolled.format(w=w)).result_rows[0] == expected
            acks = "SELECT erasure_id, workspace FROM erasure_acks"
            assert client.query(acks).result_rows == [("e-race", workspace)]
        finally:
            pipeline.stopping.set()
            await asyncio.wait_for(task, 60)
        pipeline.close()

    asyncio.run(main())
