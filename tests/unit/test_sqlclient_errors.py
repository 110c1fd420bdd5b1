"""The running stack's SQL server gone or answering garbage: one line, exit 2, no
traceback, from every command that reads through it."""

from __future__ import annotations

import io
import json
import os
import urllib.error
from pathlib import Path
from typing import Any

import pytest

from oppchain.cli import main
from oppchain.stack import STACK_FILE


def _stale_stack(data_dir: Path, sql: str = "http://127.0.0.1:1") -> None:
    """A stack file whose pid lives (ours) but whose SQL server does not answer."""
    data_dir.mkdir(parents=True, exist_ok=True)
    info = {"pid": os.getpid(), "sql": sql, "bootstrap": "127.0.0.1:1"}
    (data_dir / STACK_FILE).write_text(json.dumps(info))


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    err = capsys.readouterr().err
    return code, err


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPPCHAIN_CLICKHOUSE_DSN", "OPPCHAIN_BROKERS", "OPPCHAIN_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)


def test_a_stale_stack_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _stale_stack(tmp_path)
    for argv in (["deadletters", "list"], ["sql", "SELECT 1"]):
        code, err = _run([*argv, "--data-dir", str(tmp_path)], capsys)
        assert code == 2, argv
        assert err.startswith("oppchain: the running stack's SQL server at http://127.0.0.1:1")
        assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"<html><body>502 Bad Gateway</body></html>", "SQL server: HTTP 502 Bad Gateway: <html>"),
        (b"", "SQL server: HTTP 502 Bad Gateway"),
        (b'{"error": "Code: 60. Unknown table\\nmore"}', "Code: 60. Unknown table"),
    ],
)
def test_an_http_error_body_that_is_not_the_servers_json_is_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    body: bytes,
    expected: str,
) -> None:
    _stale_stack(tmp_path, "http://127.0.0.1:9")

    def refuse(request: Any, timeout: float) -> Any:
        raise urllib.error.HTTPError(request.full_url, 502, "Bad Gateway", {}, io.BytesIO(body))  # type: ignore[arg-type]

    monkeypatch.setattr("urllib.request.urlopen", refuse)
    code, err = _run(["deadletters", "list", "--data-dir", str(tmp_path)], capsys)
    assert code == 2
    assert err.startswith(f"oppchain: {expected}")
    assert err.count("\n") == 1 and "Traceback" not in err
