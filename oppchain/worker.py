"""``oppchain up`` and ``oppchain worker``: the worker, run with what the stack provides."""

from __future__ import annotations

import asyncio

from oppchain.settings import Settings


def run_worker(settings: Settings) -> int:
    """Run the worker with what the stack provides until Ctrl-C or SIGTERM."""
    from oppchain.runner import run_app
    from oppchain.stack import Stack
    from sinks.clickhouse import connect
    from sinks.writer import ClickHouseSink
    from streams.app import create_app
    from streams.pipeline import Pipeline

    with Stack(settings) as stack:
        print(f"broker     {stack.bootstrap}")
        print(f"clickhouse {stack.dsn}")
        if stack.sql is not None:
            # The process that owns an embedded database serves read-only SQL.
            print(f"sql        {stack.sql.address}/query (read-only)")
        print("worker running; Ctrl-C stops everything", flush=True)
        sink = ClickHouseSink(lambda: connect(stack.dsn))
        pipeline = Pipeline(settings, stack.bootstrap, sink)
        try:
            asyncio.run(run_app(create_app(settings, stack.bootstrap, pipeline)))
        finally:
            pipeline.close()
    print("stopped")
    return 0
