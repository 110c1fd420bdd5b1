"""Carrying out erasure plans in ClickHouse: counting, deleting, blanking, and
recomputing the rollups that fed on the deleted rows."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from oppchain.erase_plan import TablePlan
from oppchain.erase_sql import CLIENT_SETTINGS, query_rows
from sinks.spec import quote

# Wait for every replica, so the counts taken afterwards see the mutation done.
MUTATION = " SETTINGS mutations_sync = 2"


def count(client: Any, table: str, where: str) -> int:
    return int(query_rows(client, f"SELECT count() FROM {table} WHERE {where}")[0][0])


def command(client: Any, sql: str) -> None:
    client.command(sql, settings=CLIENT_SETTINGS)


def apply(
    client: Any, plans: Sequence[TablePlan], removed: dict[str, int], redacted: dict[str, int]
) -> None:
    """Blank the references, then delete the rows, where the counts found any."""
    for p in plans:
        for column, where in p.blank:
            if redacted.get(f"{p.table}.{column}"):
                command(
                    client,
                    f"ALTER TABLE {p.table} UPDATE `{column}` = '' WHERE {where}" + MUTATION,
                )
        if removed.get(p.table):
            command(client, f"ALTER TABLE {p.table} DELETE WHERE {p.delete_where}" + MUTATION)


def rebuild_rollups(client: Any, workspace: str, sources: set[str]) -> list[str]:
    """Recompute, for the workspace, every materialized-view target of rows over
    many persons fed by a table that lost rows (a view only sees inserts, never
    deletes)."""
    views = query_rows(
        client,
        "SELECT name, create_table_query, as_select FROM system.tables "
        "WHERE database = currentDatabase() AND engine = 'MaterializedView'",
    )
    database = query_rows(client, "SELECT currentDatabase()")[0][0]
    rebuilt = []
    for _name, create, select in views:
        target = re.search(r"\bTO\s+(?:`?\w+`?\.)?`?(\w+)`?", create)
        if target is None:
            continue
        for source in sources:
            pattern = rf"\bFROM\s+(?:`?{re.escape(database)}`?\.)?`?{re.escape(source)}`?(?=\s|$)"
            if len(re.findall(pattern, select)) != 1:
                continue
            columns = [
                r[0]
                for r in query_rows(
                    client,
                    f"SELECT name FROM system.columns WHERE database = currentDatabase() "
                    f"AND table = {quote(target.group(1))} ORDER BY position",
                )
            ]
            # A target of one row per person and day (relationships_daily) lost the
            # erased person's rows like any table did. Its source keeps only each
            # person's latest row once merged: rebuilt, it would lose everyone's history.
            if "workspace" not in columns or "person_id" in columns:
                continue
            scoped = (
                f"FROM (SELECT * FROM {source} WHERE workspace = {quote(workspace)}) AS {source}"
            )
            body = scoped.join(re.split(pattern, select))
            names = ", ".join(f"`{c}`" for c in columns)
            command(
                client,
                f"ALTER TABLE {target.group(1)} DELETE WHERE workspace = {quote(workspace)}"
                + MUTATION,
            )
            command(
                client,
                # Not deduplicated: identical rows inserted before (the window keeps
                # their hashes) would make a server drop this whole block.
                f"INSERT INTO {target.group(1)} ({names}) SELECT {names} FROM ({body}) "
                "SETTINGS insert_deduplicate = 0",
            )
            rebuilt.append(target.group(1))
    return sorted(rebuilt)
