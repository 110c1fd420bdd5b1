"""The faust app, built by a factory: no module-level app to import.

faust provides the worker, its lifecycle and signals, the web endpoint and
timers; the hot path is a service inside it that consumes in batches
(``streams.pipeline``) because faust's per-message stream API is the limit.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust
from mode import Service

from oppchain.settings import Settings
from sinks.clickhouse import connect
from sinks.writer import ClickHouseSink
from streams.markov_job import run_markov
from streams.pipeline import Pipeline

log = logging.getLogger(__name__)


class PipelineService(Service):
    """Runs the batch pipeline for as long as the worker runs."""

    def __init__(self, pipeline: Pipeline, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pipeline = pipeline
        self._task: asyncio.Task[None] | None = None

    async def on_start(self) -> None:
        self._task = asyncio.ensure_future(self.pipeline.run())

    async def finished(self) -> None:
        """Return (or raise) when the pipeline ends without being asked to: the
        worker must then end too, not stay up consuming nothing."""
        assert self._task is not None, "the service has not started"
        await asyncio.shield(self._task)
        if not self.pipeline.stopping.is_set():
            raise RuntimeError("the pipeline stopped on its own")

    async def on_stop(self) -> None:
        self.pipeline.stopping.set()
        if self._task is None or self._task.done():
            return  # an error it ended with was raised by ``finished``
        try:
            await asyncio.wait_for(self._task, timeout=30)
        except (TimeoutError, asyncio.CancelledError):
            self._task.cancel()


def create_app(settings: Settings, bootstrap: str, pipeline: Pipeline | None = None) -> faust.App:
    """A faust app wired to ``bootstrap``, with the pipeline and the Markov timer."""
    app = faust.App(
        settings.app_id,
        broker=f"kafka://{bootstrap}",
        processing_guarantee="at_least_once",
        store="memory://",
        web_enabled=settings.web_enabled,
        web_host=settings.web_host,
        web_port=settings.web_port,
        web_bind=settings.web_host,
        broker_session_timeout=settings.session_timeout_ms / 1000,
        broker_heartbeat_interval=settings.heartbeat_interval_ms / 1000,
        topic_partitions=settings.partitions,
        topic_allow_declare=False,
        autodiscover=False,
    )
    if pipeline is None:
        sink = ClickHouseSink(lambda: connect(settings.resolved_dsn()))
        pipeline = Pipeline(settings, bootstrap, sink)
    service = PipelineService(pipeline, loop=None)
    app.service(service)  # type: ignore[arg-type]
    # run_app watches the service: the worker ends when the pipeline does.
    app.pipeline = pipeline  # type: ignore[attr-defined]
    app.pipeline_service = service  # type: ignore[attr-defined]

    @app.timer(interval=settings.markov_interval_s, on_leader=False)  # type: ignore[untyped-decorator]
    async def data_driven_attribution() -> None:
        processor = pipeline.processor
        assert processor is not None
        async with pipeline.lock:  # batches wait while the paths are read
            paths = await asyncio.to_thread(processor.markov_paths)
        written = await asyncio.to_thread(run_markov, settings, pipeline.sink, paths)
        log.info("data-driven attribution: %d rows", written)

    return app
