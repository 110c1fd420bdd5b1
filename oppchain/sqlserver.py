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
from typing import Any, NamedTuple

_ALLOWED_FIRST = frozenset({"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "EXISTS"})
# Keywords that only appear in statements that change something. ClickHouse
# also parses e.g. ``WITH x AS (...) INSERT ...``, so the first word is not enough.
_WRITE_KEYWORDS = frozenset(
    {
        "INSERT", "ALTER", "DROP", "CREATE", "ATTACH", "DETACH", "RENAME", "TRUNCATE",
        "OPTIMIZE", "KILL", "GRANT", "REVOKE", "SET", "USE", "DELETE", "UPDATE",
        "EXCHANGE", "UNDROP", "BACKUP", "RESTORE", "MOVE", "OUTFILE",
    }
)  # fmt: skip
# Functions and table functions that read files, call out over the network, run
# programs or reach into the host process. ``file()`` as a scalar function reads
# any file even under ``readonly = 1``; chdb's ``python()`` reads process memory.
_IO_FUNCTIONS = frozenset(
    name.lower()
    for name in (
        "file", "fileCluster", "filesystem", "url", "urlCluster", "s3", "s3Cluster", "gcs",
        "cosn", "oss", "azureBlobStorage", "azureBlobStorageCluster", "hdfs", "hdfsCluster",
        "remote", "remoteSecure", "cluster", "clusterAllReplicas", "mysql", "postgresql",
        "jdbc", "odbc", "mongodb", "redis", "sqlite", "executable", "executablePool", "python",
        "input", "bigquery", "ytsaurus", "arrowstream", "eval", "dictionary", "catboostEvaluate",
        "prometheusQuery", "prometheusQueryRange", "fuzzQuery",
    )
) | frozenset({"iceberg", "deltalake", "hudi", "paimon"})  # fmt: skip
_IO_PREFIXES = ("iceberg", "deltalake", "hudi", "paimon", "azure", "s3", "hdfs")
MAX_BODY = 1024 * 1024
# Per-query engine settings: the engine itself refuses writes, settings changes
# and table functions (a second line of defence behind the statement check).
# Only on SELECT-like queries: with an INSERT or a command the chdb backend applies
# settings with SET and cannot restore readonly afterwards (the shared session would
# stay read-only), and check_read_only refuses those before they get here.
QUERY_SETTINGS = {"readonly": 1}


class NotReadOnly(ValueError):
    """The statement could change data; refused."""


class Token(NamedTuple):
    kind: str
    text: str
    gap: bool  # blank or a comment came before it


def _tokens(sql: str) -> list[Token]:
    """Split like ClickHouse's lexer does for what matters here: (kind, text) with
    kind one of word, string, quoted, punct, other, and whether blank or a comment
    came before it. Comments (``--``, ``#``, nested
    ``/* */``) are dropped; an unterminated string or comment is refused."""
    out: list[Token] = []
    i, n = 0, len(sql)
    gap = False

    def add(kind: str, start: int, end: int) -> None:
        nonlocal gap
        out.append(Token(kind, sql[start:end], gap))
        gap = False

    while i < n:
        ch = sql[i]
        gap = gap or ch.isspace() or sql.startswith(("--", "/*"), i) or ch == "#"
        if ch.isspace():
            i += 1
        elif sql.startswith("--", i) or ch == "#":
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif sql.startswith("/*", i):
            depth, i = 1, i + 2
            while depth:
                if i >= n:
                    raise NotReadOnly("unterminated comment")
                if sql.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif sql.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
        elif ch in "'\"`":
            start, i = i, i + 1
            while True:
                if i >= n:
                    raise NotReadOnly("unterminated string or identifier")
                if sql[i] == "\\":
                    i += 2
                elif sql[i] == ch:
                    if i + 1 < n and sql[i + 1] == ch:  # doubled quote: an escaped quote
                        i += 2
                    else:
                        i += 1
                        break
                else:
                    i += 1
            add("string" if ch == "'" else "quoted", start, i)
        elif ch == "$":
            # $$heredoc$$ / $tag$heredoc$tag$ strings
            match = re.match(r"\$([A-Za-z_]\w*)?\$", sql[i:])
            if match is None:
                add("other", i, i + 1)
                i += 1
                continue
            tag = match.group(0)
            end = sql.find(tag, i + len(tag))
            if end < 0:
                raise NotReadOnly("unterminated string")
            add("string", i, end + len(tag))
            i = end + len(tag)
        elif ch.isalpha() or ch == "_":
            start = i
            while i < n and (sql[i].isalnum() or sql[i] == "_"):
                i += 1
            add("word", start, i)
        elif ch in ";(),.":
            add("punct", i, i + 1)
            i += 1
        else:
            add("other", i, i + 1)
            i += 1
    return out


def check_read_only(sql: str) -> str:
    """Return the statement to run (comments removed, no trailing semicolon), or raise
    NotReadOnly. The statement is rebuilt from the tokens that were checked, so what
    runs is exactly what was checked."""
    tokens = _tokens(sql)
    while tokens and tokens[-1].text == ";":
        tokens.pop()
    if not tokens:
        raise NotReadOnly("empty statement")
    if any(t.kind == "punct" and t.text == ";" for t in tokens):
        raise NotReadOnly("one statement at a time")
    first = tokens[0]
    if first.kind != "word" or first.text.upper() not in _ALLOWED_FIRST:
        raise NotReadOnly("only SELECT, WITH, SHOW, DESCRIBE, EXPLAIN and EXISTS are allowed")
    for n, token in enumerate(tokens):
        if token.kind != "word":
            continue
        text, upper = token.text, token.text.upper()
        following = tokens[n + 1] if n + 1 < len(tokens) else None
        if upper == "INTO" and following is not None and following.text.upper() == "OUTFILE":
            raise NotReadOnly("INTO OUTFILE is not allowed")
        if upper in _WRITE_KEYWORDS:
            raise NotReadOnly(f"{upper} is not allowed in a read-only statement")
        lower = text.lower()
        is_call = following is not None and following.kind == "punct" and following.text == "("
        if is_call and (lower in _IO_FUNCTIONS or lower.startswith(_IO_PREFIXES)):
            raise NotReadOnly(f"{text}() reads outside the database and is not allowed")
    return _join(tokens)


def _join(tokens: list[Token]) -> str:
    """The tokens as written, each blank or comment between them now one space."""
    return "".join((" " if t.gap and n else "") + t.text for n, t in enumerate(tokens))


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
        result = client.query(statement, settings=QUERY_SETTINGS)
    else:
        with lock:
            result = client.query(statement, settings=QUERY_SETTINGS)
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
