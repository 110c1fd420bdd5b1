"""The last relationship and karma rows written do not depend on where batches end."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.events import Envelope
from streams.domain.state import WorkspaceState
from tests.unit.domain_events import ev


def _contact(day: float, eid: str, account: str | None) -> Envelope:
    return ev(
        "contact_upserted",
        day,
        eid,
        contact_id="C1",
        account_id=account,
        handles=[{"platform": "x", "handle": "a"}],
    )


def _share(day: float, eid: str) -> Envelope:
    return ev(
        "social_interaction",
        day,
        eid,
        platform="x",
        own_account="us",
        handle="a",
        direction="outbound",
        action="share",
    )


def _created(day: float, eid: str, contact: str, account: str | None = None) -> Envelope:
    deal = {"kind": "monetary", "opportunity_type": "deal", "amount": 1000.0}
    return ev(
        "opportunity_created", day, eid, opportunity_id="O1", contact_id=contact,
        account_id=account, **deal,
    )  # fmt: skip


def _last_rows(events: list[Envelope], batches: list[int]) -> dict[str, dict[str, Any]]:
    state = WorkspaceState("w")
    last: dict[str, dict[str, Any]] = {}
    start = 0
    for size in batches:
        out = state.apply(events[start : start + size])
        start += size
        for row in out.relationships:
            last[f"relationship:{row['person_id']}"] = row
        for row in out.karma_ledger:
            last[f"karma:{row['act_event_id']}"] = row
    return {k: {f: v for f, v in r.items() if f != "as_of"} for k, r in last.items()}


@pytest.mark.parametrize("batches", [[4], [1, 1, 1, 1], [2, 2], [3, 1]])
def test_an_account_joined_without_a_new_touch_reaches_the_rows(batches: list[int]) -> None:
    """a joins account A after their last touch; an opportunity of A follows."""
    events = [
        _contact(0, "c1", None),
        _share(1, "act1"),
        _created(5, "o1", "C2", "A"),
        _contact(2, "c1A", "A"),
    ]
    rows = _last_rows(events, batches)
    [relationship] = [
        r for k, r in rows.items() if k.startswith("relationship:") and not r["merged_into"]
    ]
    assert relationship["account_id"] == "A"
    karma = rows["karma:act1"]
    assert (karma["opportunities_after"], karma["opportunity_value_after"]) == (1, 1000.0)


@pytest.mark.parametrize("batches", [[5], [3, 1, 1], [1, 1, 1, 1, 1]])
def test_an_opportunity_named_again_by_another_contact_still_counts_where_it_was(
    batches: list[int],
) -> None:
    """O1 was created for C1 (a), then for C2: a's karma still counts it, and its
    signing at 5,000 reaches a's row whatever the batches."""
    events = [
        _contact(0, "c1", None),
        _share(1, "act1"),
        _created(2, "o1a", "C1"),
        _created(3, "o1b", "C2"),
        ev("contract_signed", 4, "won", opportunity_id="O1", amount=5000.0),
    ]
    karma = _last_rows(events, batches)["karma:act1"]
    assert (karma["opportunities_after"], karma["opportunity_value_after"]) == (1, 5000.0)
