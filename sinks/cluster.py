"""The same table and view specs, rendered for a ClickHouse cluster.

A single server and chdb get ``Table.create_sql()`` as it is. A cluster gets,
for every table, a replicated ``<name>_local`` on each node and a
``Distributed`` table under the original name, so writers and analysts keep
using the names they know. Everything is derived from the specs in
``sinks.tables`` (through ``sinks.migrations.MIGRATIONS``): nothing here lists
a column.

Sharding is by ``cityHash64(workspace)`` when a table has a workspace column:
all rows of a workspace (and so all versions of a row, whose sorting keys
start with the workspace) meet on one shard, where ReplacingMergeTree can
deduplicate them. Plain views read the Distributed tables with ``GLOBAL``
subqueries and joins; materialized views fire on each node's inserts, so they
read the ``_local`` source and write the ``_local`` target.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sinks.migrations import (
    MIGRATIONS,
    MIGRATIONS_TABLE,
    Migration,
    all_tables,
    all_views,
    copies_done,
)
from sinks.spec import AddColumn, AlterSettings, Backfill, Comment, Drop, Table, View, quote

ZOOKEEPER_PREFIX = "/clickhouse/tables"
LOCAL_SUFFIX = "_local"

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MERGE_TREE = re.compile(r"(?P<family>\w*MergeTree)\s*(?:\((?P<args>.*)\))?", re.DOTALL)
_STRING = re.compile(r"'(?:[^'\\]|\\.)*'", re.DOTALL)
_TABLE_REF = re.compile(
    r"\b(?P<kw>FROM|JOIN)(?P<ws>\s+)(?P<name>[A-Za-z_][A-Za-z0-9_]*)\b(?!\s*\.)", re.IGNORECASE
)
_SUBQUERY_IN = re.compile(r"(?<![\w.])(?P<op>(?:NOT\s+)?IN)(?P<ws>\s*\(\s*SELECT\b)", re.IGNORECASE)
_JOIN = re.compile(
    r"(?<![\w.])(?P<join>(?:(?:ANY|ALL|ASOF|SEMI|ANTI|INNER|LEFT|RIGHT|FULL|OUTER|CROSS)\s+)*JOIN)\b",
    re.IGNORECASE,
)
_RENAMED_SETTINGS = {"non_replicated_deduplication_window": "replicated_deduplication_window"}


def _identifier(name: str, what: str) -> str:
    if not _IDENT.fullmatch(name):
        raise ValueError(f"{what} must be a plain identifier ([A-Za-z_][A-Za-z0-9_]*): {name!r}")
    return name


def replicated_engine(engine: str, zookeeper_path: str, replica: str = "{replica}") -> str:
    """``ReplacingMergeTree(version)`` -> ``ReplicatedReplacingMergeTree(path, replica, version)``.

    Engines outside the MergeTree family (Null, Memory, ...) and engines that
    are already replicated are returned unchanged: they stay local to a node.
    """
    match = _MERGE_TREE.fullmatch(engine.strip())
    if match is None or match["family"].startswith("Replicated"):
        return engine
    args = [quote(zookeeper_path), quote(replica)]
    if match["args"] and match["args"].strip():
        args.append(match["args"].strip())
    return f"Replicated{match['family']}({', '.join(args)})"


def sharding_key(table: Table) -> str:
    names = {c.name for c in table.columns}
    return "cityHash64(workspace)" if "workspace" in names else "rand()"


def _replicated_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings of a non-replicated table, mapped to their replicated counterparts."""
    out: dict[str, Any] = {}
    for key, value in settings.items():
        out.setdefault(_RENAMED_SETTINGS.get(key, key), value)
    return out


def _on_cluster(sql: str, head: str, cluster: str) -> str:
    """Insert ``ON CLUSTER`` right after ``head`` (the statement's name clause)."""
    if not sql.startswith(head):
        raise AssertionError(f"unexpected DDL head: {sql[:80]!r}")
    return f"{head} ON CLUSTER {cluster}{sql[len(head) :]}"


