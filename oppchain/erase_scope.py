"""Who is to be erased: resolves an erasure request (a person id or any identity key)
to every person id, identity key, contact, opportunity and event of that person,
following merges, until nothing new turns up."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from oppchain.erase_catalog import TableInfo, column_role, discover
from oppchain.erase_links import (
    keys_of_persons,
    merge_closure,
    opportunities_of_persons,
    persons_of_keys,
    refused_in_events,
)
from oppchain.erase_mentions import mentioned_keys, payload_keys, subject_refs
from oppchain.erase_sql import NEEDLES_PER_CALL, query_rows, sql_in
from schemas.codec import decode_batch
from schemas.events import Event
from schemas.keys import contact_key, normalized_key
from sinks.spec import quote

MAX_ROUNDS = 8


class EraseError(ValueError):
    """The request cannot be carried out; nothing was changed."""


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
    # the same, of the other rows with a Kafka position that go (dead letters,
    # dropped duplicates), so that reconciliation still accounts for those messages
    other_positions: set[tuple[str, str, int, int]] = field(default_factory=set)
    # per table of stored messages (dead letters): positions of those naming a key
    mentions: dict[str, set[tuple[str, int, int]]] = field(default_factory=dict)

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

    def event_needles(self) -> list[str]:
        """``needles`` and a handle's value with a space beside it (``"ann "``): for
        the event stores, searched in any case (``"ÉLISE"``); decoding decides."""
        out = set(self.needles())
        for key in self.keys:
            kind, _, value = key.partition(":")
            if value and kind not in ("crm", "email"):
                out |= {f'"{value} ', f'"@{value} ', f'" {value}', f'" @{value}'}
        return sorted(out)


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
    needles = subject.event_needles()
    for start in range(0, len(needles), NEEDLES_PER_CALL):
        chunk = ", ".join(quote(n) for n in needles[start : start + NEEDLES_PER_CALL])
        parts.append(f"multiSearchAnyCaseInsensitiveUTF8(payload, [{chunk}])")
    return " OR ".join(parts)


MESSAGE_POSITION = ("source_topic", "source_partition", "source_offset")


def find_mentions(client: Any, tables: Sequence[TableInfo], subject: Subject) -> None:
    """Stored messages that name one of the subject's keys, by where they came from.

    The text search only finds candidates: ``"bob"`` is also somebody's campaign,
    or ``linkedin:bob`` when ``x:bob`` is erased. A candidate that reads as a JSON
    object goes when a key it names is the subject's; one that does not (cut,
    malformed) goes on the text match alone, as nothing else can tell.
    """
    needles = subject.needles()
    for table in tables:
        has_payload = any(column_role(c) == "payload" for c in table.columns.values())
        if table.is_event_store or not has_payload:
            continue
        if not set(MESSAGE_POSITION) <= set(table.columns) or not needles:
            continue
        found: set[tuple[str, int, int]] = set()
        for start in range(0, len(needles), NEEDLES_PER_CALL):
            chunk = ", ".join(quote(n) for n in needles[start : start + NEEDLES_PER_CALL])
            rows = query_rows(
                client,
                f"SELECT {', '.join(MESSAGE_POSITION)}, payload FROM {table.name} "
                f"WHERE workspace IN ({quote(subject.workspace)}, '') "
                f"AND multiSearchAnyCaseInsensitiveUTF8(payload, [{chunk}])",
            )
            for topic, partition, offset, payload in rows:
                named = payload_keys(payload)
                if named is None or named & subject.keys:
                    found.add((topic, int(partition), int(offset)))
        subject.mentions[table.name] = found


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
        linking = {
            rows[n][0]
            for n, event in decoded.items()
            if any(len(g) > 1 for g in subject_refs(event))
        }
        refused = refused_in_events(client, ws, linking)
        for n, (event_id, _payload, person_id, topic, partition, offset) in enumerate(rows):
            event = decoded.get(n)
            if not _belongs(subject, event, person_id, event_id):
                continue
            subject.events.add(event_id)
            subject.lineage[event_id] = (topic, int(partition), int(offset))
            if event is not None:
                _learn(subject, event, person_id, refused.get(event_id, set()))


def _learn(subject: Subject, event: Event, person_id: str, refused: set[str]) -> None:
    """What one of the subject's events reveals: the other keys its reference to the
    subject names, their contact, their opportunity. A key the identity guard refused to
    link (``refused``: a placeholder, or one that broke a limit) is somebody else's and is
    never followed, though the event lists it next to the subject's keys."""
    for group in subject_refs(event):
        linked = set(group) - refused
        if subject.keys & linked:
            subject.keys |= linked
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
        subject.keys.add(normalized_key(key))
    ws = workspace
    for _ in range(MAX_ROUNDS):
        before = subject.size()
        subject.person_ids |= persons_of_keys(client, ws, subject.keys)
        subject.person_ids = merge_closure(client, ws, subject.person_ids)
        subject.keys |= keys_of_persons(client, ws, subject.person_ids)
        subject.contacts |= {k[4:] for k in subject.keys if k.startswith("crm:")}
        subject.opportunities |= opportunities_of_persons(client, ws, subject.person_ids)
        _scan_events(client, stores, subject)
        subject.keys |= {contact_key(c) for c in subject.contacts}
        if subject.size() == before:
            break
    subject.person_ids.discard("")
    subject.keys.discard("")
    subject.contacts.discard("")
    subject.opportunities.discard("")
    find_mentions(client, tables, subject)
    return subject
