"""From Kafka records to valid events and dead letters, and events to table rows.

No Kafka client here: records are plain values, so all of it runs in tests
without a broker.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, NamedTuple

import orjson

from schemas.codec import decode_batch
from schemas.events import (
    ContactUpserted,
    CostRecorded,
    Envelope,
    Event,
    Introduction,
    LeadCreated,
    OpportunityCreated,
    PersonRef,
    SocialInteraction,
    plain,
)
from schemas.keys import handle_key, ref_keys
from schemas.privacy import redact_emails
from sinks.tables.ingest import TOUCHPOINTS
from streams.domain.identity import IdentityLimits
from streams.enrich import TouchEvent, channel_of, infer_intent
from streams.routing import partition_for

# The key stored for a touch is the one its person was found by (the domain's
# default placeholders: the limits are not configured per deployment).
_PLACEHOLDERS = IdentityLimits()
TOUCH_TYPES = frozenset(
    {"social_interaction", "introduction", "meeting", "email_exchanged", "help_given"}
)
DEAD_PAYLOAD_LIMIT = 64 * 1024
TOUCH_COLUMNS = tuple(TOUCHPOINTS.column_names())
_touch_values = itemgetter(*TOUCH_COLUMNS)  # a row dict -> its values in column order


class Record(NamedTuple):
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class Valid(NamedTuple):
    record: Record
    event: Event


def peek_fields(value: bytes | None, *fields: str) -> list[str]:
    """Best-effort read of top-level string fields from an invalid message, parsed
    once ("" for each one missing or unreadable)."""
    raw: Any = None
    with contextlib.suppress(orjson.JSONDecodeError):
        raw = orjson.loads(value or b"")
    found = [raw.get(f) if isinstance(raw, dict) else None for f in fields]
    return [v[:128] if isinstance(v, str) else "" for v in found]


def peek_field(value: bytes | None, field: str) -> str:
    return peek_fields(value, field)[0]


def split(
    records: Sequence[Record], *, secret: bytes, max_bytes: int, now: datetime | None = None
) -> tuple[list[Valid], list[tuple[Record, dict[str, Any]]]]:
    """Decode a batch: valid events (emails hashed) and dead letters (record, row)."""
    now = now or datetime.now(UTC)
    payloads = [r.value for r in records]  # a tombstone (None) is dead-lettered as empty
    decoded, failures = decode_batch(payloads, max_bytes=max_bytes, secret=secret)
    valid = [Valid(records[i], event) for i, event in decoded]
    dead = []
    for failure in failures:
        record = records[failure.index]
        readable = len(record.value or b"") <= max_bytes
        dead.append(dead_letter(record, failure.reason, failure.detail, now, readable=readable))
    return valid, dead


def misrouted(
    valid: list[Valid], partitions: int, now: datetime
) -> tuple[list[Valid], list[tuple[Record, dict[str, Any]]]]:
    """Events on another partition than their workspace's are dead letters, not
    events: a workspace's state lives with its partition, so applying one there
    would stitch and chain it apart from the rest (``deadletters replay`` sends
    it where it belongs)."""
    home: dict[str, int] = {}
    kept: list[Valid] = []
    dead: list[tuple[Record, dict[str, Any]]] = []
    for item in valid:
        workspace = item.event.workspace
        expected = home.get(workspace)
        if expected is None:
            expected = home[workspace] = partition_for(workspace, partitions)
        if item.record.partition == expected:
            kept.append(item)
            continue
        detail = (
            f"workspace {workspace!r} belongs on partition {expected} of {partitions}, "
            f"not {item.record.partition}"
        )
        dead.append(dead_letter(item.record, "wrong_partition", detail, now))
    return kept, dead


def dead_letter(
    record: Record, reason: str, detail: str, now: datetime, *, readable: bool = True
) -> tuple[Record, dict[str, Any]]:
    """The dead-letter row of a record (ids read from it unless too large to read)."""
    value = record.value or b""
    event_id, workspace = peek_fields(value, "event_id", "workspace") if readable else ("", "")
    return (
        record,
        {
            "dead_at": now,
            "reason": reason,
            "detail": detail,
            "source_topic": record.topic,
            "source_partition": record.partition,
            "source_offset": record.offset,
            "message_key": (record.key or b"").decode("utf-8", "replace")[:256],
            "event_id": event_id,
            "workspace": workspace,
            "payload_bytes": len(value),
            "payload": redact_emails(value[:DEAD_PAYLOAD_LIMIT]).decode("utf-8", "replace"),
        },
    )


def _other_party(event: TouchEvent) -> tuple[str, str, str]:
    """(platform, identity key, introducer key) of the person a touch is with."""
    if isinstance(event, SocialInteraction):
        key = handle_key(plain(event.platform), event.handle) if event.handle else ""
        return plain(event.platform), key, ""
    person: PersonRef = event.person
    platform = plain(person.platform) if person.platform else ""
    introducer = ""
    if isinstance(event, Introduction):
        introducer = _PLACEHOLDERS.named(ref_keys(event.introducer))
    return platform, _PLACEHOLDERS.named(ref_keys(person)), introducer


def _lineage(record: Record, now: datetime) -> dict[str, Any]:
    return {
        "source_topic": record.topic,
        "source_partition": record.partition,
        "source_offset": record.offset,
        "ingested_at": now,
    }


def _envelope(event: Envelope) -> dict[str, Any]:
    return {
        "workspace": event.workspace,
        "event_id": event.event_id,
        "event_type": event.event_type,  # type: ignore[attr-defined]
        "occurred_at": event.occurred_at,
        "source": event.source,
    }


def stored_payload(item: Valid) -> str:
    """The event as stored. Re-encoding costs more than the rest of ingest, so the
    producer's own bytes are kept when they validated and cannot hold an email
    (no ``@``, no escapes); otherwise the canonical form, emails hashed."""
    value = item.record.value or b""
    if b"@" not in value and b"\\" not in value:
        try:
            return value.decode()
        except UnicodeDecodeError:
            pass
    # The same bytes as ``codec.encode`` (a test pins it) without a dict between.
    return item.event.model_dump_json(exclude_none=True)


def _field(event: Event, name: str) -> Any:
    """An optional field, None where the type has none. ``getattr`` with a default
    goes through pydantic's slow ``__getattr__`` for a missing name."""
    return vars(event).get(name)


