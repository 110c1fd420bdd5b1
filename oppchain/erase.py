"""Right to be forgotten: ``oppchain erase --person ID --workspace W`` (or ``--key``).

What a person is, found from the data itself:

* person ids: the one asked for, or the holders of ``--key``; then every id
  ``identity_merges`` joined with them, followed both ways until nothing new;
* identity keys: ``touchpoints.identity_key`` of their touches,
  ``identity_merges.keys_moved`` of their merges, ``crm:<contact_id>`` of their
  contacts, and every key of a person reference in their own events (but a key
  the identity guard refused there: a placeholder, or one over a limit, is not theirs);
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

Who: ``erase_scope`` (with ``erase_links`` and ``erase_mentions``); which tables
and columns: ``erase_catalog``; the conditions per table: ``erase_plan``; the
mutations and rollups: ``erase_apply``; the record: ``erasure_log``; the
command: ``erase_command``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from oppchain.erase_apply import apply, count, rebuild_rollups
from oppchain.erase_catalog import TableInfo, discover
from oppchain.erase_hash import event_hash, keyed_hash
from oppchain.erase_plan import TablePlan, plan
from oppchain.erase_scope import EraseError, resolve
from oppchain.erase_sql import query_rows, sql_in
from oppchain.erasure_log import (
    ErasureNotice,
    acknowledged,
    erased_event_hashes,
    erasures_since,
    record,
)

__all__ = [
    "EraseError",
    "ErasureNotice",
    "ErasureReport",
    "TablePlan",
    "erase",
    "erased_event_hashes",
    "erasures_since",
    "event_hash",
    "keyed_hash",
    "plan",
    "resolve",
]


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
    # Waited for the worker that owns the workspace: True when it rebuilt it in
    # time (rows it stored before from the old state are then deleted too), False
    # when none answered, None when not waited for.
    worker_rebuilt: bool | None = None
    rows_removed_after_rebuild: dict[str, int] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not any(self.rows_remaining.values())


def _has_tables(client: Any, names: Iterable[str]) -> bool:
    wanted = set(names)
    rows = query_rows(
        client,
        f"SELECT name FROM system.tables WHERE database = currentDatabase() "
        f"AND name IN {sql_in(wanted)}",
    )
    return {r[0] for r in rows} == wanted


POSITION = ("event_id", "source_topic", "source_partition", "source_offset")


def _positions(
    client: Any, tables: Sequence[TableInfo], plans: Sequence[TablePlan]
) -> set[tuple[str, str, int, int]]:
    """Kafka positions of the rows to delete outside the event stores (whose
    positions are the subject's lineage)."""
    by_name = {t.name: t for t in tables}
    found: set[tuple[str, str, int, int]] = set()
    for p in plans:
        info = by_name[p.table]
        if not p.delete_where or info.is_event_store or not set(POSITION) <= set(info.columns):
            continue
        columns = ", ".join(POSITION)
        rows = query_rows(client, f"SELECT {columns} FROM {p.table} WHERE {p.delete_where}")
        found |= {(r[0], r[1], int(r[2]), int(r[3])) for r in rows}
    return found


def erase(
    client: Any,
    secret: bytes,
    workspace: str,
    person: str | None = None,
    key: str | None = None,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    wait_for_worker_s: float = 0.0,
) -> ErasureReport:
    """Erase a person from every table; record it; return what was done.

    With ``wait_for_worker_s``, wait that long for a running worker to rebuild the
    workspace (``erasure_acks``), then delete again what matches the person: a
    batch the worker stored before its rebuild came from a state that held them.
    """
    from sinks.tables.privacy import ERASED_EVENTS, ERASURES

    if not dry_run and not _has_tables(client, (ERASURES.name, ERASED_EVENTS.name)):
        raise EraseError("the erasures tables are missing: run 'oppchain migrate' first")
    tables = discover(client)
    subject = resolve(client, workspace, person, key, tables)
    plans = plan(tables, subject)
    removed, redacted = _matching(client, plans)
    erasure_id = uuid.uuid4().hex
    rebuilt: list[str] = []
    if not dry_run:
        subject.other_positions = _positions(client, tables, plans)
        apply(client, plans, removed, redacted)
        rebuilt = rebuild_rollups(client, workspace, {t for t, n in removed.items() if n})
        record(client, secret, subject, erasure_id, person or key or "", removed, redacted, now)
    worker_rebuilt: bool | None = None
    again: dict[str, int] = {}
    if not dry_run and wait_for_worker_s > 0:
        worker_rebuilt = _wait_for_worker(client, erasure_id, wait_for_worker_s)
        if worker_rebuilt:
            again = _sweep(client, plans)
            rebuilt = sorted(set(rebuilt) | set(rebuild_rollups(client, workspace, set(again))))
    remaining = {p.table: count(client, p.table, p.delete_where) for p in plans if p.delete_where}
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
        worker_rebuilt=worker_rebuilt,
        rows_removed_after_rebuild=again,
    )


def _wait_for_worker(client: Any, erasure_id: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        if acknowledged(client, erasure_id):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.5)


def _matching(client: Any, plans: Sequence[TablePlan]) -> tuple[dict[str, int], dict[str, int]]:
    """Rows to delete per table, and references to blank per table.column (in rows
    that are not deleted)."""
    removed: dict[str, int] = {}
    redacted: dict[str, int] = {}
    for p in plans:
        if p.delete_where:
            removed[p.table] = count(client, p.table, p.delete_where)
        for column, where in p.blank:
            keep = f"{where} AND NOT ({p.delete_where})" if p.delete_where else where
            redacted[f"{p.table}.{column}"] = count(client, p.table, keep)
    return removed, redacted


def _sweep(client: Any, plans: Sequence[TablePlan]) -> dict[str, int]:
    """Delete and blank again what matches the person; the rows deleted per table."""
    removed, redacted = _matching(client, plans)
    apply(client, plans, removed, redacted)
    return {t: n for t, n in removed.items() if n}
