"""Workers of one consumer group: one stops and comes back, one stops during a
rebalance, one is evicted while it still fetches.

The workers live in this process because an embedded ClickHouse (chdb) can be
opened by one process only; each has its own Kafka consumer in the same group,
its own state and its own rebalances, exactly as processes against a ClickHouse
server would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from oppchain.generator import generate
from oppchain.settings import Settings
from streams.pipeline import Pipeline
from tests.groups import group_settings, migrated_clickhouse
from tests.integration.harness import ACCOUNTED, make_pipeline, produce, scalar

pytestmark = pytest.mark.integration


@contextmanager
def _group(
    tmp_path: Any, broker: Any, **overrides: Any
) -> Iterator[tuple[Settings, Any, list[Pipeline]]]:
    """A group's settings and migrated database, and a list for the workers the test
    starts: they and the database are closed at the end."""
    settings = group_settings(tmp_path, broker.bootstrap, **overrides)
    workers: list[Pipeline] = []
    with migrated_clickhouse(settings) as client:
        try:
            yield settings, client, workers
        finally:
            for worker in workers:
                worker.close()


def _start(settings: Settings, workers: list[Pipeline]) -> tuple[Pipeline, asyncio.Task[None]]:
    pipeline = make_pipeline(settings)
    workers.append(pipeline)
    return pipeline, asyncio.ensure_future(pipeline.run())


def _accounted(client: Any) -> int:
    return int(scalar(client, ACCOUNTED))


def _stored_rows(client: Any) -> int:
    """Raw rows, not deduplicated: an event stored twice counts twice."""
    return int(
        scalar(client, "SELECT count() FROM touchpoints")
        + scalar(client, "SELECT count() FROM crm_events")
    )


async def _wait(client: Any, expected: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await asyncio.to_thread(_accounted, client) >= expected:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{_accounted(client)} of {expected} accounted")


async def _owning(pipeline: Pipeline, timeout_s: float = 60) -> None:
    """Wait until the worker owns partitions (its state rebuilt): a fast worker
    would otherwise consume everything produced while the group rebalances."""
    deadline = time.monotonic() + timeout_s
    while not pipeline.owned:
        if time.monotonic() > deadline:
            raise TimeoutError("the worker was assigned no partitions")
        await asyncio.sleep(0.05)


async def _stop(pipeline: Pipeline, task: asyncio.Task[None], timeout_s: float = 60) -> None:
    pipeline.stopping.set()
    try:
        await asyncio.wait_for(task, timeout_s)
    except TimeoutError:
        raise AssertionError(f"the worker did not stop within {timeout_s}s") from None


def test_two_workers_with_a_restart_end_exact(tmp_path: Any, broker: Any) -> None:
    # Workers leave cleanly here, so the session timeout only decides when a busy
    # worker is taken for dead; six processing processes share two cores.
    timing = {"session_timeout_ms": 6000, "heartbeat_interval_ms": 300}
    batches = {"batch_max_records": 500, "batch_linger_ms": 20}
    world = generate(21, 730, events=24000, workspaces=8, bad_fraction=0.005)
    truth = world.truth["opportunities"]
    third = len(world.events) // 3

    with _group(tmp_path, broker, partitions=6, **timing, **batches) as (settings, client, workers):

        async def scenario() -> None:
            a, task_a = _start(settings, workers)
            b, task_b = _start(settings, workers)
            await _owning(a)
            await _owning(b)
            await asyncio.to_thread(produce, settings, world.events[:third])
            await _wait(client, third, 120)
            await _stop(b, task_b)  # worker b leaves; a takes every partition
            await asyncio.to_thread(produce, settings, world.events[third : 2 * third])
            await _wait(client, 2 * third, 120)
            b2, task_b2 = _start(settings, workers)  # b comes back, takes its share again
            await _owning(b2)
            await asyncio.to_thread(produce, settings, world.events[2 * third :])
            await _wait(client, len(world.events), 180)
            await _stop(a, task_a)
            await _stop(b2, task_b2)

        asyncio.run(scenario())
        assert all(w.batches > 0 for w in workers), [w.batches for w in workers]
        assert _accounted(client) == len(world.events)
        assert _stored_rows(client) == world.truth["counts"]["valid"]
        chains = dict(
            client.query("SELECT opportunity_id, path FROM opportunity_chains_latest").result_rows
        )
        assert set(chains) == set(truth)
        assert all(list(chains[o]) == truth[o]["channels"] for o in truth)


def test_a_worker_stopping_while_its_group_rebalances_stops(tmp_path: Any, broker: Any) -> None:
    """Worker a leaves; worker b is still storing its last batch when the group rebalances,
    so b's revoke callback waits for that store while b shuts down."""
    timing = {"session_timeout_ms": 3000, "heartbeat_interval_ms": 100}
    with _group(tmp_path, broker, partitions=2, **timing) as (settings, _client, workers):

        async def scenario() -> None:
            a, task_a = _start(settings, workers)
            b, task_b = _start(settings, workers)
            await _owning(a)
            await _owning(b)
            # The group rebalances at the latest a session timeout after a has gone.
            await _stop(a, task_a)
            b._in_flight = asyncio.ensure_future(asyncio.sleep(6))  # a slow last store
            await _stop(b, task_b)

        asyncio.run(scenario())
        # b's rebalance ran while it was stopping: it took no partitions to rebuild.
        assert [len(w.owned) for w in workers] == [1, 0]


