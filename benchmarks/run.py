"""Throughput and freshness of oppchain, as ratios against baselines of the same run.

    python benchmarks/run.py --quick          # a few minutes
    python benchmarks/run.py --events 1000000 # the full run behind RESULTS.md

Every figure comes from this one run on this machine: the raw ceiling (aiokafka
batch-consuming the same messages, doing nothing), a naive faust agent (validate
each event, one Table update per event; run before and after oppchain, and
averaged), and oppchain end to end (decode, validate, identity, chains,
attribution, ClickHouse insert, commit).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.naive import run_naive  # noqa: E402
from oppchain.broker import EmbeddedBroker, create_topics  # noqa: E402
from oppchain.generator import generate  # noqa: E402
from oppchain.producer import EventProducer  # noqa: E402
from oppchain.settings import Settings  # noqa: E402
from sinks.clickhouse import close_embedded, connect  # noqa: E402
from sinks.migrations import migrate  # noqa: E402
from sinks.writer import ClickHouseSink  # noqa: E402
from streams.pipeline import Pipeline  # noqa: E402


def produce_all(settings: Settings, lines: list[bytes]) -> float:
    producer = EventProducer(settings, settings.brokers, linger_ms=20)
    started = time.perf_counter()
    report = producer.send_lines(lines, validate=False)
    elapsed = time.perf_counter() - started
    producer.close()
    if report.failed:
        raise RuntimeError(f"produce failed: {report.failed[:3]}")
    return len(lines) / elapsed


async def raw_ceiling(settings: Settings, expected: int) -> float:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        *settings.input_topics,
        bootstrap_servers=settings.brokers,
        group_id="bench-raw",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=settings.session_timeout_ms,
        heartbeat_interval_ms=settings.heartbeat_interval_ms,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    seen, started = 0, None
    try:
        while seen < expected:
            batch = await consumer.getmany(timeout_ms=200, max_records=10000)
            if batch and started is None:
                started = time.perf_counter()
            seen += sum(len(msgs) for msgs in batch.values())
    finally:
        await consumer.stop()
    assert started is not None
    return expected / (time.perf_counter() - started)


async def oppchain_rate(settings: Settings, expected: int) -> dict[str, Any]:
    sink = ClickHouseSink(lambda: connect(settings.resolved_dsn()))
    pipeline = Pipeline(settings, settings.brokers, sink)
    first: list[float] = []
    progress: list[tuple[float, int]] = []  # (time, events consumed) after each batch
    task = asyncio.ensure_future(pipeline.run())
    assert pipeline.processor is not None
    counters = pipeline.counters

    def on_batch(_: Any) -> None:
        first.append(time.perf_counter())
        progress.append((first[-1], counters.consumed))

    pipeline.on_batch = on_batch
    while counters.stored + counters.dead_lettered < expected:
        await asyncio.sleep(0.01)
        if task.done():
            task.result()
    ended = time.perf_counter()
    pipeline.stopping.set()
    await task
    stats = pipeline.processor.stats()
    pipeline.close()
    # Time from the first batch's fetch to the last commit; the first batch's own
    # duration is added back from the batch count.
    batches = len(first)
    seconds = ended - first[0] + (first[-1] - first[0]) / max(batches - 1, 1)
    return {
        "rate": expected / seconds,
        "batches": batches,
        "persons": stats.journeys or 1,
        "bytes_per_person": stats.bytes_per_person,
        "retries": sink.retries,
        "tenths": tenth_rates(progress, expected),
    }


def tenth_rates(progress: list[tuple[float, int]], expected: int) -> list[float]:
    """Rate over each tenth of the events, in order: flat when the cost per event
    does not grow with history."""
    rates: list[float] = []
    for k in range(10):
        lo, hi = expected * k // 10, expected * (k + 1) // 10
        inside = [(t, n) for t, n in progress if lo <= n <= hi]
        before = [(t, n) for t, n in progress if n < lo]
        start = before[-1] if before else (inside[0] if inside else None)
        if start is None or not inside or inside[-1][1] == start[1]:
            continue
        rates.append((inside[-1][1] - start[1]) / (inside[-1][0] - start[0]))
    return rates


def paced_producer(settings: dict[str, Any], lines_file: str, rate: float, out: str) -> None:
    """Send the lines at ``rate`` per second; write each event's send time (epoch s)."""
    import orjson

    producer_settings = Settings(**{k: v for k, v in settings.items() if k != "secret"})
    lines = Path(lines_file).read_bytes().split(b"\n")
    producer = EventProducer(producer_settings, producer_settings.brokers, linger_ms=2)
    sent_at: dict[str, float] = {}
    started = time.time()
    for n, line in enumerate(lines):
        delay = started + n / rate - time.time()
        if delay > 0:
            time.sleep(delay)
        sent_at[orjson.loads(line)["event_id"]] = time.time()
        producer.send_raw(line)
    producer.flush()
    producer.close()
    Path(out).write_text(json.dumps(sent_at))


