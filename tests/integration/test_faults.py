"""Faults injected into the real pipeline: nothing is lost, nothing doubles."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import orjson
import pytest

from oppchain.generator import generate
from oppchain.settings import Settings
from sinks.clickhouse import close_embedded, connect
from sinks.writer import Backoff, ClickHouseSink
from streams.pipeline import Pipeline
from tests.integration.harness import ACCOUNTED, produce, scalar

pytestmark = pytest.mark.integration


def _env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "OPPCHAIN_BROKERS": settings.brokers,
            "OPPCHAIN_CLICKHOUSE_DSN": settings.resolved_dsn(),
            "OPPCHAIN_DATA_DIR": str(settings.data_dir),
            "OPPCHAIN_TOPIC_PREFIX": settings.topic_prefix,
            "OPPCHAIN_GROUP_ID": settings.group_id,
            "OPPCHAIN_PARTITIONS": str(settings.partitions),
            "OPPCHAIN_SESSION_TIMEOUT_MS": "2000",
            "OPPCHAIN_HEARTBEAT_INTERVAL_MS": "300",
            "OPPCHAIN_BATCH_MAX_RECORDS": "300",
            "OPPCHAIN_BATCH_LINGER_MS": "20",
        }
    )
    return env


class Worker:
    """An ``oppchain worker`` process, stopped by its own pid."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.settings = settings
        self.stack_file = settings.data_dir / "stack.json"
        if self.stack_file.exists():
            self.stack_file.unlink()
        self.log = open(log, "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "oppchain.cli", "worker"],
            env=_env(settings),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def sql(self, query: str, timeout_s: float = 60) -> Any:
        deadline = time.monotonic() + timeout_s
        while not self.stack_file.exists():
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("worker did not start")
            time.sleep(0.05)
        address = json.loads(self.stack_file.read_text())["sql"]
        request = urllib.request.Request(
            address + "/query", data=json.dumps({"sql": query}).encode()
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())["rows"][0][0]

    def wait_for(self, expected: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.sql(ACCOUNTED) >= expected:
                return
            time.sleep(0.1)
        raise TimeoutError(f"{self.sql(ACCOUNTED)} of {expected} accounted")

    def kill(self, sig: int) -> None:
        os.kill(self.process.pid, sig)
        self.process.wait(60)
        self.log.close()


def test_worker_killed_mid_batch_and_restarted(settings: Settings, tmp_path: Path) -> None:
    world = generate(31, 730, events=12000, bad_fraction=0.01)
    truth = world.truth["opportunities"]
    produce(settings, world.events)
    worker = Worker(settings, tmp_path / "worker1.log")
    worker.wait_for(2000, 120)
    worker.kill(signal.SIGKILL)  # mid-stream, most likely mid-batch
    restarted = Worker(settings, tmp_path / "worker2.log")
    restarted.wait_for(len(world.events), 180)
    restarted.kill(signal.SIGTERM)
    assert restarted.process.returncode == 0

    client = connect(settings.resolved_dsn())
    try:
        assert scalar(client, ACCOUNTED) == len(world.events)
        rows = scalar(client, "SELECT count() FROM touchpoints") + scalar(
            client, "SELECT count() FROM crm_events"
        )
        assert rows == world.truth["counts"]["valid"]
        assert scalar(client, "SELECT count() FROM dead_letters") == world.truth["counts"]["bad"]
        chains = dict(
            client.query("SELECT opportunity_id, path FROM opportunity_chains_latest").result_rows
        )
        assert set(chains) == set(truth)
        assert all(list(chains[o]) == truth[o]["channels"] for o in truth)
    finally:
        close_embedded(settings.resolved_dsn())


def test_clickhouse_away_then_back(settings: Settings, clickhouse: Any) -> None:
    """Mid-stream the database URL starts refusing connections for a few seconds:
    the sink retries with backoff, the worker stops consuming meanwhile, then it
    catches up with nothing lost."""
    from oppchain.broker import free_port

    refused = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    outage = {"until": 0.0, "failures": 0}

    class Flaky:
        def __getattr__(self, name: str) -> Any:
            if time.monotonic() < outage["until"]:
                outage["failures"] += 1
                return getattr(connect(refused), name)  # raises: connection refused
            return getattr(clickhouse, name)

    world = generate(32, 365, events=3000, bad_fraction=0.01)
    settings = settings.model_copy(update={"batch_max_records": 200})
    produce(settings, world.events)
    sink = ClickHouseSink(Flaky, backoff=Backoff(first_s=0.1, max_s=1.0))
    pipeline = Pipeline(settings, settings.brokers, sink)
    assert pipeline.processor is not None
    counters = pipeline.processor.counters
    consumed: list[int] = []

    def on_batch(_: dict[str, int]) -> None:
        if not consumed:
            outage["until"] = time.monotonic() + 3.0
            consumed.append(counters.consumed)

    pipeline.on_batch = on_batch

    async def main() -> None:
        task = asyncio.ensure_future(pipeline.run())
        while not consumed:
            await asyncio.sleep(0.05)
        await asyncio.sleep(2.5)
        consumed.append(counters.consumed)  # still inside the outage
        deadline = time.monotonic() + 120
        while await asyncio.to_thread(scalar, clickhouse, ACCOUNTED) < len(world.events):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
        pipeline.stopping.set()
        await asyncio.wait_for(task, 60)  # a hang fails here, not at the suite timeout

    asyncio.run(main())
    assert sink.retries >= 3 and outage["failures"] >= 3
    # One batch blocked in its insert, at most one more processed behind it.
    assert consumed[1] - consumed[0] <= 2 * settings.batch_max_records
    assert consumed[1] < len(world.events)
    assert scalar(clickhouse, ACCOUNTED) == len(world.events)
    assert scalar(clickhouse, "SELECT count() FROM touchpoints") == scalar(
        clickhouse, "SELECT uniqExact(event_id) FROM touchpoints"
    )


def _poison(n: int) -> list[bytes]:
    """Random bytes, huge messages, deep nesting, wrong types, unknown versions."""
    import random

    rng = random.Random(5)
    base = orjson.loads(generate(1, 30, events=50).events[0])
    out: list[bytes] = []
    for i in range(n):
        kind = i % 6
        if kind == 0:
            out.append(rng.randbytes(rng.randint(1, 400)))
        elif kind == 1:
            out.append(b'{"event_id":"' + b"x" * 200_000 + b'"}')
        elif kind == 2:
            out.append(b'{"a":' * 3000 + b"1" + b"}" * 3000)
        elif kind == 3:
            out.append(orjson.dumps({**base, "event_id": f"p{i}", "occurred_at": 12}))
        elif kind == 4:
            out.append(orjson.dumps({**base, "event_id": f"p{i}", "schema_version": 9}))
        else:
            out.append(orjson.dumps({**base, "event_id": f"p{i}", "event_type": "teleport"}))
    return out


def test_poison_at_high_rate_is_dead_lettered(settings: Settings, clickhouse: Any) -> None:
    from tests.integration.harness import run_until

    good = generate(33, 365, events=2000).events
    poison = _poison(2000)
    mixed = [line for pair in zip(good, poison, strict=True) for line in pair]
    produce(settings, mixed)
    run_until(settings, len(mixed))
    assert scalar(clickhouse, "SELECT count() FROM dead_letters") == len(poison)
    stored = scalar(clickhouse, "SELECT count() FROM touchpoints") + scalar(
        clickhouse, "SELECT count() FROM crm_events"
    )
    assert stored == len(good)
    reasons = dict(
        clickhouse.query("SELECT reason, count() FROM dead_letters GROUP BY reason").result_rows
    )
    assert reasons["oversized"] == len(poison) // 6 + (1 if len(poison) % 6 > 1 else 0)
    assert reasons["unknown_event_type"] >= len(poison) // 6
    assert reasons["unknown_schema_version"] >= len(poison) // 6
