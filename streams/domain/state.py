"""All domain state of one workspace, updated one batch of events at a time.

``WorkspaceState.apply`` folds a batch in and returns the rows to write. The
state after a set of events does not depend on the order they arrived in
(within or across batches), so replaying stored events in event-time order
with ``emit=False`` rebuilds the same state, the same chain versions included.
The one exception is the identity limits: which of two competing links is
refused depends on which came first (links of a batch are taken in event-time
order).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field, fields

from schemas.events import (
    ContactUpserted,
    Direction,
    EmailExchanged,
    Envelope,
    HelpGiven,
    IdentityLinked,
    Introduction,
    LeadCreated,
    Meeting,
    OpportunityCreated,
    SocialInteraction,
)
from schemas.keys import contact_key, email_key, handle_key, ref_keys
from streams.domain.attribution import credit_sets
from streams.domain.authenticity import Authenticity, Flag
from streams.domain.chains import (
    MILESTONE_TYPES,
    Opportunity,
    chain_row,
    chain_version,
    lead_before,
    select_chain_touches,
)
from streams.domain.config import DomainConfig
from streams.domain.identity import IdentityGraph, LinkResult
from streams.domain.journeys import Journeys, order_key
from streams.domain.karma import Act, Karma, Return
from streams.domain.markov import Path
from streams.domain.memory import deep_size
from streams.domain.relationships import relationship_row
from streams.domain.rows import Row, to_datetime
from streams.domain.touches import Touch, epoch, touch_from_event, touch_subject_keys
from streams.enrich import infer_intent

DAY = 86400
AUTHENTIC_SUFFIX = "_authentic"  # authenticity-weighted variant of every model
_ALWAYS = -(2**62)  # a merge may change any chain of the person


@dataclass
class Outputs:
    """Rows produced by one batch, by table."""

    touch_persons: list[Row] = field(default_factory=list)
    identity_merges: list[Row] = field(default_factory=list)
    identity_refusals: list[Row] = field(default_factory=list)
    opportunity_chains: list[Row] = field(default_factory=list)
    attribution_credit_sets: list[Row] = field(default_factory=list)
    relationships: list[Row] = field(default_factory=list)
    karma_ledger: list[Row] = field(default_factory=list)
    authenticity_flags: list[Row] = field(default_factory=list)

    def __len__(self) -> int:
        return sum(len(getattr(self, f.name)) for f in fields(self))

    def extend(self, other: Outputs) -> None:
        for f in fields(self):
            getattr(self, f.name).extend(getattr(other, f.name))


@dataclass
class _Batch:
    """What a batch changed, so each chain is rebuilt once at its end."""

    out: Outputs
    emit: bool
    persons: dict[str, int] = field(default_factory=dict)  # -> earliest new touch
    accounts: set[str] = field(default_factory=set)  # new members
    opportunities: set[str] = field(default_factory=set)
    account_persons: set[str] = field(default_factory=set)  # current account to redo
    merged: list[tuple[str, str]] = field(default_factory=list)  # (from, into)
    karma_persons: set[str] = field(default_factory=set)  # returns may have changed

    def touched(self, person: str, at: int) -> None:
        """Note a change to a person's journey from ``at`` on: chains whose
        version horizon is earlier cannot change and are not rebuilt."""
        self.persons[person] = min(at, self.persons.get(person, at))


class WorkspaceState:
    def __init__(
        self, workspace: str, config: DomainConfig | None = None, *, authentic_models: bool = False
    ) -> None:
        """``authentic_models`` adds the ``*_authentic`` variant of every model to the
        credits (the runtime turns it on; off, credits are exactly the configured models)."""
        self.workspace = workspace
        self.authentic_models = authentic_models
        self.config = config or DomainConfig()
        self.graph = IdentityGraph(workspace, self.config.limits)
        self.journeys = Journeys(self.config.max_steps)
        self.opportunities: dict[str, Opportunity] = {}
        self._leads: dict[str, dict[str, int]] = {}  # contact key -> lead id -> time
        self._facts: dict[str, tuple[int, str, str]] = {}  # contact key -> latest account
        self._opps_by_contact: dict[str, set[str]] = {}
        self._opps_by_account: dict[str, set[str]] = {}
        # The latest version horizon of any opportunity per contact key and per
        # account: a touch after it cannot change a chain there (most touches).
        self._contact_horizons: dict[str, int] = {}
        self._account_horizons: dict[str, int] = {}
        self._refused_events: set[str] = set()
        self.authenticity = Authenticity()
        self.karma = Karma()
        self.watermark = 0  # latest event time seen: the as_of of derived rows

    # -- applying events -------------------------------------------------

    def apply(self, events: Iterable[Envelope], *, emit: bool = True) -> Outputs:
        """Fold a batch of validated events in; events seen before change nothing.

        Identity links go first so that a touch and the contact record naming
        its handle may arrive in one batch; chains are rebuilt once, at the end.
        Account, revenue and cost records carry nothing this state needs.
        """
        batch = _Batch(Outputs(), emit)
        unique: dict[str, Envelope] = {}
        for event in events:
            if event.workspace != self.workspace:
                raise ValueError(f"event {event.event_id} is for workspace {event.workspace}")
            unique.setdefault(event.event_id, event)
        ordered = sorted(unique.values(), key=lambda e: (e.occurred_at, e.event_id))
        if ordered:
            self.watermark = max(self.watermark, epoch(ordered[-1]))
        for event in ordered:
            self._apply_identity(event, batch)
        for event in ordered:
            self._apply_crm(event, batch)
        self._refresh_accounts(batch)
        self._apply_touches(ordered, batch)
        self._refresh_flags(batch)
        self._rebuild_chains(batch)
        if batch.emit:
            self._emit_relationships(batch)
            self._emit_karma(batch)
        self.journeys.end_batch()
        return batch.out

    def _link(self, keys: list[str], event: Envelope, reason: str, batch: _Batch) -> None:
        if len(keys) < 2:
            return
        result = self.graph.link(keys, at=epoch(event), event_id=event.event_id, reason=reason)
        self._record_link(result, event, batch)

    def _record_link(self, result: LinkResult, event: Envelope, batch: _Batch) -> None:
        for m in result.merges:
            self.journeys.merge(m.from_person_id, m.into_person_id)
            self.karma.merge(m.from_person_id, m.into_person_id)
            batch.merged.append((m.from_person_id, m.into_person_id))
            batch.touched(m.into_person_id, _ALWAYS)
            batch.account_persons.add(m.into_person_id)
            if batch.emit:
                batch.out.identity_merges.append(
                    {
                        "workspace": self.workspace,
                        "merged_at": to_datetime(m.at),
                        "from_person_id": m.from_person_id,
                        "into_person_id": m.into_person_id,
                        "keys_moved": list(m.keys_moved),
                        "event_id": m.event_id,
                        "reason": m.reason,
                    }
                )
        if not result.refusals or event.event_id in self._refused_events:
            return
        self._refused_events.add(event.event_id)
        if batch.emit:
            batch.out.identity_refusals.extend(
                {
                    "workspace": self.workspace,
                    "refused_at": to_datetime(r.at),
                    "event_id": r.event_id,
                    "key_a": r.key_a,
                    "key_b": r.key_b,
                    "rule": r.rule,
                    "detail": r.detail,
                }
                for r in result.refusals
            )

    def _apply_identity(self, event: Envelope, batch: _Batch) -> None:
        if isinstance(event, ContactUpserted):
            keys = [contact_key(event.contact_id)]
            if event.email_hash:
                keys.append(email_key(event.email_hash))
            keys += [handle_key(h.platform.value, h.handle) for h in event.handles]
            self._link(keys, event, "contact_upserted", batch)
        elif isinstance(event, IdentityLinked):
            self._link(ref_keys(event.a) + ref_keys(event.b), event, "identity_linked", batch)
        elif isinstance(event, Introduction):
            self._link(ref_keys(event.person), event, "person_ref", batch)
            self._link(ref_keys(event.introducer), event, "person_ref", batch)
        elif isinstance(event, Meeting | EmailExchanged | HelpGiven):
            self._link(ref_keys(event.person), event, "person_ref", batch)

    def _apply_crm(self, event: Envelope, batch: _Batch) -> None:
        if (
            isinstance(event, ContactUpserted | LeadCreated | OpportunityCreated)
            and event.account_id is not None
        ):
            self._account_fact(contact_key(event.contact_id), event, event.account_id, batch)
        if isinstance(event, LeadCreated):
            leads = self._leads.setdefault(contact_key(event.contact_id), {})
            at = epoch(event)
            if at < leads.get(event.lead_id, at + 1):
                leads[event.lead_id] = at
                batch.opportunities |= self._opps_by_contact.get(
                    contact_key(event.contact_id), set()
                )
        elif isinstance(event, MILESTONE_TYPES):
            opp = self.opportunities.get(event.opportunity_id)
            if opp is None:
                opp = self.opportunities[event.opportunity_id] = Opportunity(event.opportunity_id)
            if opp.apply(event):
                batch.opportunities.add(opp.opportunity_id)
                self._note_horizon(opp)
            if isinstance(event, OpportunityCreated):
                oid = event.opportunity_id
                self._opps_by_contact.setdefault(contact_key(event.contact_id), set()).add(oid)
                if event.account_id is not None:
                    self._opps_by_account.setdefault(event.account_id, set()).add(oid)

    def _note_horizon(self, opp: Opportunity) -> None:
        horizon = opp.version_horizon
        if horizon is None or opp.contact_key is None:
            return
        known = self._contact_horizons.get(opp.contact_key, _ALWAYS)
        self._contact_horizons[opp.contact_key] = max(known, horizon)
        if opp.account_id is not None:
            known = self._account_horizons.get(opp.account_id, _ALWAYS)
            self._account_horizons[opp.account_id] = max(known, horizon)

    def _may_change_a_chain(self, person: str, at: int) -> bool:
        """False when no opportunity of the person's keys or accounts has a horizon
        at or after ``at`` (then none of their chains can change)."""
        contacts, accounts = self._contact_horizons, self._account_horizons
        return any(contacts.get(k, _ALWAYS) >= at for k in self.graph.keys_of(person)) or any(
            accounts.get(a, _ALWAYS) >= at for a in self.graph.accounts_of(person)
        )

    def _account_fact(self, key: str, event: Envelope, account_id: str, batch: _Batch) -> None:
        """Membership is kept once seen; the current account is the latest fact."""
        person = self.graph.person_of(key)
        if self.graph.set_account(person, account_id, current=False):
            batch.accounts.add(account_id)
        fact = (epoch(event), event.event_id, account_id)
        if key not in self._facts or fact[:2] > self._facts[key][:2]:
            self._facts[key] = fact
        batch.account_persons.add(person)

    def _refresh_accounts(self, batch: _Batch) -> None:
        for person in {self.graph.resolve(p) for p in batch.account_persons}:
            facts = [self._facts[k] for k in self.graph.keys_of(person) if k in self._facts]
            if facts:
                self.graph.set_account(person, max(facts)[2])

    def _apply_touches(self, ordered: list[Envelope], batch: _Batch) -> None:
        by_person: dict[str, list[Touch]] = {}
        events: dict[str, Envelope] = {}
        for event in ordered:
            if isinstance(event, SocialInteraction) and event.handle is None:
                self.authenticity.observe(event)  # a post: deduplicated there
            touch = touch_from_event(event, self.graph)
            if touch is not None:
                person = self.graph.person_of(touch_subject_keys(event)[0])
                by_person.setdefault(person, []).append(touch)
                events[event.event_id] = event
        for person, touches in by_person.items():
            fresh = self.journeys.add(person, touches)
            if not fresh:
                continue
            batch.touched(person, min(t.at for t in fresh))
            for t in fresh:
                self._observe_touch(person, t, events[t.event_id], batch)
            if batch.emit:
                account = self.graph.account_of(person)
                batch.out.touch_persons.extend(
                    {
                        "workspace": self.workspace,
                        "event_id": t.event_id,
                        "touched_at": to_datetime(t.at),
                        "person_id": person,
                        "account_id": account,
                    }
                    for t in fresh
                )

    def _observe_touch(self, person: str, t: Touch, event: Envelope, batch: _Batch) -> None:
        """Feed a new touch to authenticity and the karma ledger."""
        own = ""
        if isinstance(event, SocialInteraction):
            own = self.authenticity.observe(event)
        if isinstance(event, Introduction) and t.introducer is not None:
            introducer = self.graph.resolve(t.introducer)
            ret = Return(t.at, "introduction", 0.0, t.event_id)
            self.karma.returned(introducer, t.event_id, ret)
            batch.karma_persons.add(introducer)
        # Fields live in the instance dict; getattr on a missing field raises inside
        # pydantic, which costs more than the rest of this method.
        direction = event.__dict__.get("direction")
        if direction is Direction.inbound and t.action == "recommend":
            ret = Return(t.at, "recommendation", 0.0, t.event_id)
            self.karma.returned(person, t.event_id, ret)
        elif direction is Direction.outbound:
            assert isinstance(event, SocialInteraction | EmailExchanged | HelpGiven)
            intent, inferred = infer_intent(event)
            if intent.value != "neutral":
                act = Act(
                    t.at, t.event_id, intent.value, inferred, t.channel, t.action, own, t.campaign
                )
                self.karma.act(person, act)
        batch.karma_persons.add(person)

    def _refresh_flags(self, batch: _Batch) -> None:
        changed = self.authenticity.refresh()
        if not batch.emit:
            return
        as_of = to_datetime(self.watermark)
        for flag, raised in changed:
            batch.out.authenticity_flags.append(self._flag_row(flag, raised, as_of))

    def _flag_row(self, flag: Flag, raised: bool, as_of: object) -> Row:
        person = self.graph.person_of(flag.subject_key) if flag.flag != "broadcast_only" else ""
        return {
            "workspace": self.workspace,
            "flag": flag.flag,
            "own_account": flag.own_account,
            "subject_key": flag.subject_key,
            "person_id": person,
            "group_id": flag.group_id,
            "group_size": flag.group_size,
            "first_at": to_datetime(flag.first_at),
            "last_at": to_datetime(flag.last_at),
            "acts": flag.acts,
            "flagged": raised,
            "as_of": as_of,
        }

    # -- relationships and karma ---------------------------------------------

    def _emit_relationships(self, batch: _Batch) -> None:
        persons = {self.graph.resolve(p) for p in batch.persons}
        for from_person, into in batch.merged:
            live = self.graph.resolve(into)
            persons.add(live)
            row = relationship_row(
                self.workspace, from_person, None, None, 0, self.watermark, merged_into=live
            )
            batch.out.relationships.append(row)
        for person in sorted(persons):
            summary = self.journeys.summary(person, self.watermark)
            if summary is None:
                continue
            row = relationship_row(
                self.workspace,
                person,
                self.graph.account_of(person),
                summary,
                self.journeys.count_until(person, 2**62),
                self.watermark,
            )
            batch.out.relationships.append(row)

    def _emit_karma(self, batch: _Batch) -> None:
        persons = {self.graph.resolve(p) for p in batch.karma_persons}
        persons |= {self.graph.resolve(into) for _, into in batch.merged}
        for oid in batch.opportunities:
            opp = self.opportunities[oid]
            if opp.created is not None:
                persons |= self._scope(opp)[1]
        for person in sorted(persons):
            if person not in self.karma.acts:
                continue
            opps = []
            for oid in self._opportunities_of(person):
                opp = self.opportunities[oid]
                if opp.created_at is not None:
                    opps.append(Return(opp.created_at, "opportunity", opp.value, opp.kind))
            batch.out.karma_ledger.extend(
                self.karma.rows(
                    self.workspace, person, self.graph.account_of(person), opps, self.watermark
                )
            )

    # -- chains ------------------------------------------------------------

    def _opportunities_of(self, person: str) -> set[str]:
        found: set[str] = set()
        for key in self.graph.keys_of(person):
            found |= self._opps_by_contact.get(key, set())
        for account in self.graph.accounts_of(person):
            found |= self._opps_by_account.get(account, set())
        return found

    def _rebuild_chains(self, batch: _Batch) -> None:
        dirty = set(batch.opportunities)
        earliest: dict[str, int] = {}
        for person, at in batch.persons.items():
            live = self.graph.resolve(person)
            earliest[live] = min(at, earliest.get(live, at))
        for person, at in earliest.items():
            if not self._may_change_a_chain(person, at):
                continue
            for oid in self._opportunities_of(person):
                horizon = self.opportunities[oid].version_horizon
                if horizon is not None and at <= horizon:
                    dirty.add(oid)
        for account in batch.accounts:
            dirty |= self._opps_by_account.get(account, set())
        for oid in sorted(dirty):
            opp = self.opportunities[oid]
            if opp.created is None:
                continue
            version = self._version(opp)
            if version == opp.version:
                continue
            opp.version = version
            if batch.emit:
                self._emit_chain(opp, batch.out)

    def _scope(self, opp: Opportunity) -> tuple[str, set[str]]:
        """(the opportunity's person, every person whose touches are in its chain)."""
        assert opp.contact_key is not None
        person = self.graph.person_of(opp.contact_key)
        persons = {person}
        if opp.account_id is not None:
            persons |= self.graph.persons_of_account(opp.account_id)
        return person, persons

    def _version(self, opp: Opportunity) -> int:
        person, persons = self._scope(opp)
        horizon = opp.version_horizon
        assert horizon is not None and opp.contact_key is not None
        leads = lead_before(self._leads.get(opp.contact_key, {}).values(), opp.created_at)[1]
        touches = sum(self.journeys.count_until(p, horizon) for p in persons)
        return chain_version(opp, leads, self.graph.size_of(person), touches)

    def chain_touches(self, opp: Opportunity) -> list[Touch]:
        """The chain's touches: scope journeys merged, windowed and capped."""
        _, persons = self._scope(opp)
        merged = heapq.merge(*(self.journeys.get(p) for p in sorted(persons)), key=order_key)
        end = opp.end
        assert end is not None
        cfg = self.config
        return select_chain_touches(list(merged), end, cfg.path_lookback_days, cfg.max_steps)

    def _emit_chain(self, opp: Opportunity, out: Outputs) -> None:
        assert opp.contact_key is not None
        person, _ = self._scope(opp)
        touches = self.chain_touches(opp)
        lead_at = lead_before(self._leads.get(opp.contact_key, {}).values(), opp.created_at)[0]
        row = chain_row(
            self.workspace,
            opp,
            person_id=person,
            lead_created_at=lead_at,
            touches=touches,
            version=opp.version,
            resolve=self.graph.resolve,
        )
        out.opportunity_chains.append(row)
        plain = credit_sets(
            row,
            touches,
            self.config.models,
            half_life_days=self.config.half_life_days,
            conversion_at=opp.end,
        )
        out.attribution_credit_sets.extend(plain)
        if not self.authentic_models:
            return
        weights = [self.authenticity.weight(t.event_id) for t in touches]
        weighted = plain
        if min(weights, default=1.0) < 1.0:
            weighted = credit_sets(
                row,
                touches,
                self.config.models,
                weights=weights,
                half_life_days=self.config.half_life_days,
                conversion_at=opp.end,
            )
        out.attribution_credit_sets.extend(
            {**r, "model": r["model"] + AUTHENTIC_SUFFIX} for r in weighted
        )

    def chain_rows(self) -> Outputs:
        """Current chain and credit rows of every opportunity (e.g. to re-publish)."""
        out = Outputs()
        for oid in sorted(self.opportunities):
            opp = self.opportunities[oid]
            if opp.created is not None:
                opp.version = self._version(opp)
                self._emit_chain(opp, out)
        self.journeys.end_batch()
        return out

    # -- data-driven attribution input -------------------------------------

    def markov_paths(self) -> list[Path]:
        """One path per account (B2B) or per person outside any account.

        A unit with won opportunities is a converting path ending at its
        latest win (conversions and value summed); otherwise a null path
        ending at its latest touch. Touches are limited to the lookback window.
        """
        won: dict[tuple[str, str], list[Opportunity]] = {}
        for opp in self.opportunities.values():
            if opp.status == "won" and opp.contact_key is not None:
                unit = (
                    ("account", opp.account_id)
                    if opp.account_id is not None
                    else ("person", self.graph.person_of(opp.contact_key))
                )
                won.setdefault(unit, []).append(opp)
        units: dict[tuple[str, str], set[str]] = {
            ("account", a): set(self.graph.persons_of_account(a)) for a in self.graph.accounts()
        }
        for person in self.journeys:
            if not self.graph.accounts_of(person):
                units[("person", person)] = {person}
        paths: list[Path] = []
        for unit in sorted(units):
            journeys = [self.journeys.get(p) for p in sorted(units[unit])]
            touches = list(heapq.merge(*journeys, key=order_key))
            wins = won.get(unit, [])
            end = max((o.closed_at or 0) for o in wins) if wins else None
            if end is None and touches:
                end = touches[-1].at
            if end is None:
                continue
            chosen = select_chain_touches(
                touches, end, self.config.path_lookback_days, self.config.max_steps
            )
            if not chosen:
                continue
            channels = tuple(t.channel for t in chosen)
            if wins:
                paths.append(Path(channels, len(wins), 0.0, sum(o.value for o in wins)))
            else:
                paths.append(Path(channels, 0.0, 1.0))
        self.journeys.end_batch()
        return paths

    def memory_per_person(self, *extra: object) -> float:
        """Bytes of this workspace's whole state (plus ``extra``, e.g. the ids seen) per
        tracked person; objects shared between parts count once."""
        return deep_size(self, *extra) / max(1, self.graph.person_count)
