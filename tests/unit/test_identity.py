"""Identity stitching: merges, stable person ids, mega-merge guards, accounts."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.keys import email_key
from schemas.privacy import BLOCKED_EMAIL_HASH, hash_email
from streams.domain.identity import IdentityGraph, IdentityLimits, LinkResult


def pid(workspace: str, *keys: str) -> str:
    return "p_" + min(hashlib.sha1((workspace + k).encode()).hexdigest()[:16] for k in keys)


def link(g: IdentityGraph, *keys: str, event_id: str = "e1") -> LinkResult:
    return g.link(keys, at=100, event_id=event_id, reason="test")


def test_new_key_is_a_singleton_person() -> None:
    g = IdentityGraph("w")
    assert g.person_of("x:alice") == pid("w", "x:alice")
    assert g.keys_of(g.person_of("x:alice")) == ["x:alice"]
    assert IdentityGraph("other").person_of("x:alice") != g.person_of("x:alice")


def test_link_merges_and_smaller_id_survives() -> None:
    g = IdentityGraph("w")
    a, b = g.person_of("x:alice"), g.person_of("crm:C1")
    result = link(g, "x:alice", "crm:C1")
    survivor, gone = min(a, b), max(a, b)
    assert result.person_id == survivor == pid("w", "x:alice", "crm:C1")
    [merge] = result.merges
    assert (merge.from_person_id, merge.into_person_id) == (gone, survivor)
    assert merge.keys_moved == (("x:alice",) if gone == a else ("crm:C1",))
    assert (merge.at, merge.event_id, merge.reason) == (100, "e1", "test")
    assert g.resolve(gone) == survivor
    assert sorted(g.keys_of(gone)) == ["crm:C1", "x:alice"]
    assert g.person_count == 1 and len(g) == 2


def test_linking_twice_changes_nothing() -> None:
    g = IdentityGraph("w")
    link(g, "x:a", "crm:1")
    again = link(g, "crm:1", "x:a")
    assert again.merges == [] and again.refusals == []


keys = st.sampled_from([f"x:h{i}" for i in range(6)] + [f"crm:C{i}" for i in range(3)])
links = st.lists(st.tuples(keys, keys), max_size=12)


@settings(max_examples=200, deadline=None)
@given(links=links, data=st.data())
def test_persons_do_not_depend_on_link_order(
    links: list[tuple[str, str]], data: st.DataObject
) -> None:
    limits = IdentityLimits(default_max_keys=100, max_keys_per_type={"crm": 100})
    shuffled = data.draw(st.permutations(links))
    g1, g2 = IdentityGraph("w", limits), IdentityGraph("w", limits)
    for i, (a, b) in enumerate(links):
        link(g1, a, b, event_id=str(i))
    for i, (a, b) in enumerate(shuffled):
        link(g2, b, a, event_id=str(i))
    for key in {k for pair in links for k in pair}:
        assert g1.person_of(key) == g2.person_of(key)
        component = g1.keys_of(g1.person_of(key))
        assert g1.person_of(key) == pid("w", *component)


def test_mega_merge_is_refused_by_type_limit() -> None:
    g = IdentityGraph("w", IdentityLimits(max_keys_per_type={"crm": 2}))
    link(g, "crm:1", "crm:2", event_id="a")
    result = link(g, "crm:2", "crm:3", event_id="b")
    assert result.merges == []
    [refusal] = result.refusals
    assert (refusal.key_a, refusal.key_b, refusal.rule) == ("crm:2", "crm:3", "max_keys:crm")
    assert refusal.event_id == "b" and "limit 2" in refusal.detail
    assert g.person_of("crm:3") != g.person_of("crm:1")


def test_platform_limit_uses_the_default() -> None:
    g = IdentityGraph("w")  # 3 per platform
    link(g, "crm:1", "x:a", "x:b", "x:c")
    result = link(g, "crm:1", "x:d")
    assert [r.rule for r in result.refusals] == ["max_keys:x"]
    assert len(g.keys_of(g.person_of("crm:1"))) == 4


def test_refused_key_does_not_stop_the_others() -> None:
    g = IdentityGraph("w", IdentityLimits(max_keys_per_type={"email": 1}))
    link(g, "crm:1", "email:aa")
    result = link(g, "crm:1", "email:bb", "x:alice")
    assert [r.key_b for r in result.refusals] == ["email:bb"]
    assert g.person_of("x:alice") == g.person_of("crm:1")


def test_blocked_values_never_link() -> None:
    g = IdentityGraph("w")
    blocked = [
        "x:",
        "x:null",
        "x:None",
        "crm:anonymous",
        "crm:unknown",
        "x:undefined",
        "crm:0000",
        "crm:00000000-0000-0000-0000-000000000000",
    ]
    for key in blocked:
        result = link(g, "crm:real", key)
        assert result.merges == [] and [r.rule for r in result.refusals] == ["blocked_value"]
        assert g.person_of(key) != g.person_of("crm:real")
    assert not IdentityLimits().is_blocked("crm:0001")
    assert link(g, "x:null", "x:none").person_id is None


def test_placeholders_are_blocked_in_any_spelling() -> None:
    limits = IdentityLimits()
    spellings = ["crm:NaN", "crm:{00000000-0000-0000-0000-000000000000}", "crm:0x0",
                 "crm:(null)", "crm:<NULL>", "crm:#N/A", 'crm:"null"', "crm:null\u200b",
                 "crm:\uff4e\uff55\uff4c\uff4c", "x:@anonymous", "crm:anon", "crm:-1"]  # fmt: skip
    assert [k for k in spellings if not limits.is_blocked(k)] == []
    assert not limits.is_blocked("crm:nancy") and not limits.is_blocked("crm:-12")


def test_configured_blocked_values_compare_as_keys_do() -> None:
    limits = IdentityLimits(
        blocked_values=frozenset({"N/A", "Anonymous User", "@Nobody", " none "})
    )
    keys = ["crm:n/a", "x:anonymous user", "x:nobody", "crm:NONE"]
    assert [k for k in keys if not limits.is_blocked(k)] == []
    assert not limits.is_blocked("crm:null")  # the configured list replaces the default one


def test_accounts_follow_merges() -> None:
    g = IdentityGraph("w")
    a, b = g.person_of("crm:1"), g.person_of("x:bob")
    assert g.set_account(a, "acme") is True
    assert g.set_account(a, "acme") is False
    g.set_account(b, "globex", current=False)
    survivor = link(g, "crm:1", "x:bob").person_id
    assert survivor is not None
    gone = a if survivor == b else b
    assert g.persons_of_account("acme") == {survivor}
    assert g.persons_of_account("globex") == {survivor}
    assert g.accounts_of(survivor) == {"acme", "globex"}
    assert g.account_of(survivor) == "acme" == g.account_of(gone)
    assert g.account_of(g.person_of("x:nobody")) is None


def test_a_placeholder_beside_a_handle_does_not_gather_everybodys_touches() -> None:
    """A CRM export writes contact_id "unknown" for people it does not know: the
    touch and the introduction go to the handle's person, as the link does."""
    from datetime import UTC, datetime

    from schemas.events import Envelope
    from streams.domain.state import WorkspaceState
    from streams.ingest import Record, Valid, touchpoint_row
    from tests.unit.domain_events import ev

    def meeting(day: float, eid: str, handle: str) -> Envelope:
        person = {"contact_id": "unknown", "platform": "x", "handle": handle}
        return ev("meeting", day, eid, person=person, meeting_kind="call")

    intro = ev(
        "introduction",
        3,
        "i1",
        introducer={"contact_id": "unknown", "platform": "x", "handle": "alice"},
        person={"platform": "x", "handle": "carol"},
    )
    events = [meeting(1, "m1", "alice"), meeting(2, "m2", "bob"), intro]
    state = WorkspaceState("w")
    out = state.apply(events)
    graph = state.graph
    journeys = {
        key: [t.event_id for t in state.journeys.get(graph.person_of(key))]
        for key in ("x:alice", "x:bob", "crm:unknown")
    }
    assert journeys == {"x:alice": ["m1"], "x:bob": ["m2"], "crm:unknown": []}
    [introduction] = [t for t in state.journeys.get(graph.person_of("x:carol"))]
    assert introduction.introducer == graph.person_of("x:alice")
    persons = {r["event_id"]: r["person_id"] for r in out.touch_persons}
    assert persons["m1"] == graph.person_of("x:alice")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    row = touchpoint_row(Valid(Record("t", 0, 0, None, b""), events[0]), "p", "", now)  # type: ignore[arg-type]
    assert row["identity_key"] == "x:alice"
    intro_row = touchpoint_row(Valid(Record("t", 0, 1, None, b""), intro), "p", "", now)  # type: ignore[arg-type]
    assert intro_row["introducer_key"] == "x:alice"


def test_placeholder_emails_never_link() -> None:
    placeholders = ["null@null.com", " NoReply@acme.io", "0000@x.org", "n/a@n/a"]
    keys = [email_key(hash_email(b"k", "w", e)) for e in placeholders]
    assert set(keys) == {email_key(BLOCKED_EMAIL_HASH)}
    g = IdentityGraph("w")
    for n, key in enumerate(keys):
        result = link(g, f"crm:{n}", key)
        assert result.merges == [] and {r.rule for r in result.refusals} == {"blocked_value"}
    assert len({g.person_of(f"crm:{n}") for n in range(len(keys))}) == len(keys)
    assert hash_email(b"k", "w", "ann@acme.io") != BLOCKED_EMAIL_HASH