def local_table_sql(table: Table, cluster: str, database: str) -> str:
    local = replace(
        table,
        name=table.name + LOCAL_SUFFIX,
        engine=replicated_engine(
            table.engine, f"{ZOOKEEPER_PREFIX}/{{shard}}/{database}/{table.name}{LOCAL_SUFFIX}"
        ),
        settings=_replicated_settings(table.settings),
    )
    head = f"CREATE TABLE IF NOT EXISTS {database}.{local.name}"
    return _on_cluster(local.create_sql(database), head, cluster)


def distributed_table_sql(table: Table, cluster: str, database: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {database}.{table.name} ON CLUSTER {cluster} "
        f"AS {database}.{table.name}{LOCAL_SUFFIX}\n"
        f"ENGINE = Distributed({cluster}, {database}, {table.name}{LOCAL_SUFFIX}, "
        f"{sharding_key(table)})\n"
        f"COMMENT {quote(table.comment)}"
    )


def table_statements(table: Table, cluster: str, database: str) -> list[str]:
    """The replicated ``_local`` table, then the Distributed table over it."""
    cluster = _identifier(cluster, "cluster")
    database = _identifier(database, "database")
    return [
        local_table_sql(table, cluster, database),
        distributed_table_sql(table, cluster, database),
    ]


def _outside_strings(sql: str, rewrite: Callable[[str], str]) -> str:
    """Apply ``rewrite`` to the parts of ``sql`` that are not string literals."""
    out: list[str] = []
    last = 0
    for literal in _STRING.finditer(sql):
        out.append(rewrite(sql[last : literal.start()]))
        out.append(literal.group())
        last = literal.end()
    out.append(rewrite(sql[last:]))
    return "".join(out)


def _qualify(sql: str, database: str, tables: set[str], views: set[str], local: bool) -> str:
    """Qualify unqualified table and view names after FROM/JOIN with the database;
    with ``local``, tables become their ``_local`` names."""

    def one(match: re.Match[str]) -> str:
        name = match["name"]
        if name in tables:
            target = name + LOCAL_SUFFIX if local else name
        elif name in views:
            target = name
        else:
            return match.group()
        return f"{match['kw']}{match['ws']}{database}.{target}"

    return _outside_strings(sql, lambda part: _TABLE_REF.sub(one, part))


def _globalize(sql: str) -> str:
    """``IN (SELECT``/``JOIN`` -> ``GLOBAL IN (SELECT``/``GLOBAL JOIN``: a subquery over a
    Distributed table inside a query over a Distributed table is refused otherwise
    (``distributed_product_mode = 'deny'``)."""

    def preceded_by(part: str, start: int, word: str) -> bool:
        before = part[:start].rstrip().upper()
        return before.endswith(word) and not before[: -len(word)][-1:].isalnum()

    def part_rewrite(part: str) -> str:
        def join(match: re.Match[str]) -> str:
            if preceded_by(part, match.start(), "GLOBAL") or preceded_by(
                part, match.start(), "ARRAY"
            ):
                return match.group()
            return f"GLOBAL {match['join']}"

        def sub_in(match: re.Match[str]) -> str:
            if preceded_by(part, match.start(), "GLOBAL"):
                return match.group()
            return f"GLOBAL {match['op']}{match['ws']}"

        return _SUBQUERY_IN.sub(sub_in, _JOIN.sub(join, part))

    return _outside_strings(sql, part_rewrite)


def view_sql(
    view: View, cluster: str, database: str, tables: Iterable[str], views: Iterable[str]
) -> str:
    """A plain view over the Distributed tables, or a materialized view from the
    ``_local`` source into the ``_local`` target, both ``ON CLUSTER``."""
    cluster = _identifier(cluster, "cluster")
    database = _identifier(database, "database")
    table_names, view_names = set(tables), set(views)
    select = _qualify(
        view.select, database, table_names, view_names, local=view.materialized_to is not None
    )
    if view.materialized_to is not None:
        target = view.materialized_to
        if target not in table_names:
            raise ValueError(f"materialized view {view.name}: target {target} is not a table")
        rendered = replace(
            view,
            name=f"{database}.{view.name}",
            select=select,
            materialized_to=f"{database}.{target}{LOCAL_SUFFIX}",
        )
        head = f"CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.{view.name}"
    else:
        rendered = replace(view, name=f"{database}.{view.name}", select=_globalize(select))
        head = f"CREATE VIEW IF NOT EXISTS {database}.{view.name}"
    return _on_cluster(rendered.create_sql(), head, cluster)


