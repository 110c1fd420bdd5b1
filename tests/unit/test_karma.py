"""Karma ledger: gives and asks, the returns that followed and the lag."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.events import (
    ContactUpserted,
    HelpGiven,
    Introduction,
    OpportunityCreated,
    SocialInteraction,
)
from streams.domain.state import WorkspaceState

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def env(day: float, eid: str) -> dict[str, Any]:
    return {
        "event_id": eid,
        "occurred_at": T0 + timedelta(days=day),
        "source": "t",
        "workspace": "w",
    }


def si(day: float, handle: str, action: str, direction: str, **kw: Any) -> SocialInteraction:
    return SocialInteraction(
        **env(day, f"{handle}-{day}-{action}-{direction}"),
        platform="x",
        own_account="us",
        handle=handle,
        direction=direction,
        action=action,
        **kw,
    )


def test_gives_and_asks_with_returns_and_lag() -> None:
    state = WorkspaceState("w")
    out = state.apply(
        [
            si(0, "ann", "recommend", "outbound"),  # inferred give
            si(1, "ann", "dm", "outbound", campaign="c1"),  # inferred ask (pitch)
            si(2, "ann", "like", "outbound"),  # neutral: not in the ledger
            HelpGiven(
                **env(3, "help"),
                person={"platform": "x", "handle": "ann"},
                direction="outbound",
                help_kind="advice",
            ),
        ]
    )
    rows = {r["act_event_id"]: r for r in out.karma_ledger}
    assert {(r["intent"], r["action"], r["intent_inferred"]) for r in rows.values()} == {
        ("give", "recommend", True),
        ("ask", "dm", True),
        ("give", "help_given", True),
    }
    assert all(
        r["opportunities_after"] == 0 and r["first_return_at"] is None for r in rows.values()
    )
    out = state.apply(
        [
            ContactUpserted(
                **env(4, "c"), contact_id="C", handles=({"platform": "x", "handle": "ann"},)
            ),
            si(10, "ann", "recommend", "inbound"),
            Introduction(
                **env(20, "intro"),
                introducer={"platform": "x", "handle": "ann"},
                person={"platform": "x", "handle": "bob"},
            ),
            OpportunityCreated(
                **env(30, "o"),
                opportunity_id="O",
                contact_id="C",
                kind="social",
                opportunity_type="collaboration",
                amount=500.0,
            ),
        ]
    )
    rows = {r["act_event_id"]: r for r in out.karma_ledger}
    give = rows["ann-0-recommend-outbound"]
    assert give["opportunities_after"] == 1 and give["opportunity_value_after"] == 500.0
    assert give["opportunity_kinds"] == ["social"] and give["days_to_opportunity"] == 30.0
    assert give["introductions_after"] == 1 and give["recommendations_after"] == 1
    assert give["first_return_kind"] == "recommendation" and give["days_to_first_return"] == 10.0
    assert rows["help"]["days_to_opportunity"] == 27.0
    assert state.apply([si(10, "ann", "recommend", "inbound")]).karma_ledger == []


def _deal(day: float, eid: str, currency: str, amount: float) -> OpportunityCreated:
    return OpportunityCreated(
        **env(day, eid),
        opportunity_id=eid,
        contact_id="C",
        kind="monetary",
        opportunity_type="deal",
        amount=amount,
        currency=currency,
    )


def test_opportunity_values_are_kept_per_currency() -> None:
    """A give followed by deals in two currencies: no one sum of them (NaN), but
    each currency's; a give followed by one currency keeps its sum."""
    state = WorkspaceState("w")
    contact = ContactUpserted(
        **env(0, "c"), contact_id="C", handles=({"platform": "x", "handle": "ann"},)
    )
    out = state.apply(
        [
            contact,
            si(1, "ann", "recommend", "outbound"),
            _deal(2, "o1", "USD", 1000.0),
            _deal(3, "o2", "EUR", 300.0),
            _deal(4, "o3", "EUR", 200.0),
        ]
    )
    [give] = out.karma_ledger
    assert give["opportunities_after"] == 3
    assert give["opportunity_currencies"] == ["EUR", "USD"]
    assert give["opportunity_values"] == [500.0, 1000.0]
    assert math.isnan(give["opportunity_value_after"])
    [later] = state.apply([si(3.5, "ann", "recommend", "outbound")]).karma_ledger
    assert (later["opportunity_currencies"], later["opportunity_values"]) == (["EUR"], [200.0])
    assert later["opportunity_value_after"] == 200.0


def test_a_membership_of_another_account_rewrites_the_karma_it_counts() -> None:
    """C (ann) is at account B; a lead record says C was at account A, where D's deal
    came after ann's recommendation. Ann's karma counts A's deals: the last row
    says so whether the lead arrives with the rest or in a later batch."""
    from schemas.events import ContactUpserted, LeadCreated, OpportunityCreated

    handles = ({"platform": "x", "handle": "ann"},)
    contact = ContactUpserted(**env(10, "cB"), contact_id="C", account_id="B", handles=handles)
    give = si(1, "ann", "recommend", "outbound")
    deal = OpportunityCreated(
        **env(5, "oA"), opportunity_id="oA", contact_id="D", account_id="A",
        kind="monetary", opportunity_type="deal", amount=700.0,
    )  # fmt: skip
    lead = LeadCreated(**env(2, "lead"), lead_id="L", contact_id="C", account_id="A")
    for batches in ([[contact, give, deal, lead]], [[contact, give, deal], [lead]]):
        state = WorkspaceState("w")
        last: dict[str, Any] = {}
        for batch in batches:
            last |= {r["act_event_id"]: r for r in state.apply(batch).karma_ledger}
        [row] = last.values()
        assert (row["opportunities_after"], row["opportunity_value_after"]) == (1, 700.0)
