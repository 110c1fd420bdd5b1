"""The karma ledger: our outbound gives and asks, and the returns that followed.

Seed 000: give without expecting; the return comes later, in a form nobody can
forecast. Every outbound act whose intent (sent, or inferred by the rules of
``streams.enrich``) is ``give`` or ``ask`` is one ledger entry. Its returns are
what the same person (or their account) brought us in the ``RETURN_DAYS``
after the act:

* **opportunities**: opportunities of the person or their account created
  after the act (count, value, kinds, the first one and the lag to it);
* **introductions received**: introductions in which the person introduced
  someone to us;
* **inbound recommendations**: their ``recommend`` acts towards us
  (``#followfriday``).

A return follows every act before it inside the window; it is not split
between acts (the question is "was this kind of giving followed by...", not
"how much did this give earn"). Entries are re-emitted when their returns or
their person change; ``as_of`` (the latest event time seen) orders versions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from streams.domain.rows import Row, opt_datetime, to_datetime

DAY = 86400
RETURN_DAYS = 365


class Act(NamedTuple):
    at: int
    event_id: str
    intent: str
    inferred: bool
    channel: str
    action: str
    own_account: str
    campaign: str | None


class Return(NamedTuple):
    at: int
    kind: str  # opportunity, introduction, recommendation
    value: float
    detail: str  # opportunity kind, or the event id


class Karma:
    """Acts and non-opportunity returns by person; opportunities come from the caller."""

    def __init__(self) -> None:
        self.acts: dict[str, list[Act]] = {}
        self.returns: dict[str, dict[str, Return]] = {}  # person -> event id -> return
        self.emitted: dict[str, tuple[object, ...]] = {}  # act event id -> last signature
        self._seen: dict[str, tuple[object, ...]] = {}  # person -> inputs last rendered

    def act(self, person: str, act: Act) -> None:
        self.acts.setdefault(person, []).append(act)

    def returned(self, person: str, event_id: str, ret: Return) -> None:
        self.returns.setdefault(person, {})[event_id] = ret

    def merge(self, from_person: str, into_person: str) -> None:
        acts = self.acts.pop(from_person, None)
        if acts:
            self.acts.setdefault(into_person, []).extend(acts)
        rets = self.returns.pop(from_person, None)
        if rets:
            self.returns.setdefault(into_person, {}).update(rets)

    def rows(
        self,
        workspace: str,
        person: str,
        account_id: str | None,
        opportunities: Iterable[Return],
        as_of: int,
    ) -> list[Row]:
        """Ledger rows of the person's acts whose returns or person changed."""
        acts = self.acts.get(person)
        if not acts:
            return []
        returns = sorted([*self.returns.get(person, {}).values(), *opportunities])
        inputs = (account_id, len(acts), tuple(returns))
        if self._seen.get(person) == inputs:
            return []
        self._seen[person] = inputs
        out: list[Row] = []
        for act in sorted(acts):
            row = entry_row(workspace, person, account_id, act, returns)
            signature = tuple(v for k, v in row.items() if k != "as_of")
            if self.emitted.get(act.event_id) == signature:
                continue
            self.emitted[act.event_id] = signature
            row["as_of"] = to_datetime(as_of)
            out.append(row)
        return out


def entry_row(
    workspace: str, person: str, account_id: str | None, act: Act, returns: list[Return]
) -> Row:
    end = act.at + RETURN_DAYS * DAY
    after = [r for r in returns if act.at < r.at <= end]
    opps = [r for r in after if r.kind == "opportunity"]
    intros = [r for r in after if r.kind == "introduction"]
    recs = [r for r in after if r.kind == "recommendation"]
    first = after[0] if after else None
    first_opp = opps[0] if opps else None

    def lag(r: Return | None) -> float | None:
        return None if r is None else round((r.at - act.at) / DAY, 3)

    return {
        "workspace": workspace,
        "act_event_id": act.event_id,
        "acted_at": to_datetime(act.at),
        "person_id": person,
        "account_id": account_id or "",
        "own_account": act.own_account,
        "channel": act.channel,
        "action": act.action,
        "intent": act.intent,
        "intent_inferred": act.inferred,
        "campaign": act.campaign or "",
        "opportunities_after": len(opps),
        "opportunity_value_after": sum(r.value for r in opps),
        "opportunity_kinds": sorted({r.detail for r in opps}),
        "first_opportunity_at": opt_datetime(None if first_opp is None else first_opp.at),
        "days_to_opportunity": lag(first_opp),
        "introductions_after": len(intros),
        "recommendations_after": len(recs),
        "first_return_at": opt_datetime(None if first is None else first.at),
        "first_return_kind": "" if first is None else first.kind,
        "days_to_first_return": lag(first),
    }
