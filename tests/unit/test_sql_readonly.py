"""The embedded SQL endpoint runs SELECT-like statements only, on 127.0.0.1."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oppchain.settings import Settings
from oppchain.sqlserver import NotReadOnly, SqlServer, check_read_only, run_query
from sinks.clickhouse import close_embedded, connect

REFUSED = [
    "INSERT INTO t VALUES (1)",
    "insert into t select 1",
    "ALTER TABLE t DELETE WHERE 1",
    "DROP TABLE t",
    "CREATE TABLE u (a Int32) ENGINE = Memory",
    "SYSTEM STOP MERGES",
    "TRUNCATE TABLE t",
    "OPTIMIZE TABLE t FINAL",
    "RENAME TABLE t TO u",
    "ATTACH TABLE t",
    "DETACH TABLE t",
    "GRANT SELECT ON *.* TO x",
    "SET readonly = 0",
    "KILL QUERY WHERE 1",
    "DELETE FROM t WHERE 1",
    "",
    "   ;  ",
    "-- only a comment",
    "SELECT 1; DROP TABLE t",
    "SELECT 1;DROP TABLE t;",
    "SELECT 1 INTO OUTFILE '/tmp/x'",
    "SELECT 1 into\n\toutfile '/tmp/x'",
    "SELECT 1 INTO/**/OUTFILE '/tmp/x'",
    "SELECT 1 INTO -- c\n OUTFILE '/tmp/x'",
    # ClickHouse parses WITH ... INSERT
    "WITH 1 AS x INSERT INTO t VALUES (1)",
    # '#' starts a comment for ClickHouse: the quote hides nothing
    "SELECT 1 # '\n; DROP TABLE t #'",
    "SELECT 1 -- '\n; DROP TABLE t --'",
    "SELECT 1 /* ' */ ; DROP TABLE t /* ' */",
    "SELECT 1 /* /* nested */ ; DROP TABLE t */ ; DROP TABLE t",
    "/* leading */ DROP TABLE t",
    "SELECT 'unterminated",
    "SELECT 1 /* unterminated",
    # reading files, the network, the host process
    "SELECT file('/etc/passwd')",
    "SELECT * FROM file('/etc/passwd', 'LineAsString')",
    "SELECT * FROM FILE('/etc/passwd', 'LineAsString')",
    "DESCRIBE file('/etc/passwd', 'LineAsString')",
    "SELECT * FROM url('http://127.0.0.1:1/', 'LineAsString')",
    "SELECT * FROM s3('http://x/y')",
    "SELECT * FROM remote('127.0.0.1', system.one)",
    "SELECT * FROM executable('x.sh', 'TSV', 'a String')",
    "SELECT * FROM python(settings)",
    "SELECT * FROM icebergLocal('/tmp/x')",
    "WITH (SELECT * FROM url('http://x', 'LineAsString')) AS a SELECT a",
]

ACCEPTED = [
    "SELECT 1",
    "select count() from t",
    "  SELECT a >= 1, replace('a;b', ';', ',') FROM t WHERE a != 2 ;",
    "WITH 1 AS x SELECT x",
    "SHOW TABLES",
    "DESCRIBE TABLE t",
    "DESC t",
    "EXPLAIN SELECT 1",
    "EXISTS t",
    "SELECT 'it''s -- not a comment', 'a\\'b', $$;$$ FROM t",
    "SELECT * FROM numbers(3)",
    "SELECT name FROM system.tables WHERE database = currentDatabase()",
    "-- why\nSELECT 1 /* what */",
]


@pytest.mark.parametrize("sql", REFUSED)
def test_refused(sql: str) -> None:
    with pytest.raises(NotReadOnly):
        check_read_only(sql)


@pytest.mark.parametrize("sql", ACCEPTED)
def test_accepted(sql: str) -> None:
    statement = check_read_only(sql)
    assert ";" not in statement.replace("';'", "").replace("'a;b'", "").replace("$$;$$", "")
    assert "--" not in statement.replace("'it''s -- not a comment'", "")


def test_statement_run_is_the_statement_checked() -> None:
    assert check_read_only("SELECT a>=1 -- x\n FROM t;") == "SELECT a>=1 FROM t"
    assert check_read_only("SELECT/* c */1") == "SELECT 1"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Any]:
    dsn = f"chdb://{tmp_path / 'ch'}"
    c = connect(dsn)
    c.command("CREATE TABLE t (a Int32) ENGINE = MergeTree ORDER BY a")
    c.command("INSERT INTO t VALUES (1), (2)")
    yield c
    close_embedded(dsn)


def _post(address: str, sql: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        address + "/query",
        data=json.dumps({"sql": sql}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_engine_refuses_writes_even_past_the_check(client: Any) -> None:
    """Defence in depth: the query runs with readonly = 1, and that does not leak
    into the shared session the pipeline writes through."""
    # (Never pass readonly with an INSERT or a command: the chdb backend applies those
    # settings with SET and cannot restore readonly after, so the session would stay
    # read-only. check_read_only refuses every INSERT before it gets there.)
    with pytest.raises(Exception, match="READONLY"):
        client.query(
            "SELECT * FROM file('/etc/hostname', 'LineAsString')", settings={"readonly": 1}
        )
    with pytest.raises(Exception, match="READONLY"):
        client.query("SELECT 1 SETTINGS readonly = 0", settings={"readonly": 1})
    assert run_query(client, "SELECT count() FROM t")["rows"] == [[2]]
    client.command("INSERT INTO t VALUES (3)")
    assert run_query(client, "SELECT count() FROM t")["rows"] == [[3]]


def test_server_binds_localhost_and_stays_read_only(client: Any) -> None:
    assert Settings().sql_host == "127.0.0.1" and Settings().web_host == "127.0.0.1"
    server = SqlServer(client).start()
    try:
        assert server.httpd.server_address[0] == "127.0.0.1"
        assert server.address.startswith("http://127.0.0.1:")
        status, body = _post(server.address, "SELECT a FROM t ORDER BY a")
        assert status == 200 and body["rows"] == [[1], [2]]
        for sql in REFUSED:
            status, body = _post(server.address, sql)
            assert status == 403, (sql, body)
        status, _ = _post(server.address, "SELECT * FROM no_such_table")
        assert status == 400
        status, body = _post(server.address, "SELECT count() FROM t")
        assert body["rows"] == [[2]], "nothing refused may have changed the table"
    finally:
        server.stop()
    client.command("INSERT INTO t VALUES (3)")  # the session is still writable
