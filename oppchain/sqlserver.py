"""Read-only SQL over HTTP, served by the process that owns the embedded database.

chdb lets one process open a database path, so while the pipeline runs,
analysts (and ``oppchain sql``) query through this endpoint. It binds to
127.0.0.1 unless configured and accepts only SELECT-like statements.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import date, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_READ_ONLY = re.compile(r"^\s*(SELECT|WITH|SHOW|DESCRIBE|DESC|EXPLAIN|EXISTS)\b", re.IGNORECASE)
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
MAX_BODY = 1024 * 1024


class NotReadOnly(ValueError):
    """The statement could change data; refused."""


def check_read_only(sql: str) -> str:
    """Return the statement without a trailing semicolon, or raise NotReadOnly."""
    text = _COMMENTS.sub(" ", sql).strip().rstrip(";").strip()
    if not text:
        raise NotReadOnly("empty statement")
    if ";" in re.sub(r"'(?:[^'\\]|\\.)*'", "''", text):
        raise NotReadOnly("one statement at a time")
    if not _READ_ONLY.match(text):
        raise NotReadOnly("only SELECT, WITH, SHOW, DESCRIBE, EXPLAIN and EXISTS are allowed")
    if re.search(r"\bINTO\s+OUTFILE\b", text, re.IGNORECASE):
        raise NotReadOnly("INTO OUTFILE is not allowed")
    return text


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


def run_query(client: Any, sql: str, lock: threading.Lock | None = None) -> dict[str, Any]:
    """Run a read-only statement; return column names and rows."""
    statement = check_read_only(sql)
    if lock is None:
        result = client.query(statement)
    else:
        with lock:
            result = client.query(statement)
    return {
        "columns": list(result.column_names),
        "rows": [[jsonable(v) for v in row] for row in result.result_rows],
    }


class SqlServer:
    def __init__(self, client: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.client = client
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                if self.path != "/query":
                    self._reply(404, {"error": "POST /query"})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    self._reply(413, {"error": "statement too large"})
                    return
                try:
                    sql = json.loads(self.rfile.read(length))["sql"]
                    self._reply(200, run_query(server.client, sql, server.lock))
                except NotReadOnly as exc:
                    self._reply(403, {"error": f"refused: {exc}"})
                except Exception as exc:
                    self._reply(400, {"error": str(exc).splitlines()[0][:500]})

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> SqlServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
