"""Right to be forgotten: ``oppchain erase --person ID --workspace W`` (or ``--key``).

What a person is, found from the data itself:

* person ids: the one asked for, or the holders of ``--key``; then every id
  ``identity_merges`` joined with them, followed both ways until nothing new;
* identity keys: ``touchpoints.identity_key`` of their touches,
  ``identity_merges.keys_moved`` of their merges, ``crm:<contact_id>`` of their
  contacts, and every key of a person reference in their own events;
* events: every stored event (``touchpoints``, ``crm_events``) that names one of
  their keys in any role (the other party, an introducer, either side of an
  identity link, a contact's handles), is about their contact, or about one of
  their opportunities. An event naming two persons is personal data of both, so
  it goes, and the other person loses that touch (see docs/security.md).

Then every MergeTree table is read from ``system.columns``, so tables added
later are covered by the same column-name rules: ``person_id``,
``from_person_id``, ``into_person_id``, ``merged_into`` (their ids), ``*_key``,
``key_a``/``key_b`` and arrays of keys (their keys), ``message_key``
(``<workspace>/<key>``), ``event_id`` and ``*_event_id`` (their events),
``contact_id``, ``opportunity_id``, and ``payload`` of tables that are not event
stores (dead letters: the JSON string values of their keys). Rows matching are
deleted (``ALTER TABLE ... DELETE ... SETTINGS mutations_sync = 2``); a row of
somebody else that only points at them (``introducer_person_id``) keeps its
place with the reference blanked. Rollups filled by materialized views from a
table that lost rows are recomputed for the workspace.

The erasure is recorded in ``erasures`` (counts and keyed hashes, no data) and
``erased_events`` (Kafka position and keyed hash of each erased event). Stream
state is event-sourced from ClickHouse, so a running worker rebuilds the
workspace when it sees the erasure (``erasures_since``).
"""

from __future__ import annotations

import re
import sys
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from oppchain.erase_scope import (
    CLIENT_SETTINGS,
    NEEDLES_PER_CALL,
    EraseError,
    Subject,
    TableInfo,
    column_role,
    discover,
    event_hash,
    keyed_hash,
    query_rows,
    resolve,
    sql_in,
)
from sinks.spec import quote

# Tables that are about erasures or the schema, never about a person.
MUTATION = " SETTINGS mutations_sync = 2"


# -- what goes --------------------------------------------------------------


@dataclass
class TablePlan:
    table: str
    delete_where: str  # empty: nothing to delete
    blank: list[tuple[str, str]]  # (column, WHERE) of references to blank


def plan(tables: Sequence[TableInfo], subject: Subject) -> list[TablePlan]:
    """The DELETE and UPDATE conditions per table, from the column-name rules."""
    values: dict[str, set[str]] = {
        "person": subject.person_ids,
        "persons": subject.person_ids,
        "key": subject.keys,
        "keys": subject.keys,
        "message_key": subject.message_keys(),
        "event": subject.events,
        "events": subject.events,
        "contact": subject.contacts,
        "opportunity": subject.opportunities,
    }
    ws = subject.workspace
    plans = []
    for table in tables:
        scoped = "workspace" in table.columns
        parts: list[str] = []
        blank: list[tuple[str, str]] = []
        for column in table.columns.values():
            role = column_role(column)
            if role is None or column.name == "workspace":
                continue
            if not scoped and role not in ("event", "events", "message_key"):
                continue  # without a workspace only globally unique names are safe
            name = f"`{column.name}`"
            if role == "payload":
                needles = subject.needles()
                if table.is_event_store or not needles:
                    continue  # event stores: their event_id decides
                for start in range(0, len(needles), NEEDLES_PER_CALL):
                    chunk = ", ".join(quote(n) for n in needles[start : start + NEEDLES_PER_CALL])
                    parts.append(f"multiSearchAnyCaseInsensitive({name}, [{chunk}])")
                continue
            wanted = values["person" if role == "person_ref" else role]
            if not wanted:
                continue
            if role in ("keys", "persons", "events"):
                parts.append(f"hasAny({name}, [{', '.join(quote(v) for v in sorted(wanted))}])")
            elif role == "person_ref" and not column.in_key:
                where = f"workspace = {quote(ws)} AND {name} IN {sql_in(wanted)}"
                blank.append((column.name, where))
            else:
                parts.append(f"{name} IN {sql_in(wanted)}")
        where = ""
        if parts:
            where = ("(" + " OR ".join(parts) + ")") if len(parts) > 1 else parts[0]
            if scoped:
                where = f"workspace = {quote(ws)} AND {where}"
        if where or blank:
            plans.append(TablePlan(table.name, where, blank))
    return plans


