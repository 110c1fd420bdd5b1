"""WorkspaceState: batches, late and duplicate events, replay, emitted rows."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from schemas.events import EVENT_ADAPTER, Envelope
from streams.domain.config import DomainConfig
from streams.domain.identity import IdentityLimits
from streams.domain.rows import (
    CHAIN_COLUMNS,
    CREDIT_SET_COLUMNS,
    IDENTITY_MERGE_COLUMNS,
    IDENTITY_REFUSAL_COLUMNS,
    TOUCH_PERSON_COLUMNS,
)
from streams.domain.state import WorkspaceState
from tests.unit.domain_events import T0, created, ev, like, signed, story, versions


def test_rows_use_the_declared_columns() -> None:
    state = WorkspaceState("w")
    out = state.apply(story())
    out.extend(
        state.apply([ev("identity_linked", 1, a={"contact_id": "C1"}, b={"contact_id": "null"})])
    )
    tables = {
        "touch_persons": TOUCH_PERSON_COLUMNS,
        "identity_merges": IDENTITY_MERGE_COLUMNS,
        "identity_refusals": IDENTITY_REFUSAL_COLUMNS,
        "opportunity_chains": CHAIN_COLUMNS,
        "attribution_credit_sets": CREDIT_SET_COLUMNS,
    }
    for table, columns in tables.items():
        rows = getattr(out, table)
        assert rows, table
        assert all(set(r) == set(columns) for r in rows), table


def test_chain_of_a_won_opportunity() -> None:
    state = WorkspaceState("w")
    out = state.apply(story())
    [chain] = out.opportunity_chains
    assert chain["path"] == ["x", "offline"] and chain["status"] == "won"
    assert chain["account_id"] == "A" and chain["value"] == 1200.0
    assert chain["lead_created_at"] == T0 + timedelta(days=4)
    assert chain["days_to_close"] == pytest.approx(9.0)
    # 3 milestones + (1 lead + its 86,400 s before the creation) + 2 identity keys
    # squared (one holder of 2 keys) + 2 touches
    assert chain["version"] == 3 + (1 + 86400) + 2**2 + 2
    assert {r["event_id"]: r["account_id"] for r in out.touch_persons} == {"t1": "A", "t2": "A"}
    assert len({r["person_id"] for r in out.touch_persons}) == 1
    assert len(out.identity_merges) == 1
    models = {r["model"] for r in out.attribution_credit_sets}
    assert models == set(DomainConfig().models)


def test_late_touch_makes_a_new_version_and_later_touch_does_not() -> None:
    state = WorkspaceState("w")
    first = versions(state.apply(story()))
    late = state.apply([like(0.5, "alice", "late")])
    assert versions(late) == [first[-1] + 1]
    assert late.opportunity_chains[0]["path"] == ["x", "x", "offline"]
    after = state.apply([like(11, "alice", "after-close")])
    assert after.opportunity_chains == [] and len(after.touch_persons) == 1


def test_reapplying_events_changes_nothing() -> None:
    state = WorkspaceState("w")
    events = story()
    state.apply(events)
    assert len(state.apply(events)) == 0
    assert len(state.apply(list(reversed(events)) + events)) == 0


def test_emit_false_updates_state_silently() -> None:
    state = WorkspaceState("w")
    assert len(state.apply(story(), emit=False)) == 0
    assert state.opportunities["O1"].version == 3 + (1 + 86400) + 2**2 + 2


def test_replay_in_event_time_order_gives_the_same_versions() -> None:
    events = [*story(), like(0.5, "alice", "late"), like(2, "bob", "t-bob")]
    live = WorkspaceState("w")
    rng = random.Random(3)
    arrival = events[:]
    rng.shuffle(arrival)
    emitted = []
    for i in range(0, len(arrival), 2):
        emitted += versions(live.apply(arrival[i : i + 2]))
    replayed = WorkspaceState("w")
    replayed.apply(sorted(events, key=lambda e: e.occurred_at), emit=False)
    assert replayed.opportunities["O1"].version == live.opportunities["O1"].version
    assert emitted == sorted(set(emitted))  # strictly increasing
    assert emitted[-1] == live.opportunities["O1"].version
    more = [
        ev(
            "contact_upserted",
            0.1,
            "link-bob",
            contact_id="C1",
            account_id="A",
            handles=[{"platform": "x", "handle": "alice"}, {"platform": "x", "handle": "bob"}],
        )
    ]
    a, b = live.apply(more), replayed.apply(more)
    assert a.opportunity_chains == b.opportunity_chains
    assert a.attribution_credit_sets == b.attribution_credit_sets
    assert a.identity_merges == b.identity_merges and len(a.identity_merges) == 1


def test_milestones_before_creation_wait_for_it() -> None:
    state = WorkspaceState("w")
    assert state.apply([signed(10, "O1"), like(1, "alice")]).opportunity_chains == []
    out = state.apply([created(5, "O1", "C1")])
    [chain] = out.opportunity_chains
    assert chain["status"] == "won" and chain["path"] == []


def test_late_lead_makes_a_new_version() -> None:
    state = WorkspaceState("w")
    state.apply([created(5, "O1", "C1")])
    out = state.apply([ev("lead_created", 2, lead_id="L", contact_id="C1")])
    assert out.opportunity_chains[0]["lead_created_at"] == T0 + timedelta(days=2)
    assert (
        state.apply([ev("lead_created", 6, lead_id="L2", contact_id="C1")]).opportunity_chains == []
    )


def _recreated(day: float, oid: str, contact: str) -> Envelope:
    """Another opportunity_created for ``oid`` (a CRM correction), with its own id."""
    return ev(
        "opportunity_created",
        day,
        kind="monetary",
        opportunity_id=oid,
        contact_id=contact,
        opportunity_type="deal",
        amount=1000.0,
    )


def test_a_newer_creation_naming_another_contact_raises_the_version() -> None:
    state = WorkspaceState("w")
    handles = [{"platform": "x", "handle": "alice"}]
    first = state.apply(
        [
            ev("contact_upserted", 0, contact_id="C1", handles=handles),
            *(like(day, "alice") for day in range(1, 9)),
            created(10, "O1", "C1"),
        ]
    )
    [before] = first.opportunity_chains
    [after] = state.apply([_recreated(11, "O1", "C2")]).opportunity_chains
    # C2 has no touches: the new chain is shorter, yet its version is higher, so the
    # latest-version views show it and not the chain of C1.
    assert (before["touch_count"], after["touch_count"]) == (8, 0)
    assert after["version"] > before["version"]


def test_a_late_earlier_creation_before_the_lead_is_a_new_version() -> None:
    state = WorkspaceState("w")
    lead = ev("lead_created", 4, lead_id="L1", contact_id="C1")
    [before] = state.apply([lead, created(5, "O1", "C1")]).opportunity_chains
    [after] = state.apply([_recreated(3, "O1", "C1")]).opportunity_chains
    assert before["lead_created_at"] == T0 + timedelta(days=4)
    assert after["lead_created_at"] is None  # the lead now comes after the creation
    assert after["opportunity_created_at"] == T0 + timedelta(days=3)
    assert after["version"] > before["version"]


def test_a_lead_seen_again_earlier_is_a_new_version() -> None:
    """The same lead id twice: its earliest time is kept, which moves the chain's
    lead_created_at; a chain written before must be superseded."""
    state = WorkspaceState("w")
    first = state.apply(
        [ev("lead_created", 4, lead_id="L1", contact_id="C1"), created(5, "O1", "C1")]
    )
    [before] = first.opportunity_chains
    [after] = state.apply([ev("lead_created", 2, lead_id="L1", contact_id="C1")]).opportunity_chains
    assert (before["lead_created_at"], after["lead_created_at"]) == (
        T0 + timedelta(days=4),
        T0 + timedelta(days=2),
    )
    assert after["version"] > before["version"]


def test_a_merge_of_two_contacts_the_opportunity_named_is_a_new_version() -> None:
    """O1 named C1 (alice on x), then C2 (bob on linkedin). Joining C1 and C2 puts
    alice's touch in the chain: a new version, with every touch of the person."""
    state = WorkspaceState("w")
    bob_like = ev(
        "social_interaction", 2, platform="linkedin", own_account="us", handle="bob",
        direction="inbound", action="like",
    )  # fmt: skip
    alice = [{"platform": "x", "handle": "alice"}]
    bob = [{"platform": "linkedin", "handle": "bob"}]
    out = state.apply(
        [
            ev("contact_upserted", 0, contact_id="C1", handles=alice),
            ev("contact_upserted", 0, contact_id="C2", handles=bob),
            like(1, "alice"),
            bob_like,
            created(3, "O1", "C1"),
            _recreated(4, "O1", "C2"),
            signed(5, "O1"),
        ]
    )
    [before] = out.opportunity_chains
    link = ev("identity_linked", 6, a={"contact_id": "C1"}, b={"contact_id": "C2"})
    [after] = state.apply([link]).opportunity_chains
    assert (before["path"], after["path"]) == (["linkedin"], ["x", "linkedin"])
    assert after["version"] > before["version"]


