"""WorkspaceState over generated histories: arrival order, batch sizes and duplicates
do not change the chains and credits, also with tiny step caps and lookback windows."""

from __future__ import annotations

import itertools
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.events import Envelope
from streams.domain.config import DomainConfig
from streams.domain.state import WorkspaceState
from tests.unit.domain_events import created, ev, like, signed

HANDLES = [f"h{i}" for i in range(6)]
CONTACTS = ["C0", "C1", "C2"]


@st.composite
def histories(draw: st.DrawFn) -> list[Envelope]:
    day = st.integers(0, 60 * 24).map(lambda h: h / 24)
    n = itertools.count()
    events: list[Envelope] = []
    owner = draw(st.lists(st.sampled_from([*CONTACTS, None]), min_size=6, max_size=6))
    for contact in CONTACTS:
        handles = [
            {"platform": "x", "handle": h}
            for h, o in zip(HANDLES, owner, strict=True)
            if o == contact
        ][:3]
        account = draw(st.sampled_from(["A", "B", None]))
        events.append(
            ev(
                "contact_upserted",
                draw(day),
                f"u{next(n)}",
                contact_id=contact,
                account_id=account,
                handles=handles,
            )
        )
    for _ in range(draw(st.integers(0, 12))):
        events.append(like(draw(day), draw(st.sampled_from(HANDLES)), f"t{next(n)}"))
    for _ in range(draw(st.integers(0, 4))):
        events.append(
            ev(
                "introduction",
                draw(day),
                f"i{next(n)}",
                introducer={"platform": "x", "handle": draw(st.sampled_from(HANDLES))},
                person={"contact_id": draw(st.sampled_from(CONTACTS))},
            )
        )
    for k in range(draw(st.integers(1, 3))):
        oid, contact = f"O{k}", draw(st.sampled_from(CONTACTS))
        start = draw(day)
        events.append(created(start, oid, contact, draw(st.sampled_from(["A", None]))))
        events.append(
            ev("lead_created", draw(day), f"l{next(n)}", lead_id=f"L{k}", contact_id=contact)
        )
        if draw(st.booleans()):
            events.append(
                ev(
                    "opportunity_stage_changed",
                    start + draw(day) / 4,
                    f"s{next(n)}",
                    opportunity_id=oid,
                    stage="proposal",
                )
            )
        close = draw(st.sampled_from([None, "won", "lost"]))
        if close == "won":
            events.append(signed(start + draw(day) / 2, oid))
        elif close == "lost":
            events.append(
                ev("opportunity_lost", start + draw(day) / 2, f"x{next(n)}", opportunity_id=oid)
            )
    return events


@settings(max_examples=150, deadline=None)
@given(
    events=histories(),
    seed=st.integers(0, 2**32),
    config=st.builds(
        DomainConfig,
        max_steps=st.sampled_from([2, 3, 200]),
        path_lookback_days=st.sampled_from([5, 730]),
    ),
)
def test_arrival_order_and_duplicates_do_not_matter(
    events: list[Envelope], seed: int, config: DomainConfig
) -> None:
    """Also with tiny caps and windows, where trimmed touches must still count."""
    rng = random.Random(seed)
    arrival = events + rng.sample(events, k=len(events) // 3)
    rng.shuffle(arrival)
    live = WorkspaceState("w", config)
    emitted: dict[str, list[int]] = {}
    i = 0
    while i < len(arrival):
        size = rng.randint(1, 6)
        for row in live.apply(arrival[i : i + size]).opportunity_chains:
            emitted.setdefault(row["opportunity_id"], []).append(row["version"])
        i += size
    replay = WorkspaceState("w", config)
    replay.apply(sorted(events, key=lambda e: (e.occurred_at, e.event_id)), emit=False)
    for oid, seen in emitted.items():
        assert seen == sorted(set(seen)), "versions only grow"
        assert seen[-1] == replay.opportunities[oid].version
    a, b = live.chain_rows(), replay.chain_rows()
    assert a.opportunity_chains == b.opportunity_chains
    assert a.attribution_credit_sets == b.attribution_credit_sets
    for row in a.opportunity_chains:
        assert emitted[row["opportunity_id"]][-1] == row["version"]