def test_an_evicted_worker_stores_nothing_and_loses_nothing(tmp_path: Any, broker: Any) -> None:
    """Worker a stops heartbeating (as a starved process would) and is evicted, but it
    still fetches from its old partitions: those batches are fenced, not stored. When a
    is back, it rebuilds the state it had not stored, and every event is stored once."""
    timing = {"session_timeout_ms": 2000, "heartbeat_interval_ms": 200}
    batches = {"batch_max_records": 200, "batch_linger_ms": 20}
    world = generate(5, 365, events=3000, workspaces=8, bad_fraction=0.01)

    with _group(tmp_path, broker, partitions=4, **timing, **batches) as (settings, client, workers):

        async def scenario() -> None:
            # Client ids order the members, so the range assignor gives a partitions 0, 1.
            a, task_a = _start(settings.model_copy(update={"app_id": "a"}), workers)
            b, task_b = _start(settings.model_copy(update={"app_id": "b"}), workers)
            await _owning(a)
            await _owning(b)
            assert a.owned == {0, 1} and a.consumer is not None and b.consumer is not None
            coordinator = a.consumer._coordinator
            resume = asyncio.Event()

            async def silent() -> bool:  # a starved worker: no heartbeat until resumed
                await resume.wait()
                del coordinator._do_heartbeat
                return True

            coordinator._do_heartbeat = silent
            deadline = time.monotonic() + 60
            while len(b.owned) < settings.partitions:  # the group moved on without a
                assert time.monotonic() < deadline, b.owned
                await asyncio.sleep(0.05)
            # b consumes nothing until the group rebalances again, so when a gets 0 and 1
            # back, no one has committed on them, and a must still rebuild their state.
            b.consumer.pause(*b.consumer.assignment())
            await asyncio.to_thread(produce, settings, world.events)
            while not a.fenced_batches:  # a fetched from its old partitions: fenced
                assert time.monotonic() < deadline + 60
                await asyncio.sleep(0.05)
            resume.set()
            await _wait(client, len(world.events), 120)
            assert a.owned == {0, 1}
            await _stop(a, task_a)
            await _stop(b, task_b)

        asyncio.run(scenario())
        a = workers[0]
        assert a.fenced_batches > 0 and a.batches > 0, (a.fenced_batches, a.batches)
        assert _accounted(client) == len(world.events)
        # Counted when committed: a's fenced batches are counted once, when a took them
        # again, and every message exactly once over both workers.
        counted = [
            w.counters.stored + w.counters.dead_lettered + w.counters.duplicates_dropped
            for w in workers
        ]
        assert sum(counted) == len(world.events), counted
        processed = [w.processor.counters.consumed for w in workers if w.processor is not None]
        assert sum(processed) > len(world.events)  # what the fenced batches would add
        assert _stored_rows(client) == world.truth["counts"]["valid"]  # none stored twice
        assert scalar(client, "SELECT count() FROM dead_letters") == world.truth["counts"]["bad"]
