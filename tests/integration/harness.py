"""Drive the real pipeline against the real broker and engine, until accounted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

from oppchain.producer import EventProducer
from oppchain.runner import run_app
from oppchain.settings import Settings
from sinks.clickhouse import connect
from sinks.writer import ClickHouseSink
from streams.app import create_app
from streams.pipeline import Pipeline


def produce(settings: Settings, lines: Sequence[bytes]) -> int:
    producer = EventProducer(settings, settings.brokers)
    try:
        report = producer.send_lines(lines, validate=False)
    finally:
        producer.close()
    assert not report.failed, report.failed[:3]
    return report.sent


def make_pipeline(settings: Settings) -> Pipeline:
    return Pipeline(
        settings, settings.brokers, ClickHouseSink(lambda: connect(settings.resolved_dsn()))
    )


async def _until(
    pipeline: Pipeline,
    expected: int,
    timeout_s: float,
    also: Callable[[Pipeline], bool] | None = None,
) -> None:
    deadline = time.monotonic() + timeout_s
    counters = pipeline.counters
    while time.monotonic() < deadline:
        done = counters.stored + counters.dead_lettered + counters.duplicates_dropped
        if done >= expected and (also is None or await asyncio.to_thread(also, pipeline)):
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"only {counters} of {expected} after {timeout_s}s")


def run_until(
    settings: Settings,
    expected: int,
    *,
    timeout_s: float = 120,
    use_faust: bool = False,
    also: Callable[[Pipeline], bool] | None = None,
) -> Pipeline:
    """Run one worker until ``expected`` messages were consumed and handled (and, with
    ``also``, until that condition holds too)."""
    pipeline = make_pipeline(settings)
    if use_faust:
        app = create_app(settings, settings.brokers, pipeline)
        asyncio.run(
            run_app(app, lambda: _until(pipeline, expected, timeout_s, also), handle_signals=False)
        )
        return pipeline

    async def main() -> None:
        task = asyncio.ensure_future(pipeline.run())
        try:
            waiter = asyncio.ensure_future(_until(pipeline, expected, timeout_s))
            done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                waiter.cancel()
                task.result()
                raise RuntimeError("pipeline stopped early")
            waiter.result()
        finally:
            pipeline.stopping.set()
            await asyncio.wait_for(task, 60)  # a hang fails here, not at the suite timeout

    asyncio.run(main())
    return pipeline


# Every message ends as a stored event or a dead letter: their sum is what is accounted for.
ACCOUNTED = (
    "SELECT (SELECT uniqExact(event_id) FROM touchpoints) + "
    "(SELECT uniqExact(event_id) FROM crm_events) + (SELECT count() FROM dead_letters)"
)


def scalar(client: Any, sql: str) -> Any:
    return client.query(sql).result_rows[0][0]