class TimedSink(ClickHouseSink):
    """Records when each event's row became queryable (its insert returned)."""

    stored_at: dict[str, float]

    def write(self, batch: Any) -> dict[str, int]:
        written = super().write(batch)
        now = time.time()
        for name in ("touchpoints", "crm_events"):
            for event_id in event_ids(batch.get(name, [])):
                self.stored_at[event_id] = now
        return written


def event_ids(rows: Any) -> list[str]:
    """Event ids of rows as the pipeline hands them over: an Arrow table (from a
    processing process), tuples (touchpoints) or dicts."""
    if hasattr(rows, "column"):
        ids: list[str] = rows.column("event_id").to_pylist()
        return ids
    return [row[1] if isinstance(row, tuple) else row["event_id"] for row in rows]


async def freshness(settings: Settings, lines: list[bytes], rate: float) -> dict[str, float]:
    """Produce at ``rate`` events/s; p50/p99 seconds from send to queryable row."""

    fresh = settings.model_copy(
        update={
            "topic_prefix": "fresh.",
            "group_id": "bench-fresh",
            "batch_linger_ms": 50,
            "clickhouse_dsn": f"chdb://{settings.data_dir / 'clickhouse-fresh'}",
        }
    )
    migrate(connect(fresh.resolved_dsn()))
    create_topics(fresh.brokers, {t: fresh.partitions for t in fresh.topics.values()})
    sink = TimedSink(lambda: connect(fresh.resolved_dsn()))
    sink.stored_at = {}
    pipeline = Pipeline(fresh, fresh.brokers, sink)
    task = asyncio.ensure_future(pipeline.run())
    # The producer starts once the worker owns its partitions: events sent
    # while the group forms would measure the join, not the pipeline.
    while pipeline.consumer is None or not pipeline.consumer.assignment():
        await asyncio.sleep(0.05)
    # The producer is another process, as in production: it must not share this
    # worker's cores and interpreter lock.
    lines_file = settings.data_dir / "fresh.jsonl"
    sent_file = settings.data_dir / "fresh-sent.json"
    lines_file.write_bytes(b"\n".join(lines))
    ctx = multiprocessing.get_context("spawn")
    producer = ctx.Process(
        target=paced_producer,
        args=(fresh.model_dump(mode="json"), str(lines_file), rate, str(sent_file)),
    )
    producer.start()
    await asyncio.to_thread(producer.join)
    if producer.exitcode != 0:
        raise RuntimeError(f"paced producer failed with exit code {producer.exitcode}")
    sent_at: dict[str, float] = json.loads(sent_file.read_text())
    deadline = time.perf_counter() + 120
    while len(sink.stored_at) < len(sent_at) and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    pipeline.stopping.set()
    await task
    pipeline.close()
    in_order = sorted(sent_at, key=sent_at.__getitem__)
    latencies = [sink.stored_at[e] - sent_at[e] for e in in_order if e in sink.stored_at]
    second_half = sorted(latencies[len(latencies) // 2 :])
    latencies.sort()
    return {
        "rate": rate,
        "events": len(latencies),
        "p50_s": latencies[len(latencies) // 2],
        "p99_s": latencies[int(len(latencies) * 0.99)],
        "p99_second_half_s": second_half[int(len(second_half) * 0.99)],
    }


def bench_stack(broker: EmbeddedBroker, data_dir: Path, **overrides: Any) -> Settings:
    """Settings for a run on ``broker`` (6 partitions, fast group joins), with its
    topics created and its embedded ClickHouse under ``data_dir`` migrated."""
    settings = Settings(
        data_dir=data_dir,
        brokers=broker.bootstrap,
        clickhouse_dsn=f"chdb://{data_dir / 'clickhouse'}",
        partitions=6,
        session_timeout_ms=2000,
        heartbeat_interval_ms=300,
        **overrides,
    )
    create_topics(broker.bootstrap, {t: 6 for t in settings.topics.values()})
    migrate(connect(settings.resolved_dsn()))
    return settings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small run (minutes)")
    parser.add_argument("--events", type=int, default=None)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args()
    events = args.events or (60_000 if args.quick else 1_000_000)
    naive_events = min(events, 20_000)

    began = time.perf_counter()
    world = generate(args.seed, 730, events=events, workspaces=6)
    generated = events / (time.perf_counter() - began)
    lines = world.events
    tmp = Path(tempfile.mkdtemp(prefix="oppchain-bench-"))
    results: dict[str, Any] = {"events": events, "machine": _machine(), "generate_rate": generated}
    with EmbeddedBroker() as broker:
        settings = bench_stack(broker, tmp, batch_linger_ms=20)
        results["produce_rate"] = produce_all(settings, lines)
        gc.collect()
        results["raw_ceiling"] = asyncio.run(raw_ceiling(settings, events))
        if not args.skip_naive:
            before = run_naive(settings, lines[:naive_events], tmp, "naive-before")
        gc.collect()
        results["oppchain"] = asyncio.run(oppchain_rate(settings, events))
        if not args.skip_naive:
            # Run again after: the machine's speed drifts within a run, and the
            # ratio should not depend on when the baseline happened to be taken.
            gc.collect()
            after = run_naive(settings, lines[:naive_events], tmp, "naive-after")
            results["naive_faust_runs"] = [before, after]
            results["naive_faust"] = (before + after) / 2
        close_embedded(settings.resolved_dsn())
        gc.collect()
        half = results["oppchain"]["rate"] / 2
        sample = generate(args.seed + 1, 730, events=min(events, int(half * 20)), workspaces=6)
        results["freshness"] = asyncio.run(freshness(settings, sample.events, half))
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def _machine() -> str:
    import os

    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def print_table(r: dict[str, Any]) -> None:
    ceiling = r["raw_ceiling"]
    ours = r["oppchain"]["rate"]
    print(f"\noppchain benchmark: {r['events']} events, {r['machine']}")
    print(f"{'measure':<44}{'events/s':>12}{'ratio':>10}")
    if "generate_rate" in r:
        print(f"{'generate (synthetic world, for reference)':<44}{r['generate_rate']:>12,.0f}")
    print(f"{'produce (kafka-python, for reference)':<44}{r['produce_rate']:>12,.0f}")
    print(f"{'raw ceiling (aiokafka batch consume)':<44}{ceiling:>12,.0f}{'1.00x':>10}")
    if "naive_faust" in r:
        naive = r["naive_faust"]
        print(
            f"{'naive faust agent (validate + Table/event)':<44}{naive:>12,.0f}"
            f"{naive / ceiling:>9.2f}x"
        )
        runs = r.get("naive_faust_runs")
        if runs:
            print(f"  (mean of a run before oppchain, {runs[0]:,.0f}, and after, {runs[1]:,.0f})")
    print(f"{'oppchain end to end':<44}{ours:>12,.0f}{ours / ceiling:>9.2f}x")
    if "naive_faust" in r:
        print(f"oppchain vs naive faust: {ours / r['naive_faust']:.1f}x")
    f = r["freshness"]
    print(
        f"freshness at {f['rate']:,.0f} events/s (half of oppchain's rate), "
        f"{f['events']} events: p50 {f['p50_s']:.3f} s, p99 {f['p99_s']:.3f} s"
    )
    print(
        f"state per tracked person (all state, seen event ids included): "
        f"{r['oppchain']['bytes_per_person']:.0f} bytes ({r['oppchain']['persons']} persons)"
    )
    tenths = r["oppchain"].get("tenths") or []
    if len(tenths) >= 2:
        listed = ", ".join(f"{x:,.0f}" for x in tenths)
        growth = tenths[-1] / tenths[0]
        print(f"rate per tenth of the events: {listed}; last / first: {growth:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
