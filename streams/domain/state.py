"""All domain state of one workspace, updated one batch of events at a time.

``WorkspaceState.apply`` folds a batch in and returns the rows to write. The
state after a set of events does not depend on the order they arrived in
(within or across batches), so replaying stored events in event-time order
with ``emit=False`` rebuilds the same state, the same chain versions included.
The one exception is the identity limits: which of two competing links is
refused depends on which came first (links of a batch are taken in event-time
order); ``ChainState._advance`` keeps versions growing even then.
"""

from __future__ import annotations

from collections.abc import Iterable

from schemas.events import (
    Action,
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
from streams.domain.authenticity import BROADCAST, Authenticity, Flag
from streams.domain.chain_state import ChainState
from streams.domain.chains import MILESTONE_TYPES, Opportunity
from streams.domain.config import DomainConfig
from streams.domain.identity import IdentityGraph, LinkResult
from streams.domain.journeys import Journeys
from streams.domain.karma import Act, Karma, Return
from streams.domain.memory import deep_size
from streams.domain.outputs import ALWAYS, Batch, Outputs
from streams.domain.relationships import relationship_row
from streams.domain.rows import Row, to_datetime
from streams.domain.touches import Touch, epoch, touch_from_event, touch_subject_keys
from streams.enrich import infer_intent

DAY = 86400


class WorkspaceState(ChainState):
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
        # person -> introducer (person id as recorded) -> earliest introduction, and
        # introducer -> persons introduced: a chain names its introducer, whose
        # merges make a new version.
        self._introducers_of: dict[str, dict[str, int]] = {}
        self._introduced: dict[str, set[str]] = {}
        self._facts: dict[str, tuple[int, str, str]] = {}  # contact key -> latest account
        self._opps_by_contact: dict[str, set[str]] = {}
        self._opps_by_account: dict[str, set[str]] = {}
        self._contact_horizons: dict[str, int] = {}
        self._account_horizons: dict[str, int] = {}
        self._refused: set[tuple[str, str, str]] = set()  # (event_id, key_a, key_b)
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
        batch = Batch(Outputs(), emit)
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

    def _link(self, keys: list[str], event: Envelope, reason: str, batch: Batch) -> None:
        if len(keys) < 2:
            return
        result = self.graph.link(keys, at=epoch(event), event_id=event.event_id, reason=reason)
        self._record_link(result, event, batch)

    def _record_link(self, result: LinkResult, event: Envelope, batch: Batch) -> None:
        for m in result.merges:
            self.journeys.merge(m.from_person_id, m.into_person_id)
            self.karma.merge(m.from_person_id, m.into_person_id)
            self._merge_introductions(m.from_person_id, m.into_person_id, batch)
            batch.merged.append((m.from_person_id, m.into_person_id))
            batch.touched(m.into_person_id, ALWAYS)
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
        # Each refusal once (an event can make two links: an introduction's person
        # and introducer), however often its link is tried again.
        fresh = [r for r in result.refusals if (r.event_id, r.key_a, r.key_b) not in self._refused]
        self._refused.update((r.event_id, r.key_a, r.key_b) for r in fresh)
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
                for r in fresh
            )

    def _apply_identity(self, event: Envelope, batch: Batch) -> None:
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

    def _apply_crm(self, event: Envelope, batch: Batch) -> None:
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

    def _account_fact(self, key: str, event: Envelope, account_id: str, batch: Batch) -> None:
        """Membership is kept once seen; the current account is the latest fact."""
        person = self.graph.person_of(key)
        if self.graph.set_account(person, account_id, current=False):
            batch.accounts.add(account_id)
            batch.karma_persons.add(person)  # their karma counts every account's deals
        fact = (epoch(event), event.event_id, account_id)
        if key not in self._facts or fact[:2] > self._facts[key][:2]:
            self._facts[key] = fact
        batch.account_persons.add(person)

    def _refresh_accounts(self, batch: Batch) -> None:
        for person in {self.graph.resolve(p) for p in batch.account_persons}:
            facts = [self._facts[k] for k in self.graph.keys_of(person) if k in self._facts]
            if not facts:
                continue
            before = self.graph.account_of(person)
            self.graph.set_account(person, max(facts)[2])
            if self.graph.account_of(person) != before:
                # Their relationship row carries the account, and their karma counts
                # its opportunities: written again, or the last rows would depend on
                # whether a touch came after the change.
                batch.rewrite.add(person)
                batch.karma_persons.add(person)

    def _apply_touches(self, ordered: list[Envelope], batch: Batch) -> None:
        by_person: dict[str, list[Touch]] = {}
        events: dict[str, Envelope] = {}
        for event in ordered:
            if isinstance(event, SocialInteraction) and (
                event.handle is None or event.action is Action.post
            ):
                self.authenticity.observe(event)  # not a touch (a post: deduplicated there)
            touch = touch_from_event(event, self.graph)
            if touch is not None:
                person = self.graph.person_of(self.graph.limits.named(touch_subject_keys(event)))
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

    def _observe_touch(self, person: str, t: Touch, event: Envelope, batch: Batch) -> None:
        """Feed a new touch to authenticity and the karma ledger."""
        own = ""
        if isinstance(event, SocialInteraction):
            own = self.authenticity.observe(event)
        if isinstance(event, Introduction) and t.introducer is not None:
            introducer = self.graph.resolve(t.introducer)
            known = self._introducers_of.setdefault(person, {})
            known[introducer] = min(t.at, known.get(introducer, t.at))
            self._introduced.setdefault(introducer, set()).add(person)
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

    def _merge_introductions(self, from_person: str, into: str, batch: Batch) -> None:
        """Introductions follow a merge of the person introduced or of the introducer;
        every chain of the persons a merged introducer introduced may change."""
        moved = self._introducers_of.pop(from_person, None)
        if moved:
            known = self._introducers_of.setdefault(into, {})
            for introducer, at in moved.items():
                known[introducer] = min(at, known.get(introducer, at))
        introduced = self._introduced.pop(from_person, set())
        if introduced or into in self._introduced:
            persons = self._introduced.setdefault(into, set())
            persons |= introduced
            for person in persons:
                batch.touched(person, ALWAYS)

    def _refresh_flags(self, batch: Batch) -> None:
        changed = self.authenticity.refresh()
        reweighted = self.authenticity.take_reweighted()
        if not batch.emit:
            return
        batch.flagged_keys.update(f.subject_key for f, _ in changed if f.flag != BROADCAST)
        batch.flagged_keys.update(self.authenticity.suspect_added)
        batch.reweighted = reweighted
        as_of = to_datetime(self.watermark)
        for flag, raised in changed:
            batch.out.authenticity_flags.append(self._flag_row(flag, raised, as_of))
        if batch.merged:
            # A row names the person of its handle: a merge gives the handle another.
            written = {(f.flag, f.own_account, f.subject_key) for f, _ in changed}
            merged = {self.graph.resolve(into) for _, into in batch.merged}
            for key, flag in sorted(self.authenticity.flags.items()):
                subject = flag.subject_key
                if flag.flag == BROADCAST or key in written or not self.graph.has_key(subject):
                    continue
                if self.graph.person_of(subject) in merged:
                    batch.out.authenticity_flags.append(self._flag_row(flag, True, as_of))

    def _flag_row(self, flag: Flag, raised: bool, as_of: object) -> Row:
        person = self.graph.person_of(flag.subject_key) if flag.flag != BROADCAST else ""
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

    def _emit_relationships(self, batch: Batch) -> None:
        persons = {self.graph.resolve(p) for p in (*batch.persons, *batch.rewrite)}
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

    def _emit_karma(self, batch: Batch) -> None:
        persons = {self.graph.resolve(p) for p in batch.karma_persons}
        persons |= {self.graph.resolve(into) for _, into in batch.merged}
        for oid in batch.opportunities:
            opp = self.opportunities[oid]
            if opp.created is not None:
                persons |= self._named_by(opp)
        for person in sorted(persons):
            if person not in self.karma.acts:
                continue
            opps = []
            for oid in self._opportunities_of(person):
                opp = self.opportunities[oid]
                if opp.created_at is not None:
                    ret = Return(
                        opp.created_at, "opportunity", opp.value, opp.kind, opp.value_currency
                    )
                    opps.append(ret)
            batch.out.karma_ledger.extend(
                self.karma.rows(
                    self.workspace, person, self.graph.account_of(person), opps, self.watermark
                )
            )

    def memory_per_person(self, *extra: object) -> float:
        """Bytes of this workspace's whole state (plus ``extra``, e.g. the ids seen) per
        tracked person; objects shared between parts count once."""
        return deep_size(self, *extra) / max(1, self.graph.person_count)