def test_a_merge_of_the_introducer_is_a_new_version_naming_the_live_person() -> None:
    """ian (a handle) introduced alice before her deal; later ian's handle joins the
    larger person of contact C9, so ian's person id is merged away: the chain names
    the live one."""
    state = WorkspaceState("w")
    c9 = [{"platform": "x", "handle": "c9a"}, {"platform": "x", "handle": "c9b"}]
    intro = ev(
        "introduction", 1, introducer={"platform": "x", "handle": "ian"},
        person={"contact_id": "C1"},
    )  # fmt: skip
    contact = ev("contact_upserted", 0, contact_id="C9", handles=c9)
    out = state.apply([contact, intro, created(3, "O1", "C1"), signed(4, "O1")])
    [before] = out.opportunity_chains
    ian = [*c9, {"platform": "x", "handle": "ian"}]
    link = ev("contact_upserted", 6, contact_id="C9", handles=ian)
    [after] = state.apply([link]).opportunity_chains
    live = state.graph.person_of("crm:C9")
    assert before["introducer_person_id"] != live
    assert after["introducer_person_id"] == live
    assert after["version"] > before["version"]


def test_b2b_chain_spans_the_account() -> None:
    state = WorkspaceState("w")
    state.apply(
        [
            ev("contact_upserted", 0, contact_id="C1", account_id="A"),
            ev(
                "contact_upserted",
                0,
                contact_id="C2",
                account_id="A",
                handles=[{"platform": "linkedin", "handle": "carol"}],
            ),
            ev("contact_upserted", 0, contact_id="C3", account_id="B"),
            ev("meeting", 1, person={"contact_id": "C1"}, meeting_kind="in_person"),
            ev("meeting", 1, person={"contact_id": "C3"}, meeting_kind="in_person"),
        ]
    )
    out = state.apply([created(5, "O", "C1", "A"), created(5, "P", "C3")])
    chains = {r["opportunity_id"]: r for r in out.opportunity_chains}
    assert chains["O"]["path"] == ["offline"] and chains["P"]["path"] == ["offline"]
    colleague = state.apply(
        [
            ev(
                "social_interaction",
                2,
                platform="linkedin",
                own_account="us",
                handle="carol",
                direction="outbound",
                action="dm",
            ),
        ]
    )
    assert [(r["opportunity_id"], r["path"]) for r in colleague.opportunity_chains] == [
        ("O", ["offline", "linkedin"])
    ]
    newcomer = state.apply([ev("contact_upserted", 9, contact_id="C3", account_id="A")])
    # C3 joins A: its earlier meeting enters O's chain; P (no account) is unchanged
    assert [(r["opportunity_id"], r["path"]) for r in newcomer.opportunity_chains] == [
        ("O", ["offline", "offline", "linkedin"])
    ]


