"""Erasure never follows a link the identity guard refused: a key that a contact lists
but that was refused to its person (limit per type, or a placeholder value) is somebody
else's, and erasing the contact's person must leave that somebody else alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from oppchain.erase import erase, resolve
from oppchain.settings import Settings
from schemas.codec import encode
from schemas.events import (
    Action,
    ContactUpserted,
    Direction,
    Envelope,
    LeadCreated,
    Platform,
    SocialHandle,
    SocialInteraction,
)
from sinks.spec import quote
from sinks.tables.privacy import TABLES as PRIVACY_TABLES
from sinks.writer import ClickHouseSink
from streams.ingest import Record
from streams.processor import Processor

pytestmark = pytest.mark.integration

WS = "acme"
T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def _env(n: int, name: str) -> dict[str, Any]:
    return {
        "event_id": f"ev-{name}-{n}",
        "occurred_at": T0 + timedelta(hours=n),
        "source": "test",
        "workspace": WS,
    }


def _touch(n: int, handle: str) -> SocialInteraction:
    return SocialInteraction(
        **_env(n, handle),
        platform=Platform.x,
        own_account="acme",
        handle=handle,
        direction=Direction.inbound,
        action=Action.reply,
    )


def _world(other: str) -> list[Envelope]:
    """Alice is contact c1; her record also lists ``other``, which the guard refuses:
    with three X handles already she may not hold a fourth, and a placeholder value
    never links at all. ``other`` is a separate person (Bob, contact c2) with touches
    and a lead of his own."""
    listed = ("alice1", "alice2", "alice3", other)
    events: list[Envelope] = [_touch(1, "alice1"), _touch(2, other), _touch(3, other)]
    events.append(
        ContactUpserted(
            **_env(4, "c1"),
            contact_id="c1",
            handles=tuple(SocialHandle(platform=Platform.x, handle=h) for h in listed),
        )
    )
    events.append(
        ContactUpserted(
            **_env(5, "c2"),
            contact_id="c2",
            handles=(SocialHandle(platform=Platform.x, handle=other),),
        )
    )
    events += [
        LeadCreated(**_env(6, "lead-c1"), lead_id="l1", contact_id="c1"),
        LeadCreated(**_env(7, "lead-c2"), lead_id="l2", contact_id="c2"),
        _touch(8, "alice2"),
        _touch(9, other),
    ]
    return events


def _load(settings: Settings, client: Any, events: list[Envelope]) -> None:
    records = [Record("oppchain.social", 0, i, None, encode(e)) for i, e in enumerate(events)]
    result = Processor(settings).process(records)
    assert result.valid == len(events) and not result.dead
    ClickHouseSink(lambda: client).write(result.rows)
    for table in PRIVACY_TABLES:
        client.command(table.create_sql())


def _rows(client: Any, table: str, condition: str) -> set[tuple[Any, ...]]:
    return set(
        client.query(
            f"SELECT event_id, person_id FROM {table} WHERE workspace = {quote(WS)} "
            f"AND ({condition})"
        ).result_rows
    )


@pytest.mark.parametrize(
    ("other", "rule"),
    [("bob", "max_keys:x"), ("0000", "blocked_value")],
    ids=["limit", "placeholder"],
)
def test_erasing_a_contact_leaves_the_person_of_a_refused_handle(
    settings: Settings, clickhouse: Any, other: str, rule: str
) -> None:
    client = clickhouse
    _load(settings, client, _world(other))
    other_key = f"x:{other}"
    refusals = client.query(
        "SELECT key_a, key_b, rule FROM identity_refusals WHERE event_id = 'ev-c1-4'"
    ).result_rows
    assert [r[2] for r in refusals] == [rule]
    assert other_key in refusals[0][:2]

    (alice,) = {p for (_, p) in _rows(client, "crm_events", "contact_id = 'c1'")}
    bob_touches = _rows(client, "touchpoints", f"identity_key = {quote(other_key)}")
    bob_crm = _rows(client, "crm_events", "contact_id = 'c2'")
    assert len(bob_touches) == 3 and len(bob_crm) == 2
    # (a placeholder never links, so there his touches and his contact are two persons)
    bob = {p for _, p in bob_touches | bob_crm}
    assert alice not in bob

    subject = resolve(client, WS, alice)
    assert not bob & subject.person_ids
    assert other_key not in subject.keys and "crm:c2" not in subject.keys
    assert "ev-c1-4" in subject.events  # Alice's own record goes, although it names Bob

    report = erase(client, settings.secret_bytes(), WS, alice)
    assert report.complete, report.rows_remaining
    # Alice is gone ...
    assert _rows(client, "crm_events", "contact_id = 'c1'") == set()
    assert _rows(client, "touchpoints", "identity_key LIKE 'x:alice%'") == set()
    # ... and every row of the other person is still there.
    assert _rows(client, "touchpoints", f"identity_key = {quote(other_key)}") == bob_touches
    assert _rows(client, "crm_events", "contact_id = 'c2'") == bob_crm
    assert report.rows_removed.get("touchpoints") == 2
    assert report.rows_removed.get("crm_events") == 2


def test_erasing_by_a_refused_handle_leaves_the_contact_that_lists_it(
    settings: Settings, clickhouse: Any
) -> None:
    """The other way round: erasing Bob removes Alice's record that names him (it is
    personal data of both) but follows none of Alice's keys to her person."""
    client = clickhouse
    _load(settings, client, _world("bob"))
    (alice,) = {p for (_, p) in _rows(client, "crm_events", "contact_id = 'c1'")}
    alice_touches = _rows(client, "touchpoints", "identity_key LIKE 'x:alice%'")
    assert len(alice_touches) == 2

    subject = resolve(client, WS, key="x:bob")
    assert alice not in subject.person_ids
    assert not {k for k in subject.keys if k.startswith("x:alice") or k == "crm:c1"}

    report = erase(client, settings.secret_bytes(), WS, key="x:bob")
    assert report.complete, report.rows_remaining
    assert _rows(client, "touchpoints", "identity_key = 'x:bob'") == set()
    assert _rows(client, "touchpoints", "identity_key LIKE 'x:alice%'") == alice_touches
    assert _rows(client, "crm_events", "event_id = 'ev-lead-c1-6'") != set()
