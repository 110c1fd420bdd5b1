"""Processing in child processes gives exactly what processing in-process gives."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from oppchain.generator import generate
from oppchain.settings import Settings
from sinks.migrations import table
from sinks.writer import ClickHouseSink
from streams.ingest import Record
from streams.pool import ProcessingError, ProcessingPool
from streams.processor import BatchResult, Processor, StateStats
from streams.routing import partition_for

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _partition(line: bytes, partitions: int) -> int:
    """Where the producer puts a line: by workspace (anywhere, if it has none)."""
    try:
        return partition_for(orjson.loads(line)["workspace"], partitions)
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return 0


def _records(lines: list[bytes], partitions: int, first_offset: int = 0) -> list[Record]:
    """Records as Kafka hands them over: a workspace's events on its own partition."""
    return [
        Record("t", _partition(v, partitions), o, None, v)
        for o, v in enumerate(lines, start=first_offset)
    ]


def _comparable(result: BatchResult) -> dict[str, list[str]]:
    """Every table's rows, through Arrow, as sorted text: the pool returns Arrow
    tables and concatenates its children's rows, so order across children differs."""
    out = {}
    for name, rows in result.rows.items():
        if not len(rows):
            continue
        arrow = rows if hasattr(rows, "to_pylist") else table(name).to_arrow(rows)
        out[name] = sorted(repr(sorted(r.items())) for r in arrow.to_pylist())
    return out


def _counts(stats: StateStats) -> tuple[int, int]:
    return stats.persons, stats.journeys


@pytest.fixture(scope="module")
def world() -> Any:
    return generate(11, 365, events=6000, workspaces=4, bad_fraction=0.01)


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, secret="s" * 32, partitions=6)


def test_two_processes_give_the_rows_of_one(world: Any, settings: Settings) -> None:
    local = Processor(settings)
    pool = ProcessingPool(settings, 2)
    try:
        lines = world.events
        for start in (0, 2500):
            batch = _records(lines[start : start + 2500], 6, start)
            ours, theirs = pool.process(batch, NOW), local.process(batch, NOW)
            assert _comparable(ours) == _comparable(theirs)
            dead = [sorted(r.offset for r, _ in x.dead) for x in (ours, theirs)]
            assert dead[0] == dead[1]
            assert (ours.valid, ours.duplicates) == (theirs.valid, theirs.duplicates)
        assert pool.counters == local.counters
        assert pool.counters.dead_lettered > 0
        assert _counts(pool.stats()) == _counts(local.stats())  # sizes differ by interning
        assert pool.workspaces() == local.workspaces()
        assert pool.markov_paths() == local.markov_paths()
    finally:
        pool.close()


def _stored_world(
    settings: Settings, clickhouse: Any, seed: int, workspaces: int, stored: int
) -> tuple[Processor, ClickHouseSink, list[bytes], list[bytes]]:
    """A world of 6,000 events whose first ``stored`` are processed and stored: the
    processor that did it, the sink, those events and the rest."""
    clean = generate(seed, 365, events=6000, workspaces=workspaces).events
    sink = ClickHouseSink(lambda: clickhouse)
    first = Processor(settings)
    sink.write(first.process(_records(clean[:stored], settings.partitions), NOW).rows)
    return first, sink, clean[:stored], clean[stored:]


def test_replay_routes_each_workspace_to_the_process_that_owns_it(
    settings: Settings, clickhouse: Any
) -> None:
    """State rebuilt from the event store lands where that workspace's records go."""
    first, sink, stored, later = _stored_world(settings, clickhouse, 12, 4, 4000)
    # A version written above what the events give (as when the identity limits
    # refused other links live): the rebuilt state goes on from it.
    [(workspace, oid, version)] = sink.query(
        "SELECT workspace, opportunity_id, max(version) FROM opportunity_chains "
        "GROUP BY workspace, opportunity_id ORDER BY opportunity_id LIMIT 1"
    )
    found = clickhouse.query(
        f"SELECT * FROM opportunity_chains WHERE opportunity_id = '{oid}' AND version = {version}"
    )
    [row] = [dict(zip(found.column_names, r, strict=True)) for r in found.result_rows]
    row["version"] = version + 1000
    clickhouse.insert("opportunity_chains", [list(row.values())], column_names=list(row))

    local = Processor(settings)
    assert local.replay(sink.query, first.workspaces()) == len(stored)
    assert local.state(workspace).opportunities[oid].version == version + 1000
    assert first.state(workspace).opportunities[oid].version == version
    pool = ProcessingPool(settings, 2)
    try:
        assert pool.replay(sink.query, first.workspaces()) == len(stored)
        assert _counts(pool.stats()) == _counts(local.stats()) == _counts(first.stats())
        batch = _records(later, settings.partitions, 10_000)
        assert _comparable(pool.process(batch, NOW)) == _comparable(local.process(batch, NOW))
        pool.drop(local.workspaces()[:1])
        assert pool.workspaces() == local.workspaces()[1:]
    finally:
        pool.close()


