"""A stack that fails to start leaves no broker behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from oppchain.broker import free_port
from oppchain.settings import Settings
from oppchain.stack import STACK_FILE, Stack


def test_a_stack_whose_database_is_unreachable_stops_its_broker(tmp_path: Path) -> None:
    closed = free_port("127.0.0.1")  # nothing listens there
    settings = Settings(data_dir=tmp_path, clickhouse_dsn=f"http://127.0.0.1:{closed}")
    stack = Stack(settings)
    with pytest.raises(Exception), stack:  # noqa: B017 (the client's own connection error)
        pass
    assert stack.broker is not None and stack.broker.process is not None
    assert stack.broker.process.poll() is not None  # stopped (by its pid), not orphaned
    assert not (tmp_path / STACK_FILE).exists()
