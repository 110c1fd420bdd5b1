"""Fixtures that start the real parts: the tansu broker and the chdb engine.

Every server listens on 127.0.0.1, is started here and stopped by its own pid.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from oppchain.broker import EmbeddedBroker
from oppchain.settings import Settings
from tests.groups import group_settings, migrated_clickhouse


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    log = tmp_path_factory.mktemp("broker") / "broker.log"
    with EmbeddedBroker(log_path=log) as running:
        yield running


@pytest.fixture
def settings(tmp_path: Path, broker: EmbeddedBroker) -> Settings:
    """Settings with topics and a consumer group of this test's own."""
    return group_settings(tmp_path, broker.bootstrap)


@pytest.fixture
def clickhouse(settings: Settings) -> Iterator[object]:
    """A migrated embedded ClickHouse of this test's own, closed afterwards."""
    with migrated_clickhouse(settings) as client:
        yield client