def test_a_failed_or_killed_process_is_an_error_not_a_silence(settings: Settings) -> None:
    pool = ProcessingPool(settings, 1)
    try:
        with pytest.raises(ProcessingError, match="AttributeError"):
            pool._all("no_such_method")  # the child's traceback comes back
        assert pool.workspaces() == []  # and the child still serves
        (pid,) = pool.pids()
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(ProcessingError, match=f"pid {pid}\\) exited: -9"):
            pool.workspaces()
    finally:
        pool.close()
    with pytest.raises(ProcessingError, match="closed"):
        pool.workspaces()


def test_one_failed_child_leaves_every_pipe_in_step(settings: Settings) -> None:
    pool = ProcessingPool(settings, 2)
    try:
        first, second = pool._started()
        with pytest.raises(ProcessingError, match="AttributeError"):
            pool._exchange([(first, "no_such_method", ()), (second, "stats", ())])
        # The second child's reply was read with the failure, so it does not
        # answer the next request in place of its own reply.
        assert pool.workspaces() == []
        assert _counts(pool.stats()) == (0, 0)
    finally:
        pool.close()


def test_a_replay_a_few_days_at_a_time_rebuilds_the_state_of_one_read(
    settings: Settings, clickhouse: Any
) -> None:
    """Memory stays bounded by the window; the state is the same as from one read."""
    from streams.store import replay

    first, sink, stored, later = _stored_world(settings, clickhouse, 13, 3, 4500)
    sink.write(first.process(_records(stored[:500], settings.partitions), NOW).rows)  # redelivery
    queries: list[str] = []

    def counted(sql: str) -> list[tuple[Any, ...]]:
        queries.append(sql)
        return sink.query(sql)

    whole, windowed = Processor(settings), Processor(settings)
    assert replay(whole, sink.query, first.workspaces(), window=10**9) == len(stored)
    assert replay(windowed, counted, first.workspaces(), window=300) == len(stored)
    reads = [q for q in queries if q.startswith("SELECT payload")]
    assert len(reads) >= len(stored) // 300  # each read held at most about 300 events
    assert _counts(windowed.stats()) == _counts(whole.stats()) == _counts(first.stats())
    for workspace in whole.workspaces():
        a, b = whole.state(workspace).chain_rows(), windowed.state(workspace).chain_rows()
        assert a.opportunity_chains == b.opportunity_chains
        assert a.attribution_credit_sets == b.attribution_credit_sets
    batch = _records(later, settings.partitions, 10_000)
    assert _comparable(windowed.process(batch, NOW)) == _comparable(whole.process(batch, NOW))


def test_an_erased_dead_letter_is_dropped_by_whichever_process_reads_it(
    settings: Settings,
) -> None:
    """Records go to processes by partition; a dead letter erased with a person of
    workspace W can sit on another partition than W's (or name no workspace)."""
    home = partition_for("acme", settings.partitions)
    other = next(p for p in range(settings.partitions) if p % 2 != home % 2)

    def query(sql: str) -> list[tuple[Any, ...]]:
        if "source_offset" in sql:
            return [("t", other, 5)]
        return [("acme", "h", "erasure-1")] if "erased_events" in sql else []

    record = Record("t", other, 5, None, b'{"not an event": "@ann"}')
    pool = ProcessingPool(settings, 2)
    try:
        for processor in (Processor(settings, check_routing=True), pool):
            processor.replay(query, ["acme"])
            result = processor.process([record], NOW)
            assert (len(result.dead), result.duplicates) == (0, 1), processor
    finally:
        pool.close()
