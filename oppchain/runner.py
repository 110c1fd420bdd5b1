"""Start and stop the faust app inside our own event loop, with clean signals."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)


async def run_app(
    app: Any, until: Callable[[], Awaitable[Any]] | None = None, *, handle_signals: bool = True
) -> None:
    """Run ``app`` until ``until`` returns, or until SIGINT/SIGTERM; if the app's
    pipeline ends first, its error (or the fact) is raised after the app stops."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    if handle_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    await app.start()
    try:
        waiters = [asyncio.ensure_future(stop.wait())]
        if until is not None:
            waiters.append(asyncio.ensure_future(until()))
        service = getattr(app, "pipeline_service", None)
        if service is not None:
            waiters.append(asyncio.ensure_future(service.finished()))
        done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in done:
            task.result()
    finally:
        await app.stop()
        if handle_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
