"""Cluster DDL rendered from the table specs: golden text, structure, and a parse
of every statement by the real ClickHouse engine (chdb)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import clickhouse_connect
import pytest
from clickhouse_connect.driver.client import Client

from sinks.cluster import (
    checksum,
    cluster_statements,
    ledger_sql,
    migrate_cluster,
    replicated_engine,
    schema_statements,
    split_dsn,
    table_statements,
    view_sql,
)
from sinks.migrations import MIGRATIONS, Migration, all_tables, all_views
from sinks.spec import (
    AddColumn,
    AlterSettings,
    Backfill,
    Column,
    Comment,
    Drop,
    Table,
    View,
)

CLUSTER, DB = "oc", "oppchain"

LEADS = Table(
    name="leads",
    comment="Leads, latest version wins.",
    columns=(
        Column("workspace", "LowCardinality(String)", "Brand or team"),
        Column("lead_id", "String", "Lead id"),
        Column("version", "UInt64", "Grows on change"),
    ),
    engine="ReplacingMergeTree(version)",
    order_by="(workspace, lead_id)",
    partition_by="toYYYYMM(now())",
    settings={"non_replicated_deduplication_window": 1000},
)

GOLDEN_LOCAL = """\
CREATE TABLE IF NOT EXISTS oppchain.leads_local ON CLUSTER oc
(
    `workspace` LowCardinality(String) COMMENT 'Brand or team',
    `lead_id` String COMMENT 'Lead id',
    `version` UInt64 COMMENT 'Grows on change'
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/oppchain/leads_local', \
'{replica}', version)
PARTITION BY toYYYYMM(now())
ORDER BY (workspace, lead_id)
SETTINGS replicated_deduplication_window = 1000
COMMENT 'Leads, latest version wins.'"""

GOLDEN_DISTRIBUTED = """\
CREATE TABLE IF NOT EXISTS oppchain.leads ON CLUSTER oc AS oppchain.leads_local
ENGINE = Distributed(oc, oppchain, leads_local, cityHash64(workspace))
COMMENT 'Leads, latest version wins.'"""

# A rollup: a materialized view from a source into an AggregatingMergeTree,
# a SummingMergeTree without a workspace, and a plain view with a subquery.
EVENTS = Table(
    name="rollup_source",
    comment="Source of the rollup.",
    columns=(
        Column("workspace", "LowCardinality(String)", "Brand or team"),
        Column("channel", "LowCardinality(String)", "Channel"),
        Column("value", "Float64", "Value"),
    ),
    engine="MergeTree",
    order_by="(workspace, channel)",
)
ROLLUP = Table(
    name="rollup_daily",
    comment="Rollup target.",
    columns=(
        Column("workspace", "LowCardinality(String)", "Brand or team"),
        Column("channel", "LowCardinality(String)", "Channel"),
        Column("touches", "AggregateFunction(count)", "Touches"),
        Column("value", "AggregateFunction(sum, Float64)", "Value"),
    ),
    engine="AggregatingMergeTree",
    order_by="(workspace, channel)",
)
TOTALS = Table(
    name="rollup_totals",
    comment="Totals without a workspace.",
    columns=(
        Column("channel", "LowCardinality(String)", "Channel"),
        Column("value", "Float64", "Value"),
    ),
    engine="SummingMergeTree((value))",
    order_by="channel",
)
ROLLUP_MV = View(
    name="rollup_daily_mv",
    comment="Feeds rollup_daily.",
    select="SELECT workspace, channel, countState() AS touches, sumState(value) AS value "
    "FROM rollup_source GROUP BY workspace, channel",
    materialized_to="rollup_daily",
)
ROLLUP_VIEW = View(
    name="rollup_view",
    comment="Read side of the rollup.",
    select="SELECT s.workspace, s.channel, countMerge(r.touches) AS touches, 'from rollup_source' "
    "AS note FROM rollup_daily AS r LEFT JOIN rollup_source AS s ON s.channel = r.channel "
    "ARRAY JOIN [1] AS one WHERE s.workspace IN (SELECT workspace FROM rollup_source) "
    "GROUP BY s.workspace, s.channel",
)
ROLLUPS = Migration("9001_rollups", (EVENTS, ROLLUP, TOTALS, ROLLUP_MV, ROLLUP_VIEW))


def _tables(migrations: tuple[Migration, ...]) -> list[Table]:
    return [op for m in migrations for op in m.operations if isinstance(op, Table)]


def test_golden_table() -> None:
    assert table_statements(LEADS, CLUSTER, DB) == [GOLDEN_LOCAL, GOLDEN_DISTRIBUTED]


@pytest.mark.parametrize(
    ("engine", "expected"),
    [
        ("MergeTree", "ReplicatedMergeTree('/p', '{replica}')"),
        ("MergeTree()", "ReplicatedMergeTree('/p', '{replica}')"),
        ("ReplacingMergeTree", "ReplicatedReplacingMergeTree('/p', '{replica}')"),
        ("ReplacingMergeTree(version)", "ReplicatedReplacingMergeTree('/p', '{replica}', version)"),
        ("AggregatingMergeTree", "ReplicatedAggregatingMergeTree('/p', '{replica}')"),
        ("AggregatingMergeTree()", "ReplicatedAggregatingMergeTree('/p', '{replica}')"),
        ("SummingMergeTree", "ReplicatedSummingMergeTree('/p', '{replica}')"),
        ("SummingMergeTree((a, b))", "ReplicatedSummingMergeTree('/p', '{replica}', (a, b))"),
        ("Null", "Null"),
        ("ReplicatedMergeTree('/x', 'y')", "ReplicatedMergeTree('/x', 'y')"),
    ],
)
def test_replicated_engine(engine: str, expected: str) -> None:
    assert replicated_engine(engine, "/p") == expected


@pytest.mark.parametrize("table", _tables(MIGRATIONS), ids=lambda t: t.name)
def test_every_table_gets_a_replicated_local_and_a_distributed_table(table: Table) -> None:
    local, distributed = table_statements(table, CLUSTER, DB)
    family, _, args = table.engine.partition("(")
    path = f"'/clickhouse/tables/{{shard}}/{DB}/{table.name}_local', '{{replica}}'"
    engine = f"Replicated{family}({path}" + (f", {args}" if args.rstrip(")") else ")")
    assert local.startswith(f"CREATE TABLE IF NOT EXISTS {DB}.{table.name}_local ON CLUSTER oc\n")
    assert f"\nENGINE = {engine}\n" in local
    assert f"\nORDER BY {table.order_by}\n" in local
    for column in table.columns:
        assert f"`{column.name}` {column.type}" in local
    assert "non_replicated_deduplication_window" not in local
    key = "cityHash64(workspace)" if "workspace" in table.column_names() else "rand()"
    assert distributed.startswith(
        f"CREATE TABLE IF NOT EXISTS {DB}.{table.name} ON CLUSTER oc AS {DB}.{table.name}_local\n"
        f"ENGINE = Distributed(oc, {DB}, {table.name}_local, {key})\n"
    )


def test_every_migration_renders_two_statements_per_table_and_one_per_view() -> None:
    for migration in (*MIGRATIONS, ROLLUPS):
        statements = cluster_statements(migration, CLUSTER, DB)
        ops = migration.operations
        tables = [op for op in ops if isinstance(op, Table)]
        views = [op for op in ops if isinstance(op, View)]
        drops = [2 if op.kind == "TABLE" else 1 for op in ops if isinstance(op, Drop)]
        backfills = [op for op in ops if isinstance(op, Backfill)]
        alters = [op for op in ops if isinstance(op, AlterSettings)]
        # local and distributed
        columns = [op for op in ops if isinstance(op, AddColumn | Comment)]
        one_each = len(views) + sum(drops) + len(backfills) + len(alters)
        assert len(statements) == 2 * len(tables) + one_each + 2 * len(columns)
        schema = [s for s in statements if not s.startswith("INSERT INTO ")]
        assert len(schema) == len(statements) - len(backfills)
        assert all(" ON CLUSTER oc" in s.splitlines()[0] for s in schema)


def test_a_dropped_table_goes_with_its_local_tables_and_backfills_run_once() -> None:
    [migration] = [m for m in MIGRATIONS if m.id == "0006_attribution_credit_sets"]
    statements = cluster_statements(migration, CLUSTER, DB)
    assert f"DROP TABLE IF EXISTS {DB}.attribution_credits ON CLUSTER oc SYNC" in statements
    assert f"DROP TABLE IF EXISTS {DB}.attribution_credits_local ON CLUSTER oc SYNC" in statements
    [backfill] = [s for s in statements if s.startswith("INSERT INTO ")]
    assert backfill.startswith(f"INSERT INTO {DB}.attribution_credit_sets (")
    assert f"FROM {DB}.attribution_credits FINAL" in backfill
    again = cluster_statements(migration, CLUSTER, DB, backfill=False)
    assert again == [s for s in statements if s != backfill]


def test_an_added_column_goes_to_the_local_and_the_distributed_table() -> None:
    [migration] = [m for m in MIGRATIONS if m.id.startswith("0010_")]
    added = [s for s in cluster_statements(migration, CLUSTER, DB) if s.startswith("ALTER")]
    add = "ADD COLUMN IF NOT EXISTS `first_channel` LowCardinality(String)"
    assert [s.split(" COMMENT ")[0] for s in added] == [
        f"ALTER TABLE {DB}.relationships_local ON CLUSTER oc {add}",
        f"ALTER TABLE {DB}.relationships ON CLUSTER oc {add}",
    ]
    assert all(s.endswith(" AFTER `channels`") for s in added)


def test_comments_change_on_the_local_and_the_distributed_table() -> None:
    [migration] = [m for m in MIGRATIONS if m.id.startswith("0012_")]
    statements = cluster_statements(migration, CLUSTER, DB)
    heads = [s.split(" '")[0] for s in statements]
    comments = [h for h in heads if " COMMENT COLUMN " in h or h.endswith(" MODIFY COMMENT")]
    assert comments == [
        f"ALTER TABLE {DB}.karma_ledger_local ON CLUSTER oc "
        "COMMENT COLUMN `opportunity_value_after`",
        f"ALTER TABLE {DB}.karma_ledger ON CLUSTER oc COMMENT COLUMN `opportunity_value_after`",
        f"ALTER TABLE {DB}.karma_daily_local ON CLUSTER oc MODIFY COMMENT",
        f"ALTER TABLE {DB}.karma_daily ON CLUSTER oc MODIFY COMMENT",
    ]


def test_altered_settings_go_to_the_replicated_local_tables() -> None:
    """0009 gives the single-server tables a deduplication window; on the cluster the
    ``_local`` tables get its replicated counterpart (what a new table gets)."""
    [migration] = [m for m in MIGRATIONS if m.id.startswith("0009_")]
    alters = [s for s in cluster_statements(migration, CLUSTER, DB) if s.startswith("ALTER")]
    assert len(alters) > 1
    assert alters == [
        f"ALTER TABLE {DB}.{op.table}_local ON CLUSTER oc "
        "MODIFY SETTING replicated_deduplication_window = 1000"
        for op in migration.operations
        if isinstance(op, AlterSettings)
    ]
    with pytest.raises(ValueError, match="not a table name"):
        AlterSettings("x; DROP TABLE y", {"a": 1})


def test_sharding_key_and_rollup_engines() -> None:
    statements = cluster_statements(ROLLUPS, CLUSTER, DB)
    assert (
        "ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/oppchain/rollup_daily_local'"
        in (statements[2])
    )
    assert "ReplicatedSummingMergeTree(" in statements[4]
    assert statements[4].count("(value)") == 1
    assert statements[5].endswith(
        "Distributed(oc, oppchain, rollup_totals_local, rand())\n"
        "COMMENT 'Totals without a workspace.'"
    )


def test_materialized_view_reads_and_writes_local_tables() -> None:
    mv = view_sql(ROLLUP_MV, CLUSTER, DB, ["rollup_source", "rollup_daily"], [])
    assert mv.startswith(
        "CREATE MATERIALIZED VIEW IF NOT EXISTS oppchain.rollup_daily_mv ON CLUSTER oc "
        "TO oppchain.rollup_daily_local\n"
    )
    assert "FROM oppchain.rollup_source_local GROUP BY" in mv
    assert "GLOBAL" not in mv


def test_plain_view_reads_distributed_tables_globally() -> None:
    view = view_sql(ROLLUP_VIEW, CLUSTER, DB, ["rollup_source", "rollup_daily"], [])
    assert view.startswith("CREATE VIEW IF NOT EXISTS oppchain.rollup_view ON CLUSTER oc\n")
    assert "FROM oppchain.rollup_daily AS r GLOBAL LEFT JOIN oppchain.rollup_source AS s" in view
    assert "ARRAY JOIN [1]" in view and "GLOBAL ARRAY" not in view
    assert "s.workspace GLOBAL IN (SELECT workspace FROM oppchain.rollup_source)" in view
    assert "'from rollup_source'" in view  # string literals are left alone
    assert "_local" not in view


def test_raw_statements_and_odd_names_are_refused() -> None:
    with pytest.raises(ValueError, match="raw statement"):
        cluster_statements(Migration("9002_raw", ("ALTER TABLE x ADD COLUMN y UInt8",)), "c", DB)
    with pytest.raises(ValueError, match="cluster"):
        table_statements(LEADS, "oc; DROP TABLE x", DB)


def test_split_dsn() -> None:
    assert split_dsn("http://u:p@ch:8123/oppchain") == ("http://u:p@ch:8123", "oppchain")
    assert split_dsn("https://ch:8443") == ("https://ch:8443", "default")


def _accepted(method: Any, *args: Any, **kwargs: Any) -> inspect.BoundArguments:
    """The call bound to clickhouse-connect's own signature: a fake that took
    arguments the real client refuses would hide a crash on a real server."""
    return inspect.signature(method).bind(None, *args, **kwargs)


class FakeClient:
    """Records what a ClickHouse client would be asked to do."""

    def __init__(self) -> None:
        self.commands: list[str] = []
        self.ledger: list[list[Any]] = []
        self.engines = {"attribution_credits": "Distributed"}  # name -> engine on the server

    def command(self, *args: Any, **kwargs: Any) -> None:
        call = _accepted(Client.command, *args, **kwargs).arguments
        assert call["use_database"] is False
        self.commands.append(call["cmd"])

    def query(self, *args: Any, **kwargs: Any) -> Any:
        call = _accepted(Client.query, *args, **kwargs).arguments
        engine = re.fullmatch(
            r"SELECT engine FROM system\.tables WHERE database = 'oppchain' AND name = '(\w+)'",
            call["query"],
        )
        if engine is not None:
            found = self.engines.get(engine[1])
            return type("Result", (), {"result_rows": [(found,)] if found else []})()
        assert call["query"] == "SELECT id, checksum FROM oppchain.schema_migrations FINAL"
        return type("Result", (), {"result_rows": [(r[0], r[1]) for r in self.ledger]})()

    def insert(self, *args: Any, **kwargs: Any) -> None:
        call = _accepted(Client.insert, *args, **kwargs).arguments
        table, rows = call["table"], call["data"]
        database, column_names = call["database"], call["column_names"]
        assert (table, database, column_names) == (
            "schema_migrations",
            DB,
            ["id", "checksum", "applied_at"],
        )
        self.ledger.extend(rows)


def test_migrate_cluster_records_applied_ids_once() -> None:
    client = FakeClient()
    applied = migrate_cluster(client, CLUSTER, DB)
    assert applied == [m.id for m in MIGRATIONS]
    assert client.commands[0] == "CREATE DATABASE IF NOT EXISTS oppchain ON CLUSTER oc"
    assert client.commands[1] == ledger_sql(CLUSTER, DB)
    expected = [s for m in MIGRATIONS for s in cluster_statements(m, CLUSTER, DB)]
    assert client.commands[2:] == expected
    assert [row[0] for row in client.ledger] == applied
    assert all(len(row[1]) == 64 for row in client.ledger)

    client.commands.clear()
    assert migrate_cluster(client, CLUSTER, DB) == []
    assert len(client.commands) == 2  # database and ledger only

    client.commands.clear()
    assert migrate_cluster(client, CLUSTER, DB, reapply=True) == []
    schema = schema_statements(CLUSTER, DB)
    assert client.commands[2:] == schema  # for nodes added since; no data copied twice
    assert not [s for s in schema if s.startswith(("DROP", "INSERT", "ALTER"))]
    created = {s.split(" ON CLUSTER ")[0].split()[-1] for s in schema}
    current = {t.name for t in all_tables() if t.name != "schema_migrations"}
    local = {f"{DB}.{n}_local" for n in current}
    assert created == {f"{DB}.{n}" for n in current | {v.name for v in all_views()}} | local
    assert len(client.ledger) == len(MIGRATIONS)


def test_a_cluster_migration_stopped_after_dropping_its_copy_source_runs_again() -> None:
    """0006 copied, dropped the old table and made the view of its name, then
    stopped: run again, it copies nothing and records its usual checksum."""
    client = FakeClient()
    client.ledger = [[m.id, "x" * 64, None] for m in MIGRATIONS[:5]]
    client.engines = {"attribution_credits": "View"}
    assert migrate_cluster(client, CLUSTER, DB)[0] == MIGRATIONS[5].id
    full = cluster_statements(MIGRATIONS[5], CLUSTER, DB)
    [copy] = [s for s in full if s.startswith("INSERT INTO ")]
    assert copy not in client.commands
    assert [s for s in full if s != copy] == client.commands[2 : 1 + len(full)]
    assert client.ledger[5][1] == checksum(full)


# -- the real engine ----------------------------------------------------------

_ON_CLUSTER = re.compile(r" ON CLUSTER \w+")
_REPLICATED = re.compile(r"Replicated(\w*MergeTree)\('[^']*', '[^']*'(?:, )?")
_INSERT_DISTRIBUTED = re.compile(r"^(INSERT INTO \w+\.\w+) ")
_DISTRIBUTED = re.compile(r"ENGINE = Distributed\(\w+, (\w+), (\w+), [^\n]+\)")


def single_node(statement: str) -> str:
    """The statement as one node without a cluster would run it: no ON CLUSTER, the
    engine unreplicated, and a Merge table standing in for the Distributed one."""
    statement = _INSERT_DISTRIBUTED.sub(r"\1_local ", statement, count=1)
    statement = _ON_CLUSTER.sub("", statement, count=1)
    statement = _REPLICATED.sub(r"\1(", statement, count=1)
    return _DISTRIBUTED.sub(r"ENGINE = Merge(\1, '^\2$')", statement, count=1)


@pytest.fixture(scope="module")
def chdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    path: Path = tmp_path_factory.mktemp("cluster-ddl") / "clickhouse"
    client = clickhouse_connect.get_client(dsn=f"chdb://{path}")
    try:
        yield client
    finally:
        client.close()


def test_every_cluster_statement_parses(chdb: Any) -> None:
    statements = [ledger_sql(CLUSTER, DB)]
    for migration in (*MIGRATIONS, ROLLUPS):
        statements.extend(cluster_statements(migration, CLUSTER, DB))
    for statement in statements:
        formatted = chdb.query("SELECT formatQuery({q:String})", parameters={"q": statement})
        is_copy = statement.startswith("INSERT INTO ")  # runs once, on one node
        assert is_copy or "ON CLUSTER oc" in formatted.result_rows[0][0]


def test_statements_run_on_one_node(chdb: Any) -> None:
    chdb.command(f"CREATE DATABASE IF NOT EXISTS {DB}")
    chdb.command(single_node(ledger_sql(CLUSTER, DB)))
    for migration in (*MIGRATIONS, ROLLUPS):
        for statement in cluster_statements(migration, CLUSTER, DB):
            chdb.command(single_node(statement))
    names = {row[0] for row in chdb.query(f"SHOW TABLES FROM {DB}").result_rows}
    for table in [*all_tables()[1:], *_tables((ROLLUPS,))]:
        assert {table.name, f"{table.name}_local"} <= names
    assert {m.name for m in all_tables()} <= names

    chdb.command(f"INSERT INTO {DB}.rollup_source_local VALUES ('w', 'x', 2.5), ('w', 'x', 1.5)")
    rows = chdb.query(
        f"SELECT countMerge(touches), sumMerge(value) FROM {DB}.rollup_daily GROUP BY workspace"
    ).result_rows
    assert rows == [(2, 4.0)]
    assert chdb.query(f"SELECT count() FROM {DB}.rollup_view").result_rows == [(1,)]


def test_the_schema_for_a_new_node_is_what_the_migrations_left(chdb: Any) -> None:
    """``--reapply`` creates the current schema without replaying drops: a node that
    gets it has the same columns and views as one that ran every migration."""
    for db, statements in (
        ("migrated", [s for m in MIGRATIONS for s in cluster_statements(m, CLUSTER, "migrated")]),
        ("fresh", schema_statements(CLUSTER, "fresh")),
    ):
        chdb.command(f"CREATE DATABASE IF NOT EXISTS {db}")
        for statement in statements:
            chdb.command(single_node(statement))

    def schema(db: str) -> tuple[list[Any], list[Any]]:
        columns = chdb.query(
            f"SELECT table, name, type FROM system.columns WHERE database = '{db}' "
            "ORDER BY table, position"
        ).result_rows
        views = chdb.query(
            f"SELECT name, replaceAll(as_select, '{db}.', '') FROM system.tables "
            f"WHERE database = '{db}' AND engine LIKE '%View' ORDER BY name"
        ).result_rows
        return columns, views

    migrated, fresh = schema("migrated"), schema("fresh")
    assert fresh[0] == migrated[0]
    assert fresh[1] == migrated[1] and len(fresh[1]) == len(all_views())


def test_the_cli_reapplies_the_schema_on_a_cluster_only(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from oppchain.cli import main

    client = FakeClient()
    client.ledger = [[m.id, "x" * 64, None] for m in MIGRATIONS]
    monkeypatch.setattr("sinks.clickhouse.connect", lambda dsn: client)
    dsn = ["--data-dir", str(tmp_path), "--clickhouse-dsn", "http://db:8123/oppchain"]
    assert main(["migrate", *dsn, "--reapply"]) == 2
    assert "--reapply needs --cluster" in capsys.readouterr().err
    assert main(["migrate", *dsn, "--cluster", "oc", "--reapply"]) == 0
    assert client.commands[2:] == schema_statements(CLUSTER, DB)
    assert "nothing (up to date)" in capsys.readouterr().out