# -- doing it ---------------------------------------------------------------


@dataclass
class ErasureReport:
    erasure_id: str
    workspace: str
    person_ids: int
    identity_keys: int
    events: int
    rows_removed: dict[str, int]
    rows_redacted: dict[str, int]
    rows_remaining: dict[str, int]
    rollups_rebuilt: list[str]
    dry_run: bool = False

    @property
    def complete(self) -> bool:
        return not any(self.rows_remaining.values())


def _count(client: Any, table: str, where: str) -> int:
    return int(query_rows(client, f"SELECT count() FROM {table} WHERE {where}")[0][0])


def _command(client: Any, sql: str) -> None:
    client.command(sql, settings=CLIENT_SETTINGS)


def _has_tables(client: Any, names: Iterable[str]) -> bool:
    wanted = set(names)
    rows = query_rows(
        client,
        f"SELECT name FROM system.tables WHERE database = currentDatabase() "
        f"AND name IN {sql_in(wanted)}",
    )
    return {r[0] for r in rows} == wanted


def _rebuild_rollups(client: Any, workspace: str, sources: set[str]) -> list[str]:
    """Recompute, for the workspace, every materialized-view target fed by a table
    that lost rows (a view only sees inserts, never deletes)."""
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
            if "workspace" not in columns:
                continue
            scoped = (
                f"FROM (SELECT * FROM {source} WHERE workspace = {quote(workspace)}) AS {source}"
            )
            body = scoped.join(re.split(pattern, select))
            names = ", ".join(f"`{c}`" for c in columns)
            _command(
                client,
                f"ALTER TABLE {target.group(1)} DELETE WHERE workspace = {quote(workspace)}"
                + MUTATION,
            )
            _command(
                client,
                f"INSERT INTO {target.group(1)} ({names}) SELECT {names} FROM ({body})",
            )
            rebuilt.append(target.group(1))
    return sorted(rebuilt)


def erase(
    client: Any,
    secret: bytes,
    workspace: str,
    person: str | None = None,
    key: str | None = None,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
) -> ErasureReport:
    """Erase a person from every table; record it; return what was done."""
    from sinks.tables.privacy import ERASED_EVENTS, ERASURES

    if not dry_run and not _has_tables(client, (ERASURES.name, ERASED_EVENTS.name)):
        raise EraseError("the erasures tables are missing: run 'oppchain migrate' first")
    tables = discover(client)
    subject = resolve(client, workspace, person, key, tables)
    plans = plan(tables, subject)
    removed: dict[str, int] = {}
    redacted: dict[str, int] = {}
    for p in plans:
        if p.delete_where:
            removed[p.table] = _count(client, p.table, p.delete_where)
        for column, where in p.blank:
            keep = f"{where} AND NOT ({p.delete_where})" if p.delete_where else where
            redacted[f"{p.table}.{column}"] = _count(client, p.table, keep)
    erasure_id = uuid.uuid4().hex
    rebuilt: list[str] = []
    if not dry_run:
        for p in plans:
            for column, where in p.blank:
                if redacted.get(f"{p.table}.{column}"):
                    _command(
                        client,
                        f"ALTER TABLE {p.table} UPDATE `{column}` = '' WHERE {where}" + MUTATION,
                    )
            if removed.get(p.table):
                _command(client, f"ALTER TABLE {p.table} DELETE WHERE {p.delete_where}" + MUTATION)
        rebuilt = _rebuild_rollups(client, workspace, {t for t, n in removed.items() if n})
        _record(client, secret, subject, erasure_id, person or key or "", removed, redacted, now)
    remaining = {p.table: _count(client, p.table, p.delete_where) for p in plans if p.delete_where}
    return ErasureReport(
        erasure_id=erasure_id,
        workspace=workspace,
        person_ids=len(subject.person_ids),
        identity_keys=len(subject.keys),
        events=len(subject.events),
        rows_removed={t: n for t, n in removed.items() if n},
        rows_redacted={t: n for t, n in redacted.items() if n},
        rows_remaining={t: n for t, n in remaining.items() if n},
        rollups_rebuilt=rebuilt,
        dry_run=dry_run,
    )


