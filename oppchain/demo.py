"""``oppchain demo``: generate a world, produce it, process it, account for every event."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from oppchain.generator import generate
from oppchain.producer import EventProducer
from oppchain.report import write_report
from oppchain.runner import run_app
from oppchain.settings import Settings
from oppchain.stack import Stack
from oppchain.summary import accounting, render_report
from sinks.clickhouse import connect
from sinks.writer import ClickHouseSink
from streams.app import create_app
from streams.markov_job import run_markov
from streams.pipeline import Pipeline


@dataclass
class DemoOptions:
    events: int = 20000
    seed: int = 1
    days: int = 730
    bad_fraction: float = 0.0
    summary_json: Path | None = None
    timeout_s: float = 900.0


def _produce(stack: Stack, lines: list[bytes], result: dict[str, Any]) -> None:
    producer = EventProducer(stack.settings, stack.bootstrap)
    try:
        report = producer.send_lines(lines, validate=False)
        result["produced"] = report.sent
        result["failed"] = len(report.failed)
    finally:
        producer.close()


def run_demo(settings: Settings, options: DemoOptions, out: TextIO = sys.stdout) -> int:
    """Run the whole pipeline once on a fresh embedded database; 0 when nothing was lost."""
    started = time.monotonic()
    demo_dir = settings.data_dir / "demo"
    if demo_dir.exists():
        shutil.rmtree(demo_dir)
    settings = settings.model_copy(update={"data_dir": demo_dir})
    world = generate(
        options.seed, options.days, events=options.events, bad_fraction=options.bad_fraction
    )
    lines = world.events
    print(f"generated {len(lines)} events (seed {options.seed})", file=out)
    with Stack(settings) as stack:
        print(f"broker {stack.bootstrap}, database {stack.dsn}", file=out)
        if stack.sql is not None:
            print(f"read-only SQL while running: {stack.sql.address}/query", file=out)
        sink = ClickHouseSink(lambda: connect(stack.dsn))
        pipeline = Pipeline(settings, stack.bootstrap, sink)
        app = create_app(settings, stack.bootstrap, pipeline)
        produced: dict[str, Any] = {}
        producer = threading.Thread(target=_produce, args=(stack, lines, produced), daemon=True)

        async def until_accounted() -> None:
            producer.start()
            counters = pipeline.counters
            deadline = time.monotonic() + options.timeout_s
            last = -1.0
            while time.monotonic() < deadline:
                await asyncio.sleep(0.25)
                done = counters.stored + counters.dead_lettered
                if time.monotonic() - last >= 1.0:
                    last = time.monotonic()
                    print(
                        f"  processed {done}/{len(lines)}: stored {counters.stored}, "
                        f"dead-lettered {counters.dead_lettered}, "
                        f"duplicates dropped {counters.duplicates_dropped}",
                        file=out,
                        flush=True,
                    )
                if not producer.is_alive() and done >= produced.get("produced", 0):
                    return
            raise TimeoutError("not every event was accounted for in time")

        try:
            asyncio.run(run_app(app, until_accounted, handle_signals=False))
            assert pipeline.processor is not None
            paths = pipeline.processor.markov_paths()
        finally:
            # the processing child processes must not outlive a failed or timed-out run
            pipeline.close()
        assert pipeline.processor is not None
        summary = accounting(stack.client, produced.get("produced", 0))
        summary["channel_attribution_rows"] = run_markov(settings, sink, paths)
        summary["duplicates_dropped"] = pipeline.counters.duplicates_dropped
        summary["expected_dead_letters"] = world.truth["counts"]["bad"]
        summary["seconds"] = round(time.monotonic() - started, 2)
        print(render_report(stack.client, summary), file=out)
        report = write_report(stack.client, settings.data_dir / "report.html")
        print(f"report: {report.resolve()}", file=out)
    if options.summary_json:
        options.summary_json.write_text(json.dumps(summary, indent=2, sort_keys=True))
    balanced = summary["produced"] == summary["stored"] + summary["dead_lettered"]
    return 0 if balanced and summary["produced"] == len(lines) else 1
