"""The generated secret: one value however many workers start on one data directory."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from oppchain.settings import Settings


def test_workers_starting_together_share_one_generated_secret(tmp_path: Path) -> None:
    def secret_of(_: int) -> bytes:
        return Settings(data_dir=tmp_path / "data").secret_bytes()

    with ThreadPoolExecutor(8) as pool:
        seen = set(pool.map(secret_of, range(64)))

    path = tmp_path / "data" / "secret"
    assert seen == {path.read_text().encode()}
    assert len(path.read_text()) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["secret"]  # no drafts left behind


def test_an_existing_secret_is_kept(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("kept\n")
    assert Settings(data_dir=tmp_path).secret_bytes() == b"kept"


def test_no_secret_is_made_up_for_a_clickhouse_server(tmp_path: Path) -> None:
    server = Settings(data_dir=tmp_path, clickhouse_dsn="http://clickhouse:8123/oppchain")
    with pytest.raises(ValueError, match="OPPCHAIN_SECRET"):
        server.secret_bytes()
    assert not (tmp_path / "secret").exists()
    (tmp_path / "secret").write_text("provisioned\n")  # one put there on purpose is used
    assert server.secret_bytes() == b"provisioned"