def test_merge_brings_earlier_touches_into_the_chain() -> None:
    state = WorkspaceState("w")
    state.apply([like(1, "dave"), like(2, "dave"), created(5, "O", "C9")])
    out = state.apply(
        [ev("identity_linked", 3, a={"contact_id": "C9"}, b={"platform": "x", "handle": "dave"})]
    )
    [merge] = out.identity_merges
    assert merge["reason"] == "identity_linked" and merge["keys_moved"] in (["x:dave"], ["crm:C9"])
    [chain] = out.opportunity_chains
    assert chain["path"] == ["x", "x"] and chain["person_id"] == merge["into_person_id"]


def test_refusal_is_recorded_once_and_not_applied() -> None:
    state = WorkspaceState("w", DomainConfig(limits=IdentityLimits(max_keys_per_type={"crm": 1})))
    link = ev("identity_linked", 1, "bad", a={"contact_id": "C1"}, b={"contact_id": "C2"})
    out = state.apply([link])
    [refusal] = out.identity_refusals
    assert (refusal["rule"], refusal["event_id"]) == ("max_keys:crm", "bad")
    assert out.identity_merges == []
    assert state.apply([link]).identity_refusals == []
    assert state.graph.person_of("crm:C1") != state.graph.person_of("crm:C2")


