"""Touches, journeys and opportunity chains, without state or runtime."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest

from schemas.events import Envelope
from streams.domain.chains import Opportunity, chain_row, lead_before, select_chain_touches
from streams.domain.identity import IdentityGraph
from streams.domain.journeys import Journeys, merge_touches
from streams.domain.touches import Touch, touch_from_event, touch_subject_keys
from tests.unit.domain_events import T0, ev

DAY = 86400
BASE = int(T0.timestamp())


def social(day: float, action: str = "like", handle: str | None = "alice", **kw: Any) -> Envelope:
    return ev(
        "social_interaction",
        day,
        platform="x",
        own_account="us",
        handle=handle,
        direction=kw.pop("direction", "inbound"),
        action=action,
        **kw,
    )


def touch(day: float, event_id: str, channel: str = "x") -> Touch:
    return Touch(BASE + int(day * DAY), event_id, channel, None, "like", "inbound", None, None)


# -- touches -----------------------------------------------------------------


def test_which_events_are_touches() -> None:
    g = IdentityGraph("w")
    assert touch_from_event(social(0, "post", handle=None), g) is None
    assert touch_from_event(social(0, "unfollow"), g) is None
    assert touch_from_event(ev("account_upserted", 0, account_id="A", name="Acme"), g) is None
    for action in ("follow", "like", "share", "mention", "reply", "dm", "recommend"):
        for direction in ("inbound", "outbound"):
            t = touch_from_event(social(1, action, direction=direction, campaign="ff"), g)
            assert t is not None
            assert (t.channel, t.action, t.direction, t.campaign) == ("x", action, direction, "ff")
            assert t.at == BASE + DAY
    person = {"contact_id": "C1"}
    cases = {
        "offline": ev("meeting", 0, person=person, meeting_kind="call"),
        "email": ev("email_exchanged", 0, person=person, direction="outbound", intent="ask"),
        "direct": ev("help_given", 0, person=person, direction="outbound", help_kind="advice"),
    }
    for channel, event in cases.items():
        t = touch_from_event(event, g)
        assert t is not None and t.channel == channel and t.introducer is None
        assert touch_subject_keys(event) == ["crm:C1"]
    email = touch_from_event(cases["email"], g)
    assert email is not None and email.intent == "ask"
    intro = ev(
        "introduction", 0, introducer={"platform": "linkedin", "handle": "bob"}, person=person
    )
    t = touch_from_event(intro, g)
    assert t is not None and t.channel == "referral" and t.action == "introduction"
    assert t.introducer == g.person_of("linkedin:bob")
    assert touch_subject_keys(intro) == ["crm:C1"]


def test_touch_is_small() -> None:
    import sys

    t = touch(1, "e")
    assert sys.getsizeof(t) + sys.getsizeof(t.at) < 200


# -- journeys ------------------------------------------------------------------


def test_journey_sorted_deduplicated_and_capped() -> None:
    j = Journeys(max_steps=3)
    assert [t.event_id for t in j.add("p", [touch(5, "c"), touch(1, "a")])] == ["c", "a"]
    assert j.add("p", [touch(1, "a")]) == []
    j.add("p", [touch(3, "b"), touch(7, "d")])
    assert [t.event_id for t in j.get("p")] == ["b", "c", "d"]
    assert j.add("p", [touch(1, "a")]) == []  # pushed out by the cap, still known
    assert j.count_until("p", BASE + 4 * DAY) == 2  # a and b, a only as a trace
    assert j.count_until("p", BASE + 100 * DAY) == 4


def test_journeys_merge_is_a_sorted_union() -> None:
    j = Journeys(max_steps=10)
    j.add("p1", [touch(1, "a"), touch(4, "d")])
    j.add("p2", [touch(2, "b"), touch(4, "d")])
    j.merge("p2", "p1")
    assert [t.event_id for t in j.get("p1")] == ["a", "b", "d"]
    assert j.get("p2") == () and list(j) == ["p1"]
    kept, overflow = merge_touches([touch(1, "a")], [touch(2, "b"), touch(0, "z")], 2)
    assert [t.event_id for t in kept] == ["a", "b"] and [t.event_id for t in overflow] == ["z"]


# -- opportunities -------------------------------------------------------------


def opp_events() -> list[Envelope]:
    return [
        ev(
            "opportunity_created",
            10,
            "oc",
            opportunity_id="O",
            contact_id="C1",
            account_id="A",
            kind="monetary",
            opportunity_type="deal",
            amount=100.0,
        ),
        ev("opportunity_stage_changed", 12, "s1", opportunity_id="O", stage="proposal"),
        ev("opportunity_stage_changed", 14, "s2", opportunity_id="O", stage="negotiation"),
        ev("contract_signed", 20, "cw", opportunity_id="O", amount=150.0, currency="EUR"),
    ]


def test_opportunity_fold_ignores_order_and_duplicates() -> None:
    results = []
    for order in itertools.permutations(opp_events()):
        opp = Opportunity("O")
        for event in (*order, *order):
            opp.apply(event)
        results.append(
            (opp.status, opp.stage_name, opp.value, opp.value_currency, opp.closed_at, opp.end)
        )
    assert len(set(results)) == 1
    assert results[0] == ("won", "closed_won", 150.0, "EUR", BASE + 20 * DAY, BASE + 20 * DAY)


def test_open_opportunity_ends_at_latest_milestone() -> None:
    opp = Opportunity("O")
    for event in opp_events()[:3]:
        opp.apply(event)
    assert (opp.status, opp.stage_name, opp.end, opp.value) == (
        "open",
        "negotiation",
        BASE + 14 * DAY,
        100.0,
    )
    lost = Opportunity("L")
    lost.apply(ev("opportunity_lost", 3, opportunity_id="L"))
    assert (lost.status, lost.stage_name, lost.created) == ("lost", "closed_lost", None)


def test_lead_is_the_latest_at_or_before_creation() -> None:
    assert lead_before([5, 1, 9, 12], 10) == (9, 3)
    assert lead_before([11], 10) == (None, 0)
    assert lead_before([1], None) == (None, 0)


def test_chain_window_and_cap_keep_the_newest() -> None:
    touches = [touch(d, f"t{d}") for d in (0, 5, 10, 15, 20, 25)]
    end = BASE + 20 * DAY
    assert [t.event_id for t in select_chain_touches(touches, end, 12, 200)] == [
        "t10",
        "t15",
        "t20",
    ]
    assert [t.event_id for t in select_chain_touches(touches, end, 730, 2)] == ["t15", "t20"]


def test_chain_row_fields() -> None:
    opp = Opportunity("O")
    for event in opp_events():
        opp.apply(event)
    intro = Touch(BASE + 2 * DAY, "i", "referral", None, "introduction", None, None, "p_old")
    touches = [touch(1, "a"), intro, touch(3, "b", "email")]
    row = chain_row(
        "w",
        opp,
        person_id="p_1",
        lead_created_at=BASE + 5 * DAY,
        touches=touches,
        version=7,
        resolve=lambda p: "p_new" if p == "p_old" else p,
    )
    assert row["path"] == ["x", "referral", "email"] and row["touch_count"] == 3
    assert row["days_to_close"] == pytest.approx(19.0)
    assert row["first_touch_at"] == T0 + timedelta(days=1)
    assert row["lead_created_at"] == T0 + timedelta(days=5)
    assert row["opportunity_created_at"] == T0 + timedelta(days=10)
    assert row["closed_at"] == T0 + timedelta(days=20)
    assert row["introducer_person_id"] == "p_new"
    assert (row["status"], row["value"], row["currency"], row["version"]) == (
        "won",
        150.0,
        "EUR",
        7,
    )
    empty = chain_row(
        "w", opp, person_id="p", lead_created_at=None, touches=[], version=1, resolve=str
    )
    assert empty["first_touch_at"] is None and empty["days_to_close"] is None
