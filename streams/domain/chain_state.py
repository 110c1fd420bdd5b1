"""The chain half of a workspace's state: which opportunities a batch can change,
their versions, their chain and credit rows, and the paths for data-driven
attribution. Mixed into ``WorkspaceState``, which owns the attributes below."""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from streams.domain.attribution import credit_sets
from streams.domain.authenticity import Authenticity
from streams.domain.chains import (
    Opportunity,
    chain_row,
    chain_version,
    lead_before,
    select_chain_touches,
)
from streams.domain.config import DomainConfig
from streams.domain.identity import IdentityGraph
from streams.domain.journeys import Journeys, order_key
from streams.domain.markov import Path
from streams.domain.memory import event_hash
from streams.domain.outputs import ALWAYS, Batch, Outputs
from streams.domain.rows import Row
from streams.domain.touches import Touch

AUTHENTIC_SUFFIX = "_authentic"  # authenticity-weighted variant of every model


def _lead_term(leads: Iterable[int], created_at: int | None) -> int:
    """Leads up to the creation, each counted once plus its seconds before it: a lead
    id seen again with an earlier time moves ``lead_created_at`` and raises this."""
    if created_at is None:
        return 0
    before = [at for at in leads if at <= created_at]
    return len(before) + sum(created_at - at for at in before)


