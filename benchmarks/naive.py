"""The baseline: a textbook faust agent, one event at a time.

Validates each event with pydantic and updates a faust Table per event, which
is what a first faust implementation of oppchain would look like.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import faust

from oppchain.broker import create_topics
from oppchain.runner import run_app
from oppchain.settings import Settings
from schemas.codec import decode_one


def run_naive(settings: Settings, lines: list[bytes], tmp: Path, name: str = "naive") -> float:
    """Events per second of the naive agent over ``lines`` (already produced first);
    ``name`` keeps the topics and group of repeated runs apart."""
    app_id = f"{name}-bench"
    naive = settings.model_copy(update={"topic_prefix": f"{name}.", "app_id": app_id})
    topics = naive.input_topics
    create_topics(
        naive.brokers,
        {**{t: naive.partitions for t in topics}, f"{app_id}-counts-changelog": naive.partitions},
    )
    from oppchain.producer import EventProducer

    producer = EventProducer(naive, naive.brokers)
    producer.send_lines(lines, validate=False)
    producer.close()

    app = faust.App(
        app_id,
        broker=f"kafka://{naive.brokers}",
        processing_guarantee="at_least_once",
        store="memory://",
        web_enabled=False,
        broker_session_timeout=2,
        broker_heartbeat_interval=0.3,
        topic_partitions=naive.partitions,
        autodiscover=False,
        datadir=str(tmp / name),
    )
    counts = app.Table("counts", default=int, partitions=naive.partitions)
    source = app.topic(*topics, value_serializer="raw", key_serializer="raw")
    seen = {"n": 0, "first": 0.0, "last": 0.0}

    @app.agent(source)
    async def process(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            if not seen["n"]:
                seen["first"] = time.perf_counter()
            try:
                valid = decode_one(event.value)
                counts[valid.workspace] += 1
            except ValueError:
                counts["bad"] += 1
            seen["n"] += 1
            seen["last"] = time.perf_counter()

    async def until() -> None:
        while seen["n"] < len(lines):
            await asyncio.sleep(0.05)

    asyncio.run(run_app(app, until, handle_signals=False))
    return len(lines) / (seen["last"] - seen["first"])
