"""A worker whose pipeline fails ends with the error instead of staying up idle."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest

from oppchain.generator import generate
from oppchain.runner import run_app
from oppchain.settings import Settings
from sinks.clickhouse import connect
from sinks.writer import ClickHouseSink
from streams.app import create_app
from streams.ingest import Record
from streams.pipeline import Pipeline
from streams.processor import BatchResult, Processor
from tests.integration.harness import produce


class _Failing(Processor):
    def process(self, records: Sequence[Record], now: datetime | None = None) -> BatchResult:
        raise RuntimeError("processing failed")


def test_the_worker_ends_with_the_error_that_ended_its_pipeline(
    settings: Settings, clickhouse: Any
) -> None:
    produce(settings, generate(2, 30, events=50).events)
    sink = ClickHouseSink(lambda: connect(settings.resolved_dsn()))
    pipeline = Pipeline(settings, settings.brokers, sink, processor=_Failing(settings))
    app = create_app(settings, settings.brokers, pipeline)
    forever = asyncio.Event().wait  # no other reason to stop
    with pytest.raises(RuntimeError, match="processing failed"):
        asyncio.run(asyncio.wait_for(run_app(app, forever, handle_signals=False), 60))
    assert pipeline.stopping.is_set()