def _record(
    client: Any,
    secret: bytes,
    subject: Subject,
    erasure_id: str,
    asked: str,
    removed: dict[str, int],
    redacted: dict[str, int],
    now: datetime | None,
) -> None:
    ws = subject.workspace
    at = now or datetime.now(UTC)
    client.insert(
        "erasures",
        [
            [
                erasure_id,
                ws,
                at,
                keyed_hash(secret, ws, "person", asked),
                len(subject.person_ids),
                len(subject.keys),
                len(subject.events),
                {t: n for t, n in removed.items() if n},
                {t: n for t, n in redacted.items() if n},
            ]
        ],
        column_names=[
            "erasure_id",
            "workspace",
            "erased_at",
            "subject_hash",
            "person_ids",
            "identity_keys",
            "events",
            "rows_removed",
            "rows_redacted",
        ],
    )
    rows = [
        [erasure_id, ws, event_hash(secret, ws, event_id), topic, partition, offset]
        for event_id, (topic, partition, offset) in sorted(subject.lineage.items())
    ]
    if rows:
        client.insert(
            "erased_events",
            rows,
            column_names=[
                "erasure_id",
                "workspace",
                "event_hash",
                "source_topic",
                "source_partition",
                "source_offset",
            ],
        )


# -- for the worker ---------------------------------------------------------


@dataclass(frozen=True)
class ErasureNotice:
    erasure_id: str
    workspace: str
    erased_at: datetime


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def erasures_since(client: Any, since: datetime) -> list[ErasureNotice]:
    """Erasures recorded after ``since`` (oldest first): a worker owning one of the
    workspaces drops its state for it and rebuilds it from ClickHouse."""
    at = _utc(since).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    rows = query_rows(
        client,
        "SELECT erasure_id, workspace, erased_at FROM erasures "
        f"WHERE erased_at > toDateTime64({quote(at)}, 3, 'UTC') ORDER BY erased_at, erasure_id",
    )
    return [ErasureNotice(r[0], r[1], _utc(r[2])) for r in rows]


def erased_event_hashes(client: Any, workspace: str) -> set[str]:
    """Keyed hashes of the workspace's erased events: compare with ``event_hash`` to
    drop a redelivered erased event instead of storing it again."""
    rows = query_rows(
        client, f"SELECT event_hash FROM erased_events WHERE workspace = {quote(workspace)}"
    )
    return {r[0] for r in rows}


# -- the command ------------------------------------------------------------


def print_report(report: ErasureReport, out: Any = None) -> None:
    out = out or sys.stdout
    verb = "would remove" if report.dry_run else "removed"
    print(
        f"erasure {report.erasure_id if not report.dry_run else '(dry run)'} in "
        f"{report.workspace}: {report.person_ids} person ids, {report.identity_keys} identity "
        f"keys, {report.events} events",
        file=out,
    )
    for table, n in sorted(report.rows_removed.items()):
        print(f"  {verb} {n:>8} rows from {table}", file=out)
    for column, n in sorted(report.rows_redacted.items()):
        print(
            f"  {'would blank' if report.dry_run else 'blanked'} {n:>8} references in {column}",
            file=out,
        )
    for table in report.rollups_rebuilt:
        print(f"  rebuilt rollup {table} for the workspace", file=out)
    if not report.dry_run and not report.complete:
        print(f"  NOT COMPLETE, rows left: {report.rows_remaining}", file=out)


def run_erase(
    settings: Any,
    workspace: str,
    person: str | None = None,
    key: str | None = None,
    *,
    dry_run: bool = False,
) -> int:
    """``oppchain erase``: 0 when erased (or nothing to erase), 1 when rows remain,
    2 when the request cannot run (printed on stderr)."""
    from oppchain.stack import running_stack
    from sinks.clickhouse import connect, is_embedded

    dsn = settings.resolved_dsn()
    if is_embedded(dsn) and running_stack(settings.data_dir):
        print("oppchain: the running stack owns this database; stop it first", file=sys.stderr)
        return 2
    try:
        report = erase(
            connect(dsn), settings.secret_bytes(), workspace, person, key, dry_run=dry_run
        )
    except EraseError as exc:
        print(f"oppchain: {exc}", file=sys.stderr)
        return 2
    print_report(report)
    return 0 if dry_run or report.complete else 1
