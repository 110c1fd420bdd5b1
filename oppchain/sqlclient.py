"""``oppchain sql``: read-only SQL through the running stack's server, which owns an
embedded database while it runs, or else straight against the database."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from oppchain.cli_context import UsageError, open_database
from oppchain.settings import Settings


def print_rows(result: dict[str, Any], fmt: str) -> None:
    columns, rows = result["columns"], result["rows"]
    if fmt == "json":
        for row in rows:
            print(json.dumps(dict(zip(columns, row, strict=True)), default=str))
        return
    cells = [[str(c) for c in columns]] + [[str(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    for n, row in enumerate(cells):
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


def read(settings: Settings, sql: str, *, migrated: bool = False) -> dict[str, Any]:
    """Columns and rows of a read-only query: through the running stack's SQL server
    when it owns the embedded database, else straight against the database.
    ``migrated``: refuse, in one line, a database the migrations have not built."""
    from oppchain.sqlserver import run_query
    from oppchain.stack import running_stack

    info = running_stack(settings.data_dir) if not settings.clickhouse_dsn else None
    if info and info.get("sql"):
        request = urllib.request.Request(
            info["sql"] + "/query",
            data=json.dumps({"sql": sql}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                result: dict[str, Any] = json.loads(response.read())
                return result
        except urllib.error.HTTPError as exc:
            raise UsageError(_http_error(exc)) from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            # the server of a stale stack.json is gone, or answered something else
            reason = getattr(exc, "reason", exc)
            raise UsageError(
                f"the running stack's SQL server at {info['sql']} did not answer: "
                f"{_one_line(reason)} (is 'oppchain up' still running?)"
            ) from exc
    return run_query(open_database(settings.resolved_dsn(), migrated=migrated), sql)


def _one_line(value: object) -> str:
    lines = str(value).strip().splitlines()
    return lines[0][:500] if lines else type(value).__name__


def _http_error(exc: urllib.error.HTTPError) -> str:
    """The server's ``{"error": ...}``, or the status and the first line of the body."""
    try:
        body = exc.read()
    except OSError:
        body = b""
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        error = None
    if error:
        return _one_line(error)
    text = body.decode("utf-8", "replace")
    return f"SQL server: HTTP {exc.code} {exc.reason}" + (
        f": {_one_line(text)}" if text.strip() else ""
    )


def run_sql(settings: Settings, query: str, fmt: str) -> int:
    from oppchain.sqlserver import NotReadOnly, check_read_only

    try:
        check_read_only(query)
    except NotReadOnly as exc:
        raise UsageError(f"refused: {exc}") from exc
    try:
        result = read(settings, query)
    except UsageError:
        raise
    except Exception as exc:
        raise UsageError(str(exc).strip().splitlines()[0][:500]) from exc
    print_rows(result, fmt)
    return 0
