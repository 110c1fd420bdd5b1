"""Event builders for the domain tests: one workspace "w", times in days after T0."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.events import EVENT_ADAPTER, Envelope
from streams.domain.outputs import Outputs

T0 = datetime(2024, 1, 1, tzinfo=UTC)
_ids = itertools.count()


def ev(event_type: str, day: float, event_id: str | None = None, **fields: Any) -> Envelope:
    raw = {
        "event_type": event_type,
        "event_id": event_id or f"e{next(_ids)}",
        "occurred_at": T0 + timedelta(days=day),
        "source": "test",
        "workspace": "w",
        **fields,
    }
    event: Envelope = EVENT_ADAPTER.validate_python(raw)
    return event


def like(day: float, handle: str, event_id: str | None = None) -> Envelope:
    return ev(
        "social_interaction",
        day,
        event_id,
        platform="x",
        own_account="us",
        handle=handle,
        direction="inbound",
        action="like",
    )


def created(day: float, oid: str, contact: str, account: str | None = None) -> Envelope:
    return ev(
        "opportunity_created",
        day,
        f"{oid}-created",
        opportunity_id=oid,
        contact_id=contact,
        account_id=account,
        kind="monetary",
        opportunity_type="deal",
        amount=1000.0,
    )


def signed(day: float, oid: str) -> Envelope:
    return ev("contract_signed", day, f"{oid}-won", opportunity_id=oid, amount=1200.0)


def story() -> list[Envelope]:
    return [
        ev(
            "contact_upserted",
            0,
            "c1",
            contact_id="C1",
            account_id="A",
            handles=[{"platform": "x", "handle": "alice"}],
        ),
        like(1, "alice", "t1"),
        ev("meeting", 3, "t2", person={"contact_id": "C1"}, meeting_kind="call"),
        ev("lead_created", 4, "l1", lead_id="L1", contact_id="C1"),
        created(5, "O1", "C1", "A"),
        ev("opportunity_stage_changed", 6, "s1", opportunity_id="O1", stage="proposal"),
        signed(10, "O1"),
    ]


def versions(out: Outputs) -> list[int]:
    return [r["version"] for r in out.opportunity_chains]