def _capped_world() -> dict[str, Envelope]:
    """Two contacts share handle h4; the limit of 3 handles lets only the first
    upsert to arrive take it, and C3 (holding h2, the introducer's handle) is then
    2 or 3 keys: the introducer term of the version depends on arrival order."""

    def handles(*names: str) -> list[dict[str, str]]:
        return [{"platform": "x", "handle": n} for n in names]

    return {
        "won": signed(49.4, "O0"),
        "created": created(31.6, "O0", "C1"),
        "intro": ev(
            "introduction",
            45.7,
            "i",
            introducer={"platform": "x", "handle": "h2"},
            person={"contact_id": "C1"},
        ),
        "u0": ev("contact_upserted", 6.4, "u0", contact_id="C0", handles=handles("h5", "h4", "h6")),
        "u3": ev("contact_upserted", 32.8, "u3", contact_id="C3", handles=handles("h2", "h4")),
    }


def test_versions_after_a_replay_go_above_the_stored_ones_whatever_the_limits_refused() -> None:
    """Live, C3 arrives first and takes h4; a replay, in event-time order, gives
    h4 to C0. The replayed fingerprint is lower than the version written live, so
    without the stored floor a later change would be hidden under the old row."""
    world = _capped_world()
    live = WorkspaceState("w")
    written: list[int] = []
    for name in ["won", "created", "intro", "u3", "u0"]:
        written += versions(live.apply([world[name]]))
    replay = WorkspaceState("w")
    replay.apply(sorted(world.values(), key=lambda e: e.occurred_at), emit=False)
    assert replay.opportunities["O0"].version < written[-1]
    replay.floor_versions({"O0": written[-1], "gone": 7})
    late = ev("meeting", 40, "late", person={"contact_id": "C1"}, meeting_kind="call")
    [after] = versions(replay.apply([late]))
    assert after == written[-1] + 1
    assert versions(live.apply([late]))[0] > written[-1]
    assert versions(replay.apply([late])) == []  # a duplicate still changes nothing


def test_events_redelivered_after_a_crash_write_their_chain_again_one_version_up() -> None:
    """Chains are written before the raw facts: a crash between leaves a stored
    version the replay cannot reach until the lost events come again. They give
    the same chain, under the next version (a version never holds two chains)."""
    events = story()
    live = WorkspaceState("w")
    *_, written = live.apply(events).opportunity_chains
    replay = WorkspaceState("w")
    replay.apply(events[:-2], emit=False)  # the stage change and the signing were lost
    replay.floor_versions({"O1": written["version"]})
    [again] = replay.apply(events[-2:]).opportunity_chains
    assert again == {**written, "version": written["version"] + 1}


def test_a_chain_that_reaches_the_floor_is_written_above_it() -> None:
    """The replay's fingerprint is below the version written live (the limits
    refused another link); touches close the gap exactly: still a new version."""
    world = _capped_world()
    live = WorkspaceState("w")
    for name in ["won", "created", "intro", "u3", "u0"]:
        live.apply([world[name]])
    top = live.opportunities["O0"].version
    replay = WorkspaceState("w")
    replay.apply(sorted(world.values(), key=lambda e: e.occurred_at), emit=False)
    replay.floor_versions({"O0": top})
    gap = top - replay.opportunities["O0"].fingerprint
    meetings = [
        ev("meeting", 40, f"m{i}", person={"contact_id": "C1"}, meeting_kind="call")
        for i in range(gap)
    ]
    assert versions(replay.apply(meetings)) == [top + 1]


def test_both_links_of_an_introduction_record_their_refusals() -> None:
    state = WorkspaceState("w")
    intro = ev(
        "introduction",
        1,
        "intro",
        person={"contact_id": "C1", "platform": "x", "handle": "anonymous"},
        introducer={"contact_id": "C2", "platform": "x", "handle": "null"},
    )
    out = state.apply([intro])
    refused = sorted((r["rule"], r["key_a"]) for r in out.identity_refusals)
    assert refused == [("blocked_value", "x:anonymous"), ("blocked_value", "x:null")]
    assert state.apply([intro]).identity_refusals == []


def test_other_workspace_is_rejected() -> None:
    event = EVENT_ADAPTER.validate_python(
        {
            "event_type": "meeting",
            "event_id": "x",
            "occurred_at": T0,
            "source": "s",
            "workspace": "other",
            "person": {"contact_id": "C"},
            "meeting_kind": "call",
        }
    )
    with pytest.raises(ValueError):
        WorkspaceState("w").apply([event])


