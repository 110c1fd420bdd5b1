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

import hashlib
import hmac
import re
import sys
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from schemas.codec import decode_batch
from schemas.events import (
    ContactUpserted,
    Event,
    IdentityLinked,
    PersonRef,
    SocialInteraction,
    plain,
)
from schemas.keys import contact_key, email_key, handle_key, ref_keys
from schemas.privacy import workspace_salt
from sinks.spec import quote

# Tables that are about erasures or the schema, never about a person.
SKIP_TABLES = frozenset({"schema_migrations", "erasures", "erased_events"})
OWNER_PERSON_COLUMNS = frozenset({"person_id", "from_person_id", "into_person_id", "merged_into"})
MUTATION = " SETTINGS mutations_sync = 2"
# Lists of ids go into the statement text: let long ones parse.
CLIENT_SETTINGS = {"max_query_size": 64 * 1024 * 1024}
MAX_ROUNDS = 8
NEEDLES_PER_CALL = 200  # multiSearchAny takes at most 255 needles


class EraseError(ValueError):
    """The request cannot be carried out; nothing was changed."""


# -- hashing ---------------------------------------------------------------


def keyed_hash(secret: bytes, workspace: str, kind: str, value: str) -> str:
    """HMAC-SHA256 of ``kind:value`` under the workspace salt (hex)."""
    salt = workspace_salt(secret, workspace)
    return hmac.new(salt, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def event_hash(secret: bytes, workspace: str, event_id: str) -> str:
    return keyed_hash(secret, workspace, "event", event_id)


# -- schema discovery -------------------------------------------------------


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str
    in_key: bool  # part of the sorting, primary or partition key: cannot be updated

    @property
    def is_string(self) -> bool:
        return _base(self.type) == "String"

    @property
    def is_string_array(self) -> bool:
        inner = re.fullmatch(r"Array\((.*)\)", self.type)
        return inner is not None and _base(inner.group(1)) == "String"


def _base(ch_type: str) -> str:
    while True:
        inner = re.fullmatch(r"(?:LowCardinality|Nullable)\((.*)\)", ch_type)
        if inner is None:
            return ch_type
        ch_type = inner.group(1)


@dataclass
class TableInfo:
    name: str
    columns: dict[str, ColumnInfo]

    @property
    def is_event_store(self) -> bool:
        return {"event_id", "event_type", "payload", "workspace"} <= set(self.columns)


def discover(client: Any) -> list[TableInfo]:
    """Every MergeTree-family table of the current database with its columns."""
    rows = client.query(
        "SELECT c.table, c.name, c.type, "
        "c.is_in_sorting_key OR c.is_in_primary_key OR c.is_in_partition_key "
        "FROM system.columns AS c INNER JOIN system.tables AS t "
        "ON c.database = t.database AND c.table = t.name "
        "WHERE c.database = currentDatabase() AND t.engine LIKE '%MergeTree' "
        "ORDER BY c.table, c.position"
    ).result_rows
    tables: dict[str, TableInfo] = {}
    for table, name, ch_type, in_key in rows:
        info = tables.setdefault(table, TableInfo(table, {}))
        info.columns[name] = ColumnInfo(name, ch_type, bool(in_key))
    return [t for name, t in sorted(tables.items()) if name not in SKIP_TABLES]


def column_role(column: ColumnInfo) -> str | None:
    """What a column names, by its name: person, person_ref, key, keys, message_key,
    event, contact, opportunity, payload; None when it names nobody."""
    name = column.name
    if column.is_string_array:
        if "key" in name:
            return "keys"
        if "person_id" in name:
            return "persons"
        if "event_id" in name:
            return "events"
        return None
    if not column.is_string:
        return None
    if name in OWNER_PERSON_COLUMNS:
        return "person"
    if name.endswith("person_id"):
        return "person_ref"
    if name == "message_key":
        return "message_key"
    if name in ("key_a", "key_b") or name.endswith("_key"):
        return "key"
    if name == "event_id" or name.endswith("_event_id"):
        return "event"
    if name in ("contact_id", "opportunity_id", "payload"):
        return name.split("_")[0]
    return None


# -- who the person is ------------------------------------------------------


@dataclass
class Subject:
    workspace: str
    person_ids: set[str] = field(default_factory=set)
    keys: set[str] = field(default_factory=set)
    contacts: set[str] = field(default_factory=set)
    opportunities: set[str] = field(default_factory=set)
    events: set[str] = field(default_factory=set)
    # (event_id, source_topic, source_partition, source_offset) of each erased event
    lineage: dict[str, tuple[str, int, int]] = field(default_factory=dict)

    def size(self) -> tuple[int, ...]:
        return tuple(
            len(s)
            for s in (self.person_ids, self.keys, self.contacts, self.opportunities, self.events)
        )

    def message_keys(self) -> set[str]:
        return {f"{self.workspace}/{k}" for k in self.keys}

    def needles(self) -> list[str]:
        """JSON string values that name one of the keys: ``"handle"``, ``"@handle"``,
        ``"contact_id"``, ``"email hash"``."""
        out: set[str] = set()
        for key in self.keys:
            value = key.split(":", 1)[1] if ":" in key else key
            if value:
                out.add(f'"{value}"')
                out.add(f'"@{value}"')
        return sorted(out)


def _in(values: Iterable[str]) -> str:
    return "(" + ", ".join(quote(v) for v in sorted(values)) + ")"


def _rows(client: Any, sql: str) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = client.query(sql, settings=CLIENT_SETTINGS).result_rows
    return rows


def mentioned_keys(event: Event) -> set[str]:
    """Every identity key an event names, in any role."""
    keys: set[str] = set()
    for refs in _subject_refs(event):
        keys.update(refs)
    introducer = getattr(event, "introducer", None)
    if isinstance(introducer, PersonRef):
        keys.update(ref_keys(introducer))
    return keys


def _subject_refs(event: Event) -> list[list[str]]:
    """Key groups of the persons an event is about (not introducers): each group
    names one person."""
    groups: list[list[str]] = []
    if isinstance(event, SocialInteraction) and event.handle:
        groups.append([handle_key(plain(event.platform), event.handle)])
    if isinstance(event, IdentityLinked):
        groups.extend([ref_keys(event.a), ref_keys(event.b)])
    person = getattr(event, "person", None)
    if isinstance(person, PersonRef):
        groups.append(ref_keys(person))
    contact_id = getattr(event, "contact_id", None)
    group = [contact_key(contact_id)] if isinstance(contact_id, str) and contact_id else []
    if isinstance(event, ContactUpserted):
        group.extend(handle_key(plain(h.platform), h.handle) for h in event.handles)
        if event.email_hash:
            group.append(email_key(event.email_hash))
    if group:
        groups.append(group)
    return groups


def _persons_of_keys(client: Any, ws: str, keys: set[str]) -> set[str]:
    if not keys:
        return set()
    found = _rows(
        client,
        f"SELECT DISTINCT person_id FROM touchpoints WHERE workspace = {quote(ws)} "
        f"AND identity_key IN {_in(keys)} AND person_id != '' "
        f"UNION DISTINCT SELECT DISTINCT into_person_id FROM identity_merges "
        f"WHERE workspace = {quote(ws)} AND hasAny(keys_moved, [{', '.join(map(quote, keys))}])",
    )
    contacts = {k[4:] for k in keys if k.startswith("crm:")}
    if contacts:
        found += _rows(
            client,
            f"SELECT DISTINCT person_id FROM crm_events WHERE workspace = {quote(ws)} "
            f"AND contact_id IN {_in(contacts)} AND person_id != ''",
        )
    return {r[0] for r in found}


def _merge_closure(client: Any, ws: str, ids: set[str]) -> set[str]:
    ids = set(ids)
    while ids:
        rows = _rows(
            client,
            f"SELECT from_person_id, into_person_id FROM identity_merges "
            f"WHERE workspace = {quote(ws)} AND (from_person_id IN {_in(ids)} "
            f"OR into_person_id IN {_in(ids)})",
        )
        grown = ids | {r[0] for r in rows} | {r[1] for r in rows}
        if grown == ids:
            break
        ids = grown
    return ids


def _keys_of_persons(client: Any, ws: str, ids: set[str]) -> set[str]:
    if not ids:
        return set()
    rows = _rows(
        client,
        f"SELECT DISTINCT identity_key FROM touchpoints WHERE workspace = {quote(ws)} "
        f"AND person_id IN {_in(ids)} AND identity_key != '' "
        f"UNION DISTINCT SELECT DISTINCT arrayJoin(keys_moved) FROM identity_merges "
        f"WHERE workspace = {quote(ws)} AND (from_person_id IN {_in(ids)} "
        f"OR into_person_id IN {_in(ids)}) "
        f"UNION DISTINCT SELECT DISTINCT concat('crm:', contact_id) FROM crm_events "
        f"WHERE workspace = {quote(ws)} AND person_id IN {_in(ids)} AND contact_id != ''",
    )
    return {r[0] for r in rows}


def _refused_partners(client: Any, ws: str, keys: set[str]) -> set[str]:
    """Keys a guard refused to link with the person's keys: somebody else's."""
    if not keys:
        return set()
    rows = _rows(
        client,
        f"SELECT key_a, key_b FROM identity_refusals WHERE workspace = {quote(ws)} "
        f"AND (key_a IN {_in(keys)} OR key_b IN {_in(keys)})",
    )
    return {b if a in keys else a for a, b in rows} - keys


def _event_condition(table: TableInfo, subject: Subject) -> str:
    parts = []
    cols = table.columns
    if "person_id" in cols and subject.person_ids:
        parts.append(f"person_id IN {_in(subject.person_ids)}")
    if subject.events:
        parts.append(f"event_id IN {_in(subject.events)}")
    if "contact_id" in cols and subject.contacts:
        parts.append(f"contact_id IN {_in(subject.contacts)}")
    if "opportunity_id" in cols and subject.opportunities:
        parts.append(f"opportunity_id IN {_in(subject.opportunities)}")
    if "identity_key" in cols and subject.keys:
        parts.append(f"identity_key IN {_in(subject.keys)}")
    needles = subject.needles()
    for start in range(0, len(needles), NEEDLES_PER_CALL):
        chunk = ", ".join(quote(n) for n in needles[start : start + NEEDLES_PER_CALL])
        parts.append(f"multiSearchAnyCaseInsensitive(payload, [{chunk}])")
    return " OR ".join(parts)


def _scan_events(client: Any, stores: Sequence[TableInfo], subject: Subject) -> None:
    """Add the stored events that belong to the subject, and what they reveal."""
    ws = subject.workspace
    for table in stores:
        condition = _event_condition(table, subject)
        if not condition:
            continue
        person = "person_id" if "person_id" in table.columns else "''"
        rows = _rows(
            client,
            f"SELECT event_id, payload, {person}, source_topic, source_partition, "
            f"source_offset FROM {table.name} WHERE workspace = {quote(ws)} AND ({condition})",
        )
        decoded = dict(decode_batch([r[1].encode() for r in rows])[0])
        for n, (event_id, _payload, person_id, topic, partition, offset) in enumerate(rows):
            event = decoded.get(n)
            if not _belongs(subject, event, person_id, event_id):
                continue
            subject.events.add(event_id)
            subject.lineage[event_id] = (topic, int(partition), int(offset))
            if event is None:
                continue
            if person_id in subject.person_ids or event_id in subject.events:
                for group in _subject_refs(event):
                    if subject.keys.intersection(group):
                        subject.keys.update(group)
            contact_id = getattr(event, "contact_id", None)
            if (
                isinstance(contact_id, str)
                and contact_id
                and (person_id in subject.person_ids or contact_key(contact_id) in subject.keys)
            ):
                subject.contacts.add(contact_id)
            opportunity_id = getattr(event, "opportunity_id", None)
            if (
                isinstance(opportunity_id, str)
                and opportunity_id
                and (isinstance(contact_id, str) and contact_id in subject.contacts)
            ):
                subject.opportunities.add(opportunity_id)


def _belongs(subject: Subject, event: Event | None, person_id: str, event_id: str) -> bool:
    if event_id in subject.events or (person_id and person_id in subject.person_ids):
        return True
    if event is None:
        return False
    if mentioned_keys(event) & subject.keys:
        return True
    contact_id = getattr(event, "contact_id", None)
    if isinstance(contact_id, str) and contact_id in subject.contacts:
        return True
    opportunity_id = getattr(event, "opportunity_id", None)
    return isinstance(opportunity_id, str) and opportunity_id in subject.opportunities


def resolve(
    client: Any,
    workspace: str,
    person: str | None = None,
    key: str | None = None,
    tables: Sequence[TableInfo] | None = None,
) -> Subject:
    """Everything that identifies the person, grown until nothing new turns up."""
    if not workspace:
        raise EraseError("a workspace is required")
    if not person and not key:
        raise EraseError("give --person or --key")
    tables = discover(client) if tables is None else tables
    stores = [t for t in tables if t.is_event_store]
    subject = Subject(workspace)
    if person:
        subject.person_ids.add(person)
    if key:
        subject.keys.add(key)
    ws = workspace
    for _ in range(MAX_ROUNDS):
        before = subject.size()
        subject.person_ids |= _persons_of_keys(client, ws, subject.keys)
        subject.person_ids = _merge_closure(client, ws, subject.person_ids)
        subject.keys |= _keys_of_persons(client, ws, subject.person_ids)
        subject.keys -= _refused_partners(client, ws, subject.keys)
        subject.contacts |= {k[4:] for k in subject.keys if k.startswith("crm:")}
        if subject.person_ids:
            subject.opportunities |= {
                r[0]
                for r in _rows(
                    client,
                    f"SELECT DISTINCT opportunity_id FROM opportunity_chains WHERE workspace = "
                    f"{quote(ws)} AND person_id IN {_in(subject.person_ids)}",
                )
            }
        _scan_events(client, stores, subject)
        subject.keys |= {contact_key(c) for c in subject.contacts}
        if subject.size() == before:
            break
    subject.person_ids.discard("")
    subject.keys.discard("")
    subject.contacts.discard("")
    subject.opportunities.discard("")
    return subject


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
                blank.append((column.name, f"workspace = {quote(ws)} AND {name} IN {_in(wanted)}"))
            else:
                parts.append(f"{name} IN {_in(wanted)}")
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
    return int(_rows(client, f"SELECT count() FROM {table} WHERE {where}")[0][0])


def _command(client: Any, sql: str) -> None:
    client.command(sql, settings=CLIENT_SETTINGS)


def _has_tables(client: Any, names: Iterable[str]) -> bool:
    wanted = set(names)
    rows = _rows(
        client,
        f"SELECT name FROM system.tables WHERE database = currentDatabase() "
        f"AND name IN {_in(wanted)}",
    )
    return {r[0] for r in rows} == wanted


def _rebuild_rollups(client: Any, workspace: str, sources: set[str]) -> list[str]:
    """Recompute, for the workspace, every materialized-view target fed by a table
    that lost rows (a view only sees inserts, never deletes)."""
    views = _rows(
        client,
        "SELECT name, create_table_query, as_select FROM system.tables "
        "WHERE database = currentDatabase() AND engine = 'MaterializedView'",
    )
    database = _rows(client, "SELECT currentDatabase()")[0][0]
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
                for r in _rows(
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
    rows = _rows(
        client,
        "SELECT erasure_id, workspace, erased_at FROM erasures "
        f"WHERE erased_at > toDateTime64({quote(at)}, 3, 'UTC') ORDER BY erased_at, erasure_id",
    )
    return [ErasureNotice(r[0], r[1], _utc(r[2])) for r in rows]


def erased_event_hashes(client: Any, workspace: str) -> set[str]:
    """Keyed hashes of the workspace's erased events: compare with ``event_hash`` to
    drop a redelivered erased event instead of storing it again."""
    rows = _rows(
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
