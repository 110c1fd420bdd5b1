"""A consumer group of a test's own: settings with topics, and a migrated database."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from oppchain.broker import create_topics
from oppchain.settings import Settings
from sinks.clickhouse import close_embedded, connect
from sinks.migrations import migrate

_counter = itertools.count()


def group_settings(tmp_path: Path, bootstrap: str, **overrides: Any) -> Settings:
    """Settings with topics and a consumer group no other test uses; ``overrides``
    (partitions, timings, batch sizes) replace the test defaults."""
    n = next(_counter)
    fields: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "brokers": bootstrap,
        "clickhouse_dsn": f"chdb://{tmp_path / 'clickhouse'}",
        "topic_prefix": f"t{n}.",
        "group_id": f"test-group-{n}",
        "partitions": 3,
        "session_timeout_ms": 2000,
        "heartbeat_interval_ms": 300,
        "batch_linger_ms": 50,
    }
    settings = Settings(**(fields | overrides))
    create_topics(bootstrap, {name: settings.partitions for name in settings.topics.values()})
    return settings


@contextmanager
def migrated_clickhouse(settings: Settings) -> Iterator[Any]:
    """The settings' embedded ClickHouse, migrated, closed afterwards."""
    dsn = settings.resolved_dsn()
    client = connect(dsn)
    migrate(client)
    try:
        yield client
    finally:
        close_embedded(dsn)