def test_markov_paths_converting_and_null() -> None:
    state = WorkspaceState("w")
    state.apply([*story(), like(1, "erin"), like(2, "erin")])
    paths = {p.channels: p for p in state.markov_paths()}
    assert paths[("x", "offline")].conversions == 1 and paths[("x", "offline")].value == 1200.0
    assert paths[("x", "x")].nulls == 1 and paths[("x", "x")].conversions == 0


def _linkedin_like(day: float, handle: str) -> Envelope:
    return ev(
        "social_interaction", day, platform="linkedin", own_account="us", handle=handle,
        direction="inbound", action="like",
    )  # fmt: skip


def test_touches_after_the_last_win_are_a_null_path() -> None:
    """alice's account won after an x like and a meeting; two years later she is
    engaged on linkedin without converting: a journey of its own, a null path."""
    state = WorkspaceState("w")
    her = {"platform": "linkedin", "handle": "alice"}
    link = ev("identity_linked", 0, a={"contact_id": "C1"}, b=her)
    state.apply([*story(), link, _linkedin_like(800, "alice"), _linkedin_like(801, "alice")])
    paths = sorted((p.channels, p.conversions, p.nulls) for p in state.markov_paths())
    assert paths == [(("linkedin", "linkedin"), 0, 1), (("x", "offline"), 1, 0)]


def test_a_win_without_an_account_converts_the_path_of_its_persons_account() -> None:
    state = WorkspaceState("w")
    handles = [{"platform": "x", "handle": "alice"}]
    state.apply(
        [
            ev("contact_upserted", 0, contact_id="C1", account_id="A", handles=handles),
            like(1, "alice"),
            like(2, "alice"),
            created(3, "O1", "C1"),  # no account on the opportunity
            signed(4, "O1"),
        ]
    )
    [path] = state.markov_paths()
    assert (path.channels, path.conversions, path.nulls, path.value) == (("x", "x"), 1, 0, 1200.0)


def test_a_unit_that_won_in_two_currencies_has_a_converting_path_per_currency() -> None:
    state = WorkspaceState("w")
    euros = ev("contract_signed", 11, "O2-won", opportunity_id="O2", amount=500.0, currency="EUR")
    state.apply([*story(), created(9, "O2", "C1", "A"), euros])
    paths = sorted((p.channels, p.conversions, p.value, p.currency) for p in state.markov_paths())
    assert paths == [(("x", "offline"), 1, 500.0, "EUR"), (("x", "offline"), 1, 1200.0, "USD")]


def test_memory_per_person_is_small() -> None:
    state = WorkspaceState("w")
    events: list[Envelope] = []
    for i in range(3000):
        events.append(
            ev(
                "contact_upserted",
                0,
                f"c{i}",
                contact_id=f"C{i}",
                account_id=f"A{i // 10}",
                handles=[{"platform": "x", "handle": f"h{i}"}],
            )
        )
        events += [like(1 + j, f"h{i}", f"{i}-{j}-7c9e6679-7425-40de-944b") for j in range(3)]
    for i in range(0, len(events), 500):
        state.apply(events[i : i + 500])
    assert state.memory_per_person() < 2048


def test_close_before_a_later_stage_change_still_raises_the_version() -> None:
    state = WorkspaceState("w")
    first = state.apply(
        [
            created(5, "O1", "C1"),
            ev("opportunity_stage_changed", 20, opportunity_id="O1", stage="late"),
            ev("meeting", 17, person={"contact_id": "C1"}, meeting_kind="call"),
        ]
    )
    [before] = first.opportunity_chains
    assert before["path"] == ["offline"]
    [after] = state.apply([signed(15, "O1")]).opportunity_chains
    assert after["version"] > before["version"]
    assert after["path"] == [] and after["status"] == "won"


def test_a_signing_without_a_currency_keeps_the_opportunitys() -> None:
    state = WorkspaceState("w")
    deal = ev(
        "opportunity_created", 1, "O1-created", opportunity_id="O1", contact_id="C1",
        kind="monetary", opportunity_type="deal", amount=1000.0, currency="EUR",
    )  # fmt: skip
    won = ev("contract_signed", 2, opportunity_id="O1", amount=1100.0)
    [chain] = state.apply([deal, won]).opportunity_chains
    assert (chain["value"], chain["currency"]) == (1100.0, "EUR")
    yen = ev("contract_signed", 3, opportunity_id="O1", amount=5.0, currency="JPY")
    [chain] = state.apply([yen]).opportunity_chains
    assert (chain["value"], chain["currency"]) == (5.0, "JPY")
