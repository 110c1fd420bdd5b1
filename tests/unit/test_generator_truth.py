"""The synthetic-world generator: a true truth (chains, identities, behaviour, karma)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

import pytest

from oppchain.generator import World, generate
from schemas.events import (
    Action,
    ContactUpserted,
    ContractSigned,
    CostRecorded,
    Envelope,
    IdentityLinked,
    LeadCreated,
    OpportunityCreated,
    OpportunityLost,
    OpportunityStageChanged,
    SocialInteraction,
)
from schemas.keys import contact_key, email_key, handle_key, ref_keys
from schemas.privacy import hash_email
from tests.unit import generator_worlds
from tests.unit.generator_worlds import SECRET, Decoded
from tests.unit.generator_worlds import touch as _touch

LOOKBACK = timedelta(days=730)


@pytest.fixture(scope="module")
def world() -> World:
    return generator_worlds.world()


@pytest.fixture(scope="module")
def decoded() -> Decoded:
    return generator_worlds.decoded()


@pytest.fixture(scope="module")
def big() -> World:
    return generate(5, events=50_000)


def _events(decoded: Decoded) -> list[Envelope]:
    return [event for _, event in decoded[0]]


class _Reference:
    """Identity components and opportunity chains recomputed from decoded events."""

    def __init__(self, events: list[Envelope]) -> None:
        self.parent: dict[str, str] = {}
        self.touches: list[tuple[str, str, datetime, str, str]] = []
        self.members: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.opps: dict[str, dict[str, Any]] = {}
        for event in events:
            self._add(event)

    def find(self, key: str) -> str:
        while self.parent.get(key, key) != key:
            key = self.parent[key]
        return key

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[ra] = rb

    def _add(self, event: Envelope) -> None:
        ws = event.workspace
        if isinstance(event, ContactUpserted):
            keys = [contact_key(event.contact_id)]
            keys += [handle_key(h.platform.value, h.handle) for h in event.handles]
            keys += [email_key(event.email_hash)] if event.email_hash else []
            for key in keys[1:]:
                self.union(f"{ws}|{keys[0]}", f"{ws}|{key}")
        elif isinstance(event, IdentityLinked):
            keys = ref_keys(event.a) + ref_keys(event.b)
            for key in keys[1:]:
                self.union(f"{ws}|{keys[0]}", f"{ws}|{key}")
        if (
            isinstance(event, ContactUpserted | LeadCreated | OpportunityCreated)
            and event.account_id
        ):
            self.members[ws, event.account_id].add(f"{ws}|{contact_key(event.contact_id)}")
        if isinstance(event, OpportunityCreated):
            self.opps[event.opportunity_id] = {
                "key": f"{ws}|{contact_key(event.contact_id)}",
                "account": (ws, event.account_id) if event.account_id else None,
                "milestones": [event.occurred_at],
                "closed": None,
            }
        elif isinstance(event, OpportunityStageChanged):
            self.opps[event.opportunity_id]["milestones"].append(event.occurred_at)
        elif isinstance(event, ContractSigned | OpportunityLost):
            self.opps[event.opportunity_id]["closed"] = event.occurred_at
        touch = _touch(event)
        if touch is not None:
            key, channel = touch
            self.touches.append((ws, f"{ws}|{key}", event.occurred_at, event.event_id, channel))

    def chains(self) -> dict[str, tuple[list[str], list[str]]]:
        by_root: dict[str, list[tuple[datetime, str, str]]] = defaultdict(list)
        for _, key, at, event_id, channel in self.touches:
            by_root[self.find(key)].append((at, event_id, channel))
        out = {}
        for opp_id, opp in self.opps.items():
            keys = {opp["key"]} | (
                self.members.get(opp["account"], set()) if opp["account"] else set()
            )
            end = opp["closed"] or max(opp["milestones"])
            path = sorted(
                t
                for r in {self.find(k) for k in keys}
                for t in by_root[r]
                if end - LOOKBACK <= t[0] <= end
            )[-200:]
            out[opp_id] = ([t[1] for t in path], [t[2] for t in path])
        return out


def test_truth_chains_match_a_recomputation_from_decoded_events(world: World, decoded: Any) -> None:
    reference = _Reference(_events(decoded))
    chains = reference.chains()
    opps = world.truth["opportunities"]
    assert set(chains) == set(opps) and len(opps) > 10
    for opp_id, opp in opps.items():
        assert (opp["chain"], opp["channels"]) == chains[opp_id], opp_id
    assert any(opp["chain"] for opp in opps.values())


def test_chains_reference_only_emitted_touches(world: World, decoded: Any) -> None:
    by_id = {event.event_id: event for event in _events(decoded)}
    for opp in world.truth["opportunities"].values():
        assert len(opp["chain"]) == len(opp["channels"]) <= 200
        stamps = []
        for event_id, channel in zip(opp["chain"], opp["channels"], strict=True):
            touch = _touch(by_id[event_id])
            assert touch is not None and touch[1] == channel
            stamps.append((by_id[event_id].occurred_at, event_id))
        assert stamps == sorted(stamps)
        if opp["closed_at"] is not None:
            end = datetime.fromisoformat(opp["closed_at"])
            assert all(end - LOOKBACK <= at <= end for at, _ in stamps)


def test_each_person_is_one_identity_component(world: World, decoded: Any) -> None:
    reference = _Reference(_events(decoded))
    assert world.truth["split_persons"] == 0
    roots: dict[str, str] = {}
    for pid, person in world.truth["persons"].items():
        ws = person["workspace"]
        keys = person["keys"] + [email_key(hash_email(SECRET, ws, e)) for e in person["emails"]]
        components = {reference.find(f"{ws}|{key}") for key in keys}
        assert len(components) == 1, pid
        root = components.pop()
        assert roots.setdefault(root, pid) == pid  # no two persons share a component


def test_conversion_is_about_one_in_a_hundred_first_touches(big: World) -> None:
    truth = big.truth
    contracts, first_touches = truth["contracts"], truth["first_touches"]
    assert 1 / 300 < contracts / first_touches < 1 / 30
    won = [o for o in truth["opportunities"].values() if o["status"] == "won"]
    assert len(won) == contracts == truth["counts"]["by_event_type"]["contract_signed"]
    statuses = Counter(o["status"] for o in truth["opportunities"].values())
    assert set(statuses) == {"open", "won", "lost"}
    assert {o["kind"] for o in truth["opportunities"].values()} == {
        "social",
        "personal",
        "monetary",
    }
    assert len({o["type"] for o in truth["opportunities"].values()}) >= 7
    # Relationships take time: months to years from first touch to contract.
    first = {p["contact_id"]: p["first_touch_at"] for p in truth["persons"].values()}
    days = sorted(
        (
            datetime.fromisoformat(o["closed_at"]) - datetime.fromisoformat(first[o["contact_id"]])
        ).days
        for o in won
    )
    assert days[0] >= 0 and days[len(days) // 2] > 90 and days[-1] > 365


def test_rings_and_pods_never_become_customers(big: World) -> None:
    truth = big.truth
    members = {
        key
        for groups in (truth["rings"], truth["pods"])
        for ws_groups in groups.values()
        for group in ws_groups
        for key in group["members"]
    }
    assert members and all(truth["rings"].values()) and all(truth["pods"].values())
    roles = {p["role"] for p in truth["persons"].values() if set(p["keys"]) & members}
    assert roles <= {"ring", "pod"}
    customers = {o["person"] for o in truth["opportunities"].values()}
    assert all(truth["persons"][pid]["role"] not in ("ring", "pod") for pid in customers)
    for person in truth["persons"].values():
        if person["role"] in ("ring", "pod"):
            assert person["contact_id"] is None and len(person["keys"]) == 1


def test_ring_and_pod_behaviour(world: World, decoded: Any) -> None:
    truth = world.truth
    ring_keys = {k for groups in truth["rings"].values() for g in groups for k in g["members"]}
    pod_keys = {k for groups in truth["pods"].values() for g in groups for k in g["members"]}
    seen: dict[str, list[SocialInteraction]] = defaultdict(list)
    posts: dict[str, list[datetime]] = defaultdict(list)
    for event in _events(decoded):
        if isinstance(event, SocialInteraction):
            if event.handle is None:
                posts[event.own_account].append(event.occurred_at)
            else:
                seen[handle_key(event.platform.value, event.handle)].append(event)
    followed_back = 0
    for key in ring_keys:
        acts = sorted(seen[key], key=lambda e: e.occurred_at)
        assert {a.action for a in acts} <= {Action.follow, Action.like}
        assert acts[-1].occurred_at - acts[0].occurred_at <= timedelta(hours=7)
        followed_back += any(a.direction.value == "outbound" for a in acts)
    assert followed_back >= 0.9 * len(ring_keys)
    for key in pod_keys:
        for act in seen[key]:
            own_posts = posts[act.own_account]
            assert any(
                timedelta(0) <= act.occurred_at - p <= timedelta(minutes=30) for p in own_posts
            )


def test_broadcast_only_accounts_never_converse(world: World, decoded: Any) -> None:
    broadcast = {k for keys in world.truth["broadcast_only_accounts"].values() for k in keys}
    assert broadcast
    posted: Counter[str] = Counter()
    for event in _events(decoded):
        if isinstance(event, SocialInteraction):
            own = handle_key(event.platform.value, event.own_account)
            posted[own] += event.action is Action.post
            if own in broadcast:
                assert event.action is Action.post or event.direction.value == "inbound"
                assert event.action is not Action.dm
    others = [n for k, n in posted.items() if k not in broadcast]
    assert all(posted[k] > 2 * max(others) for k in broadcast)


def test_karma_costs_and_revenue(world: World, decoded: Any) -> None:
    truth = world.truth
    for ws in truth["workspaces"]:
        gives, asks = truth["gives"][ws], truth["asks"][ws]
        assert gives["intended"] > asks["intended"] > 0
        assert gives["explicit"] > 0 and asks["explicit"] <= asks["intended"]
    costs: dict[str, float] = defaultdict(float)
    for event in _events(decoded):
        if isinstance(event, CostRecorded):
            costs[event.workspace] += event.amount
    for ws, total in costs.items():
        assert truth["cost"][ws]["total"] == pytest.approx(total, abs=0.05)
    won_accounts = {
        o["account_id"] for o in truth["opportunities"].values() if o["status"] == "won"
    }
    assert set(truth["revenue"]) <= won_accounts