def drop_sql(drop: Drop, cluster: str, database: str) -> list[str]:
    """A dropped table goes with its ``_local`` tables; a view is one object."""
    names = [drop.name] if drop.kind == "VIEW" else [drop.name, drop.name + LOCAL_SUFFIX]
    return [
        f"DROP {drop.kind} IF EXISTS {database}.{name} ON CLUSTER {cluster} SYNC" for name in names
    ]


def alter_settings_sql(alter: AlterSettings, cluster: str, database: str) -> str:
    """Settings belong to the replicated ``_local`` tables (a Distributed table has
    none), mapped like a new table's: ``non_replicated_deduplication_window`` becomes
    ``replicated_deduplication_window``."""
    local = replace(
        alter,
        table=f"{database}.{alter.table}{LOCAL_SUFFIX}",
        settings=_replicated_settings(alter.settings),
    )
    return _on_cluster(local.sql(), f"ALTER TABLE {local.table}", cluster)


def alter_table_sql(alter: AddColumn | Comment, cluster: str, database: str) -> list[str]:
    """A column is added (or a comment changed) on the replicated ``_local`` tables
    and on the Distributed table that reads them."""
    statements = []
    for name in (alter.table + LOCAL_SUFFIX, alter.table):
        qualified = replace(alter, table=f"{database}.{name}")
        statements.append(_on_cluster(qualified.sql(), f"ALTER TABLE {qualified.table}", cluster))
    return statements


def backfill_sql(backfill: Backfill, database: str, tables: set[str], views: set[str]) -> str:
    """Run once, on one node, through the Distributed tables (which route the rows)."""
    select = _qualify(backfill.select, database, tables, views, local=False)
    return replace(backfill, target=f"{database}.{backfill.target}", select=select).sql()


def _names_ever() -> tuple[set[str], set[str]]:
    """Every table and view any migration defines (a backfill may read a table a
    later operation drops)."""
    tables = {MIGRATIONS_TABLE.name}
    views: set[str] = set()
    for migration in MIGRATIONS:
        for op in migration.operations:
            if isinstance(op, Table):
                tables.add(op.name)
            elif isinstance(op, View):
                views.add(op.name)
    return tables, views


def cluster_statements(
    migration: Migration, cluster: str, database: str, *, backfill: bool = True
) -> list[str]:
    """Every statement of ``migration`` for ``cluster``, in order.

    Raw SQL operations cannot be translated safely and are refused: express
    the change as a table or view spec, or add a cluster-aware operation here.
    ``backfill=False`` leaves out data copies (re-applying must not copy twice).
    """
    cluster = _identifier(cluster, "cluster")
    database = _identifier(database, "database")
    known_tables, known_views = _names_ever()
    for op in migration.operations:
        if isinstance(op, Table):
            known_tables.add(op.name)
        elif isinstance(op, View):
            known_views.add(op.name)
    statements: list[str] = []
    for op in migration.operations:
        if isinstance(op, Table):
            statements.extend(table_statements(op, cluster, database))
        elif isinstance(op, View):
            statements.append(view_sql(op, cluster, database, known_tables, known_views))
        elif isinstance(op, Drop):
            statements.extend(drop_sql(op, cluster, database))
        elif isinstance(op, AlterSettings):
            statements.append(alter_settings_sql(op, cluster, database))
        elif isinstance(op, AddColumn | Comment):
            statements.extend(alter_table_sql(op, cluster, database))
        elif isinstance(op, Backfill):
            if backfill:
                statements.append(backfill_sql(op, database, known_tables, known_views))
        else:
            raise ValueError(
                f"migration {migration.id}: raw statement cannot be rendered for a cluster: "
                f"{op.strip()[:80]!r}"
            )
    return statements


def schema_statements(cluster: str, database: str) -> list[str]:
    """The current tables and views, as the migrations leave them, with nothing
    dropped or copied: what a node added to the cluster needs."""
    tables, views = _names_ever()
    statements = [
        s for t in all_tables() if t.name != MIGRATIONS_TABLE.name
        for s in table_statements(t, cluster, database)
    ]  # fmt: skip
    ordered = _dependencies_first(all_views())
    statements += [view_sql(v, cluster, database, tables, views) for v in ordered]
    return statements


