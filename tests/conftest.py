"""Fixtures that start the real parts: the tansu broker and the chdb engine.

Every server listens on 127.0.0.1, is started here and stopped by its own pid.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from oppchain.broker import EmbeddedBroker, create_topics
from oppchain.settings import Settings
from sinks.clickhouse import close_embedded, connect
from sinks.migrations import migrate

_counter = itertools.count()


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    log = tmp_path_factory.mktemp("broker") / "broker.log"
    with EmbeddedBroker(log_path=log) as running:
        yield running


@pytest.fixture
def settings(tmp_path: Path, broker: EmbeddedBroker) -> Settings:
    """Settings with topics and a consumer group of this test's own."""
    n = next(_counter)
    s = Settings(
        data_dir=tmp_path / "data",
        brokers=broker.bootstrap,
        clickhouse_dsn=f"chdb://{tmp_path / 'clickhouse'}",
        topic_prefix=f"t{n}.",
        group_id=f"test-group-{n}",
        partitions=3,
        session_timeout_ms=2000,
        heartbeat_interval_ms=300,
        batch_linger_ms=50,
    )
    create_topics(broker.bootstrap, {name: s.partitions for name in s.topics.values()})
    return s


@pytest.fixture
def clickhouse(settings: Settings) -> Iterator[object]:
    """A migrated embedded ClickHouse of this test's own, closed afterwards."""
    dsn = settings.resolved_dsn()
    client = connect(dsn)
    migrate(client)
    yield client
    close_embedded(dsn)