def touchpoint_row(item: Valid, person_id: str, account_id: str, now: datetime) -> dict[str, Any]:
    event: TouchEvent = item.event  # type: ignore[assignment]
    platform, key, introducer = _other_party(event)
    intent, inferred = infer_intent(event)
    social = event if isinstance(event, SocialInteraction) else None
    return {
        **_envelope(event),
        "platform": platform,
        "channel": channel_of(event),
        "own_account": social.own_account if social else "",
        "identity_key": key,
        "person_id": person_id,
        "account_id": account_id,
        "direction": _field(event, "direction") or "inbound",
        "action": social.action if social else event.event_type,
        "intent": intent,
        "intent_inferred": inferred,
        "campaign": _field(event, "campaign") or "",
        "content_ref": (social.content_ref or "") if social else "",
        "hashtags": [h.lower().lstrip("#") for h in social.hashtags] if social else [],
        "introducer_key": introducer,
        **_lineage(item.record, now),
        "payload": stored_payload(item),
    }


def social_touch_tuple(
    item: Valid, person_id: str, account_id: str, now: datetime
) -> tuple[Any, ...]:
    """The touchpoints row of a social interaction as a tuple in column order.

    Nine events in ten are social interactions; building their rows without the
    generic path's dicts and lookups is the cheapest part of ingest to win.
    ``touchpoint_row`` stays the reference: a test checks both agree.
    """
    e: SocialInteraction = item.event  # type: ignore[assignment]
    record = item.record
    platform = plain(e.platform)
    intent, inferred = infer_intent(e)
    return (
        e.workspace,
        e.event_id,
        "social_interaction",
        e.occurred_at,
        e.source,
        platform,
        platform,
        e.own_account,
        handle_key(platform, e.handle) if e.handle else "",
        person_id,
        account_id,
        plain(e.direction),
        plain(e.action),
        plain(intent),
        inferred,
        e.campaign or "",
        e.content_ref or "",
        [h.lower().lstrip("#") for h in e.hashtags] if e.hashtags else [],
        "",
        record.topic,
        record.partition,
        record.offset,
        now,
        stored_payload(item),
    )


def crm_row(item: Valid, person_id: str, now: datetime) -> dict[str, Any]:
    event = item.event
    amount = _field(event, "amount")
    platform = _field(event, "platform")
    return {
        **_envelope(event),
        "contact_id": _field(event, "contact_id") or "",
        "account_id": _field(event, "account_id") or "",
        "lead_id": event.lead_id if isinstance(event, LeadCreated) else "",
        "opportunity_id": _field(event, "opportunity_id") or "",
        "kind": event.kind.value if isinstance(event, OpportunityCreated) else "",
        "opportunity_type": (
            event.opportunity_type.value if isinstance(event, OpportunityCreated) else ""
        ),
        "stage": _field(event, "stage") or "",
        "amount": amount,
        "currency": _field(event, "currency") or "",
        "campaign": _field(event, "campaign") or "",
        "platform": platform.value if platform is not None else "",
        "cost_kind": event.cost_kind.value if isinstance(event, CostRecorded) else "",
        "person_id": person_id,
        **_lineage(item.record, now),
        "payload": stored_payload(item),
    }


def event_rows(
    items: Sequence[Valid],
    persons: Mapping[str, tuple[str, str]],
    now: datetime | None = None,
) -> tuple[list[tuple[Any, ...]], list[dict[str, Any]]]:
    """Rows for ``touchpoints`` (tuples in column order) and ``crm_events`` (dicts);
    ``persons`` maps event_id to (person_id, account_id) as stitched when the
    event was applied."""
    now = now or datetime.now(UTC)
    touches: list[tuple[Any, ...]] = []
    crm: list[dict[str, Any]] = []
    for item in items:
        event = item.event
        person_id, account_id = persons.get(event.event_id, ("", ""))
        if type(event) is SocialInteraction:
            touches.append(social_touch_tuple(item, person_id, account_id, now))
        elif event.event_type in TOUCH_TYPES:
            row = touchpoint_row(item, person_id, account_id, now)
            touches.append(_touch_values(row))
        else:
            row = crm_row(item, person_id, now)
            if isinstance(event, ContactUpserted) and not row["account_id"]:
                row["account_id"] = account_id
            crm.append(row)
    return touches, crm
