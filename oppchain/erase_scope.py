"""Who is to be erased, and where their data lies.

Resolves an erasure request (a person id or any identity key) to every person id,
identity key, contact and event of that person, following merges, and discovers
the tables and columns that can hold them from ``system.columns``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
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


def sql_in(values: Iterable[str]) -> str:
    return "(" + ", ".join(quote(v) for v in sorted(values)) + ")"


def query_rows(client: Any, sql: str) -> list[tuple[Any, ...]]:
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
    found = query_rows(
        client,
        f"SELECT DISTINCT person_id FROM touchpoints WHERE workspace = {quote(ws)} "
        f"AND identity_key IN {sql_in(keys)} AND person_id != '' "
        f"UNION DISTINCT SELECT DISTINCT into_person_id FROM identity_merges "
        f"WHERE workspace = {quote(ws)} AND hasAny(keys_moved, [{', '.join(map(quote, keys))}])",
    )
    contacts = {k[4:] for k in keys if k.startswith("crm:")}
    if contacts:
        found += query_rows(
            client,
            f"SELECT DISTINCT person_id FROM crm_events WHERE workspace = {quote(ws)} "
            f"AND contact_id IN {sql_in(contacts)} AND person_id != ''",
        )
    return {r[0] for r in found}


def _merge_closure(client: Any, ws: str, ids: set[str]) -> set[str]:
    ids = set(ids)
    while ids:
        rows = query_rows(
            client,
            f"SELECT from_person_id, into_person_id FROM identity_merges "
            f"WHERE workspace = {quote(ws)} AND (from_person_id IN {sql_in(ids)} "
            f"OR into_person_id IN {sql_in(ids)})",
        )
        grown = ids | {r[0] for r in rows} | {r[1] for r in rows}
        if grown == ids:
            break
        ids = grown
    return ids


def _keys_of_persons(client: Any, ws: str, ids: set[str]) -> set[str]:
    if not ids:
        return set()
    rows = query_rows(
        client,
        f"SELECT DISTINCT identity_key FROM touchpoints WHERE workspace = {quote(ws)} "
        f"AND person_id IN {sql_in(ids)} AND identity_key != '' "
        f"UNION DISTINCT SELECT DISTINCT arrayJoin(keys_moved) FROM identity_merges "
        f"WHERE workspace = {quote(ws)} AND (from_person_id IN {sql_in(ids)} "
        f"OR into_person_id IN {sql_in(ids)}) "
        f"UNION DISTINCT SELECT DISTINCT concat('crm:', contact_id) FROM crm_events "
        f"WHERE workspace = {quote(ws)} AND person_id IN {sql_in(ids)} AND contact_id != ''",
    )
    return {r[0] for r in rows}


def _refused_partners(client: Any, ws: str, keys: set[str]) -> set[str]:
    """Keys a guard refused to link with the person's keys: somebody else's."""
    if not keys:
        return set()
    rows = query_rows(
        client,
        f"SELECT key_a, key_b FROM identity_refusals WHERE workspace = {quote(ws)} "
        f"AND (key_a IN {sql_in(keys)} OR key_b IN {sql_in(keys)})",
    )
    return {b if a in keys else a for a, b in rows} - keys


def _event_condition(table: TableInfo, subject: Subject) -> str:
    parts = []
    cols = table.columns
    if "person_id" in cols and subject.person_ids:
        parts.append(f"person_id IN {sql_in(subject.person_ids)}")
    if subject.events:
        parts.append(f"event_id IN {sql_in(subject.events)}")
    if "contact_id" in cols and subject.contacts:
        parts.append(f"contact_id IN {sql_in(subject.contacts)}")
    if "opportunity_id" in cols and subject.opportunities:
        parts.append(f"opportunity_id IN {sql_in(subject.opportunities)}")
    if "identity_key" in cols and subject.keys:
        parts.append(f"identity_key IN {sql_in(subject.keys)}")
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
        rows = query_rows(
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
                for r in query_rows(
                    client,
                    f"SELECT DISTINCT opportunity_id FROM opportunity_chains WHERE workspace = "
                    f"{quote(ws)} AND person_id IN {sql_in(subject.person_ids)}",
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