class ChainState:
    workspace: str
    authentic_models: bool
    config: DomainConfig
    graph: IdentityGraph
    journeys: Journeys
    authenticity: Authenticity
    opportunities: dict[str, Opportunity]
    _leads: dict[str, dict[str, int]]  # contact key -> lead id -> time
    _introducers_of: dict[str, dict[str, int]]
    _opps_by_contact: dict[str, set[str]]
    _opps_by_account: dict[str, set[str]]
    # The latest version horizon of any opportunity per contact key and per
    # account: a touch after it cannot change a chain there (most touches).
    _contact_horizons: dict[str, int]
    _account_horizons: dict[str, int]

    def _note_horizon(self, opp: Opportunity) -> None:
        horizon = opp.version_horizon
        if horizon is None:
            return
        for key in opp.contact_keys:  # all of them: each counts towards the version
            known = self._contact_horizons.get(key, ALWAYS)
            self._contact_horizons[key] = max(known, horizon)
        for account in opp.account_ids:
            known = self._account_horizons.get(account, ALWAYS)
            self._account_horizons[account] = max(known, horizon)

    def _may_change_a_chain(self, person: str, at: int) -> bool:
        """False when no opportunity of the person's keys or accounts has a horizon
        at or after ``at`` (then none of their chains can change)."""
        contacts, accounts = self._contact_horizons, self._account_horizons
        return any(contacts.get(k, ALWAYS) >= at for k in self.graph.keys_of(person)) or any(
            accounts.get(a, ALWAYS) >= at for a in self.graph.accounts_of(person)
        )

    # -- chains ------------------------------------------------------------

    def _opportunities_of(self, person: str) -> set[str]:
        found: set[str] = set()
        for key in self.graph.keys_of(person):
            found |= self._opps_by_contact.get(key, set())
        for account in self.graph.accounts_of(person):
            found |= self._opps_by_account.get(account, set())
        return found

    def _rebuild_chains(self, batch: Batch) -> None:
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
        emitted: set[str] = set()
        for oid in sorted(dirty):
            opp = self.opportunities[oid]
            if opp.created is None:
                continue
            if not self._advance(opp):
                continue
            if batch.emit:
                self._emit_chain(opp, batch.out)
                emitted.add(oid)
        self._restate_authentic(batch, emitted)

    def _restate_authentic(self, batch: Batch, emitted: set[str]) -> None:
        """A flag raised or lifted changes the weight of touches already credited
        but no chain's inputs, so not its version: the ``*_authentic`` credits of
        the chains holding those touches are written again under the same version
        (the table keeps the last row written per version). A replay, which emits
        nothing, then agrees with what live processing wrote, in any arrival order.
        """
        reweighted = batch.reweighted
        if not (batch.emit and self.authentic_models and reweighted and batch.flagged_keys):
            return
        found: set[str] = set()
        for key in batch.flagged_keys:
            if self.graph.has_key(key):
                found |= self._opportunities_of(self.graph.person_of(key))
        for oid in sorted(found - emitted):
            opp = self.opportunities[oid]
            if opp.created is None:
                continue
            touches = self.chain_touches(opp)
            if any(event_hash(t.event_id) in reweighted for t in touches):
                sets = self._authentic_sets(opp, self._chain_row(opp, touches), touches)
                batch.out.attribution_credit_sets.extend(sets)

    def _scope(self, opp: Opportunity) -> tuple[str, set[str]]:
        """(the opportunity's person, every person whose touches are in its chain)."""
        assert opp.contact_key is not None
        person = self.graph.person_of(opp.contact_key)
        persons = {person}
        if opp.account_id is not None:
            persons |= self.graph.persons_of_account(opp.account_id)
        return person, persons

    def _named_by(self, opp: Opportunity) -> set[str]:
        """The holders of every contact the opportunity ever named and the members of
        every account it ever named: whose karma counts it (``_opportunities_of``)."""
        persons = {self.graph.person_of(key) for key in opp.contact_keys}
        for account in opp.account_ids:
            persons |= self.graph.persons_of_account(account)
        return persons

    def _advance(self, opp: Opportunity) -> bool:
        """Give the opportunity a new version if its inputs changed; False if not.

        The version is the fingerprint of the inputs, which only grows and is the
        same in any arrival order, so a replay agrees with what was written. The
        identity limits break that (which link is refused depends on arrival), and
        so does a crash between storing a batch's chains and its events: a replay
        starts from the versions stored (``floor_versions``), and a fingerprint not
        above the last version written gives that version plus one. A new chain
        never reuses a version: at worst an unchanged one comes again, one higher.
        """
        fingerprint = self._fingerprint(opp)
        if fingerprint == opp.fingerprint:
            return False
        opp.fingerprint = fingerprint
        opp.version = max(fingerprint, opp.version + 1)
        return True

    def floor_versions(self, stored: dict[str, int]) -> None:
        """The latest version stored per opportunity: later versions go above it."""
        for oid, version in stored.items():
            opp = self.opportunities.get(oid)
            if opp is not None:
                opp.version = max(opp.version, version)

    def _fingerprint(self, opp: Opportunity) -> int:
        """Counted over every contact and account the opportunity ever named, not
        only the current scope, so that no change of scope lowers it."""
        horizon = opp.version_horizon
        assert horizon is not None
        holders = {self.graph.person_of(key) for key in opp.contact_keys}
        persons = self._named_by(opp)
        # Leads up to the latest creation (which never moves back), not the earliest.
        latest = opp.created[0] if opp.created is not None else None
        leads = sum(_lead_term(self._leads.get(k, {}).values(), latest) for k in opp.contact_keys)
        touches = sum(self.journeys.count_until(p, horizon) for p in persons)
        # Squared: a merge of two holders (or of two introducers) keeps the sum of
        # sizes but raises the sum of squares, and changes the chain's person ids.
        introducers = {
            self.graph.resolve(i)
            for p in persons
            for i, at in self._introducers_of.get(p, {}).items()
            if at <= horizon
        }
        keys = sum(self.graph.size_of(p) ** 2 for p in holders | introducers)
        return chain_version(opp, leads, keys, touches)

    def chain_touches(self, opp: Opportunity) -> list[Touch]:
        """The chain's touches: scope journeys merged, windowed and capped."""
        _, persons = self._scope(opp)
        merged = heapq.merge(*(self.journeys.get(p) for p in sorted(persons)), key=order_key)
        end = opp.end
        assert end is not None
        cfg = self.config
        return select_chain_touches(list(merged), end, cfg.path_lookback_days, cfg.max_steps)

    def _chain_row(self, opp: Opportunity, touches: list[Touch]) -> Row:
        assert opp.contact_key is not None
        person, _ = self._scope(opp)
        lead_at = lead_before(self._leads.get(opp.contact_key, {}).values(), opp.created_at)[0]
        return chain_row(
            self.workspace,
            opp,
            person_id=person,
            lead_created_at=lead_at,
            touches=touches,
            version=opp.version,
            resolve=self.graph.resolve,
        )

    def _emit_chain(self, opp: Opportunity, out: Outputs) -> None:
        touches = self.chain_touches(opp)
        row = self._chain_row(opp, touches)
        out.opportunity_chains.append(row)
        plain = self._credit_sets(opp, row, touches)
        out.attribution_credit_sets.extend(plain)
        if self.authentic_models:
            out.attribution_credit_sets.extend(self._authentic_sets(opp, row, touches, plain))

    def _credit_sets(
        self, opp: Opportunity, row: Row, touches: list[Touch], weights: list[float] | None = None
    ) -> list[Row]:
        return credit_sets(
            row,
            touches,
            self.config.models,
            weights=weights,
            half_life_days=self.config.half_life_days,
            conversion_at=opp.end,
        )

    def _authentic_sets(
        self, opp: Opportunity, row: Row, touches: list[Touch], plain: list[Row] | None = None
    ) -> list[Row]:
        """Every model again, suspect touches weighing 0 (the plain sets when none is)."""
        weights = [self.authenticity.weight(t.event_id) for t in touches]
        if min(weights, default=1.0) < 1.0:
            weighted = self._credit_sets(opp, row, touches, weights)
        else:
            weighted = plain if plain is not None else self._credit_sets(opp, row, touches)
        return [{**r, "model": r["model"] + AUTHENTIC_SUFFIX} for r in weighted]

    def chain_rows(self) -> Outputs:
        """Current chain and credit rows of every opportunity (e.g. to re-publish)."""
        out = Outputs()
        for oid in sorted(self.opportunities):
            opp = self.opportunities[oid]
            if opp.created is not None:
                self._advance(opp)
                self._emit_chain(opp, out)
        self.journeys.end_batch()
        return out

    # -- data-driven attribution input -------------------------------------

    def _markov_unit(self, opp: Opportunity) -> tuple[str, str]:
        """The opportunity's account; without one, the account its person belongs
        to (a person in an account has no path of their own), else the person."""
        if opp.account_id is not None:
            return ("account", opp.account_id)
        assert opp.contact_key is not None
        person = self.graph.person_of(opp.contact_key)
        account = self.graph.account_of(person) or min(self.graph.accounts_of(person), default=None)
        return ("person", person) if account is None else ("account", account)

    def markov_paths(self) -> list[Path]:
        """One path per account (B2B) or per person outside any account.

        A unit with won opportunities is a converting path ending at its
        latest win (conversions and value summed per currency), and its touches after that
        win a null path (a journey that has not converted yet); a unit without
        a win is a null path ending at its latest touch. Touches are limited to
        the lookback window.
        """
        won: dict[tuple[str, str], list[Opportunity]] = {}
        for opp in self.opportunities.values():
            if opp.status == "won" and opp.contact_key is not None:
                won.setdefault(self._markov_unit(opp), []).append(opp)
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
            won_at = max((o.closed_at or 0) for o in wins) if wins else None
            after = touches if won_at is None else [t for t in touches if t.at > won_at]
            if won_at is not None:
                chosen = self._path_touches(touches, won_at)
                channels = tuple(t.channel for t in chosen)
                # One path per currency won: transition counts add up the same, and
                # values of different currencies are never summed.
                by_currency: dict[str, list[Opportunity]] = {}
                for o in wins:
                    by_currency.setdefault(o.value_currency, []).append(o)
                for currency, group in sorted(by_currency.items()) if chosen else ():
                    value = sum(o.value for o in group)
                    paths.append(Path(channels, len(group), 0.0, value, currency))
            if after:
                chosen = self._path_touches(after, after[-1].at)
                paths.append(Path(tuple(t.channel for t in chosen), 0.0, 1.0))
        self.journeys.end_batch()
        return paths

    def _path_touches(self, touches: list[Touch], end: int) -> list[Touch]:
        cfg = self.config
        return select_chain_touches(touches, end, cfg.path_lookback_days, cfg.max_steps)