def _dependencies_first(views: Sequence[View]) -> list[View]:
    """Views ordered so that each comes after the views it reads (a view redefined
    by a later migration is listed last, yet older views may read it)."""
    names = {v.name for v in views}
    reads = {
        v.name: {n for n in names - {v.name} if re.search(rf"\b{n}\b", v.select)} for v in views
    }
    ordered: list[View] = []
    placed: set[str] = set()
    pending = list(views)
    while pending:
        ready = next((v for v in pending if reads[v.name] <= placed), None)
        if ready is None:
            raise ValueError(f"views read each other in a cycle: {[v.name for v in pending]}")
        ordered.append(ready)
        placed.add(ready.name)
        pending.remove(ready)
    return ordered


def checksum(statements: Sequence[str]) -> str:
    return hashlib.sha256("\n;\n".join(statements).encode()).hexdigest()


def ledger_sql(cluster: str, database: str) -> str:
    """``schema_migrations`` replicated to every node of every shard, so any node
    answers "what was applied". The replica name includes the shard because
    this one replication group spans all shards."""
    cluster = _identifier(cluster, "cluster")
    database = _identifier(database, "database")
    ledger = replace(
        MIGRATIONS_TABLE,
        engine=replicated_engine(
            MIGRATIONS_TABLE.engine,
            f"{ZOOKEEPER_PREFIX}/all/{database}/{MIGRATIONS_TABLE.name}",
            replica="{shard}-{replica}",
        ),
    )
    head = f"CREATE TABLE IF NOT EXISTS {database}.{ledger.name}"
    return _on_cluster(ledger.create_sql(database), head, cluster)


def applied_on_cluster(client: Any, cluster: str, database: str) -> dict[str, str]:
    client.command(
        f"CREATE DATABASE IF NOT EXISTS {_identifier(database, 'database')} "
        f"ON CLUSTER {_identifier(cluster, 'cluster')}",
        use_database=False,
    )
    client.command(ledger_sql(cluster, database), use_database=False)
    # The name is qualified: ``query`` has no ``use_database`` (only ``command`` has).
    rows = client.query(f"SELECT id, checksum FROM {database}.{MIGRATIONS_TABLE.name} FINAL")
    rows = rows.result_rows
    return {row[0]: row[1] for row in rows}


def migrate_cluster(
    client: Any,
    cluster: str,
    database: str,
    migrations: Sequence[Migration] = MIGRATIONS,
    reapply: bool = False,
) -> list[str]:
    """Apply pending migrations ``ON CLUSTER``; return the ids applied now.

    Like ``sinks.migrations.migrate``: ids are recorded in ``schema_migrations``
    (with the checksum of the cluster statements) after their statements
    succeeded, and a second run applies nothing. Every statement is
    ``IF NOT EXISTS`` and a copy is skipped once its source was dropped, so a
    run interrupted half-way is safe to repeat, and
    ``reapply`` creates the schema the applied migrations left (tables, then
    views, ``IF NOT EXISTS``) on every node: nodes added to the cluster since
    get it; on the others nothing is dropped, even for a moment.
    Names are fully qualified, so ``client`` may be connected to any database.
    """
    done = applied_on_cluster(client, cluster, database)
    if reapply:
        for statement in schema_statements(cluster, database):
            client.command(statement, use_database=False)
    now: list[str] = []
    for migration in migrations:
        if migration.id in done:
            continue
        statements = cluster_statements(migration, cluster, database)
        copied = copies_done(client, migration, database)
        for statement in cluster_statements(migration, cluster, database, backfill=not copied):
            client.command(statement, use_database=False)
        client.insert(
            MIGRATIONS_TABLE.name,
            [[migration.id, checksum(statements), datetime.now(UTC)]],
            column_names=["id", "checksum", "applied_at"],
            database=database,
        )
        now.append(migration.id)
    return now


def split_dsn(dsn: str) -> tuple[str, str]:
    """``http://u:p@host:8123/oppchain`` -> (``http://u:p@host:8123``, ``oppchain``).

    The cluster migration connects without a database (it may not exist yet)
    and qualifies every name with the one from the DSN (``default`` if none).
    """
    parts = urlsplit(dsn)
    database = parts.path.strip("/") or "default"
    return urlunsplit(parts._replace(path="")), _identifier(database, "database")
