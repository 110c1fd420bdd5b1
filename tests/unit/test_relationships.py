"""Relationship strength: components, flags and updates once per person per batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from schemas.events import EVENT_ADAPTER, Meeting, SocialInteraction
from streams.domain.relationships import WEIGHTS, strength
from streams.domain.state import WorkspaceState
from streams.domain.touches import Touch

DAY = 86400
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def touch(day: float, channel: str, action: str, direction: str | None, **kw: Any) -> Touch:
    return Touch(
        int(T0.timestamp() + day * DAY),
        f"t{day}{action}",
        channel,
        kw.get("campaign"),
        action,
        direction,
        kw.get("intent"),
        None,
    )


def test_weights_sum_to_one() -> None:
    assert sum(WEIGHTS.values()) == pytest.approx(1.0)


def test_deep_relationship_scores_high_and_a_stranger_low() -> None:
    deep = [
        touch(d, ch, a, di)
        for d, (ch, a, di) in enumerate(
            [("x", "reply", "inbound"), ("x", "reply", "outbound"), ("linkedin", "dm", "inbound")]
            * 20
        )
    ]
    deep += [touch(61, "offline", "meeting", None), touch(700, "offline", "meeting", None)]
    as_of = deep[-1].at
    high = strength(deep, len(deep), as_of)
    low = strength([touch(0, "x", "like", "inbound")], 1, as_of)
    assert high["score"] > 60 > 10 > low["score"]
    assert (
        high["reciprocity"] == pytest.approx(22 / 42, abs=1e-4) and high["channel_breadth"] == 1.0
    )
    assert high["offline"] == pytest.approx(2 / 3, abs=1e-4)
    assert high["tenure"] == pytest.approx(700 / 730, abs=1e-4)
    assert low["reciprocity"] == 0.0 and low["recency"] < 0.01


def test_ask_only_flag() -> None:
    asks = [touch(d, "x", "dm", "outbound", campaign="c") for d in range(3)]
    asks.append(touch(4, "x", "like", "inbound"))
    parts = strength(asks, 4, asks[-1].at)
    assert parts["ask_only"] and "ask_only" in parts["flags"]
    gives = [touch(d, "x", "share", "outbound") for d in range(3)] + asks
    assert not strength(sorted(gives), 7, asks[-1].at)["ask_only"]


def si(
    day: float, handle: str, action: str, direction: str, platform: str = "x"
) -> SocialInteraction:
    return SocialInteraction(
        event_id=f"{platform}{handle}{day}{action}",
        occurred_at=T0 + timedelta(days=day),
        source="t",
        workspace="w",
        platform=platform,
        own_account="us",
        handle=handle,
        direction=direction,
        action=action,
    )


def test_state_emits_one_row_per_person_per_batch_with_history() -> None:
    state = WorkspaceState("w")
    out = state.apply([si(0, "a", "like", "inbound"), si(1, "a", "reply", "outbound")])
    assert len(out.relationships) == 1
    first = out.relationships[0]["score"]
    meet = Meeting(
        event_id="m",
        occurred_at=T0 + timedelta(days=2),
        source="t",
        workspace="w",
        person={"platform": "x", "handle": "a"},
        meeting_kind="in_person",
    )
    out = state.apply([meet, si(2, "b", "like", "inbound")])
    rows = {r["person_id"]: r for r in out.relationships}
    assert len(rows) == 2
    a = next(r for r in rows.values() if r["touch_count"] == 3)
    assert a["score"] > first and a["offline_count"] == 1 and a["channels"] == ["offline", "x"]
    assert a["first_channel"] == "x"
    assert state.apply([meet]).relationships == []  # nothing new, nothing emitted


def test_the_first_channel_follows_a_merge_to_the_surviving_person() -> None:
    """A person first touched on x, later stitched to a LinkedIn contact: the one
    live person's row says x, whichever id survives."""

    def like(day: float, platform: str, handle: str) -> SocialInteraction:
        return si(day, handle, "like", "inbound", platform)

    state = WorkspaceState("w")
    state.apply([like(0, "x", "ann"), like(5, "linkedin", "ann-l"), like(6, "linkedin", "ann-l")])
    link = {
        "event_type": "identity_linked",
        "event_id": "link",
        "occurred_at": T0 + timedelta(days=7),
        "source": "t",
        "workspace": "w",
        "a": {"platform": "x", "handle": "ann"},
        "b": {"platform": "linkedin", "handle": "ann-l"},
    }
    out = state.apply([EVENT_ADAPTER.validate_python(link)])
    live = [r for r in out.relationships if not r["merged_into"]]
    assert [(r["touch_count"], r["first_channel"]) for r in live] == [(3, "x")]


def test_the_first_touch_is_the_oldest_ever_not_the_oldest_kept() -> None:
    """A journey keeps its newest ``max_steps`` touches; the relationship's first touch
    (time and channel) and tenure still come from the oldest one ever."""
    from schemas.events import Envelope
    from streams.domain.config import DomainConfig
    from tests.unit.domain_events import ev

    def liked(day: int, platform: str) -> Envelope:
        return ev(
            "social_interaction", day, platform=platform, own_account="us", handle="ann",
            direction="inbound", action="like",
        )  # fmt: skip

    for batches in ([[0, 40, 80]], [[40, 80], [0]], [[0], [40], [80]]):
        state = WorkspaceState("w", DomainConfig(max_steps=2))
        platforms = {0: "x", 40: "linkedin", 80: "linkedin"}
        rows = []
        handles = [{"platform": p, "handle": "ann"} for p in ("x", "linkedin")]
        state.apply([ev("contact_upserted", 0, contact_id="C1", handles=handles)])
        for days in batches:
            rows = state.apply([liked(d, platforms[d]) for d in days]).relationships or rows
        [row] = rows
        assert (row["first_touch_at"], row["first_channel"]) == (T0, "x"), batches
        assert row["touch_count"] == 3
