"""Soak: resident memory of one worker over a long run at a steady rate.

    python benchmarks/soak.py --minutes 10 --rate 3500

A fixed population is replayed again and again (event ids suffixed, event times
shifted by the world's span each round), so the number of tracked persons stops
growing after the first round; journeys are capped, so state should plateau.
The producer is a separate process. Prints RSS samples and the trend after round one.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.run import bench_stack  # noqa: E402
from oppchain.broker import EmbeddedBroker  # noqa: E402
from oppchain.generator import generate  # noqa: E402
from oppchain.producer import EventProducer  # noqa: E402
from oppchain.settings import Settings  # noqa: E402
from sinks.clickhouse import connect  # noqa: E402
from sinks.writer import ClickHouseSink  # noqa: E402
from streams.pipeline import Pipeline  # noqa: E402
from streams.pool import ProcessingPool  # noqa: E402


def rss_mib(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def replay(settings: dict[str, Any], lines_file: str, rate: float, seconds: float) -> None:
    """Send rounds of the same world, shifted in time, at ``rate`` until ``seconds``."""
    import orjson

    producer_settings = Settings(**{k: v for k, v in settings.items() if k != "secret"})
    base = [orjson.loads(line) for line in Path(lines_file).read_bytes().split(b"\n")]
    times = [datetime.fromisoformat(e["occurred_at"].replace("Z", "+00:00")) for e in base]
    span = max(times) - min(times) + timedelta(days=1)
    producer = EventProducer(producer_settings, producer_settings.brokers, linger_ms=5)
    started, sent, round_no = time.time(), 0, 0
    while time.time() - started < seconds:
        for event, at in zip(base, times, strict=True):
            if time.time() - started >= seconds:
                break
            delay = started + sent / rate - time.time()
            if delay > 0:
                time.sleep(delay)
            shifted = dict(event)
            shifted["event_id"] = f"{event['event_id']}-r{round_no}"
            for key in ("opportunity_id", "lead_id"):  # new deals, same people
                if key in event:
                    shifted[key] = f"{event[key]}-r{round_no}"
            shifted["occurred_at"] = (at + span * round_no).isoformat().replace("+00:00", "Z")
            producer.send_raw(orjson.dumps(shifted))
            sent += 1
        round_no += 1
    producer.flush()
    producer.close()


async def soak(settings: Settings, lines: list[bytes], rate: float, seconds: float) -> None:
    sink = ClickHouseSink(lambda: connect(settings.resolved_dsn()))
    pipeline = Pipeline(settings, settings.brokers, sink)
    task = asyncio.ensure_future(pipeline.run())
    lines_file = settings.data_dir / "soak.jsonl"
    lines_file.write_bytes(b"\n".join(lines))
    ctx = multiprocessing.get_context("spawn")
    producer = ctx.Process(
        target=replay,
        args=(settings.model_dump(mode="json"), str(lines_file), rate, seconds),
    )
    producer.start()
    started = time.monotonic()
    assert pipeline.processor is not None
    counters = pipeline.counters
    print(f"{'minute':>7} {'events':>10} {'persons':>9} {'RSS MiB':>9}  worker + processing")
    while producer.is_alive():
        await asyncio.sleep(30)
        processor = pipeline.processor
        persons = (await asyncio.to_thread(processor.stats)).persons
        pids = processor.pids() if isinstance(processor, ProcessingPool) else []
        minute = (time.monotonic() - started) / 60
        parts = [rss_mib(), *(rss_mib(pid) for pid in pids)]
        each = " + ".join(f"{part:.0f}" for part in parts)
        line = f"{minute:7.1f} {counters.consumed:10,} {persons:9,} {sum(parts):9.0f}  {each}"
        print(line, flush=True)
    pipeline.stopping.set()
    await task
    pipeline.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=3500.0)
    parser.add_argument("--events", type=int, default=50_000, help="events in one round")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="oppchain-soak-"))
    world = generate(9, 365, events=args.events, workspaces=6)
    with EmbeddedBroker() as broker:
        settings = bench_stack(broker, tmp)
        asyncio.run(soak(settings, world.events, args.rate, args.minutes * 60))
    return 0


if __name__ == "__main__":
    sys.exit(main())
