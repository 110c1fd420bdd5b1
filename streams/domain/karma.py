"""The karma ledger: our outbound gives and asks, and the returns that followed.

Seed 000: give without expecting; the return comes later, in a form nobody can
forecast. Every outbound act whose intent (sent, or inferred by the rules of
``streams.enrich``) is ``give`` or ``ask`` is one ledger entry. Its returns are
what the same person (or their account) brought us in the ``RETURN_DAYS``
after the act:

* **opportunities**: opportunities of the person or their account created
  after the act (count, value per currency, kinds, the first one and the lag
  to it);
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

import math
from array import array
from bisect import bisect_right
from collections.abc import Iterable
from typing import NamedTuple

from streams.domain.memory import Columns, Interner, Timed
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
    currency: str = ""  # of an opportunity's value


class _Ledger:
    """One person's acts (sorted, in columns) and, for each, a hash of what its last
    emitted row was made from (the person, the account, the returns in its window)."""

    __slots__ = ("acts", "signatures")

    def __init__(self, acts: list[Act], signatures: list[int], kinds: Interner[Timed]) -> None:
        order = sorted(range(len(acts)), key=lambda i: acts[i][:2])
        self.acts = Columns([acts[i] for i in order], kinds)
        self.signatures = array("q", [signatures[i] for i in order])


_NEVER = -1  # no row emitted yet (``hash`` never returns -1)


class Karma:
    """Acts and non-opportunity returns by person; opportunities come from the caller.

    What was emitted is remembered as hashes of the inputs (of each act's last row,
    and of all returns per person): a row is re-emitted when its inputs change.
    """

    def __init__(self) -> None:
        self.acts: dict[str, _Ledger] = {}
        self.returns: dict[str, dict[str, Return]] = {}  # person -> event id -> return
        self._kinds: Interner[Timed] = Interner()  # Act[2:]: intent, channel...
        self._seen: dict[str, int] = {}  # person -> hash of the inputs last rendered

    def _acts(self, person: str) -> tuple[list[Act], list[int]]:
        ledger = self.acts.get(person)
        if ledger is None:
            return [], []
        return ledger.acts.rows(Act, self._kinds), list(ledger.signatures)

    def act(self, person: str, act: Act) -> None:
        ledger = self.acts.get(person)
        if ledger is not None and ledger.acts.last() < act[:2]:  # the usual case
            appended = ledger.acts.with_later([act], self._kinds)
            if appended is not None:
                ledger.acts = appended
                ledger.signatures.append(_NEVER)
                return
        acts, signatures = self._acts(person)
        self.acts[person] = _Ledger([*acts, act], [*signatures, _NEVER], self._kinds)

    def returned(self, person: str, event_id: str, ret: Return) -> None:
        self.returns.setdefault(person, {})[event_id] = ret

    def merge(self, from_person: str, into_person: str) -> None:
        if from_person in self.acts:
            acts, signatures = self._acts(from_person)
            kept, kept_signatures = self._acts(into_person)
            del self.acts[from_person]
            self.acts[into_person] = _Ledger(kept + acts, kept_signatures + signatures, self._kinds)
            self._seen.pop(into_person, None)  # moved acts name another person now
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
        ledger = self.acts.get(person)
        if ledger is None:
            return []
        returns = sorted([*self.returns.get(person, {}).values(), *opportunities])
        # A row depends on its act, the person, the account and the returns in its
        # window: with the same account and returns, only acts never emitted need it.
        context = hash((account_id, tuple(returns)))
        changed = self._seen.get(person) != context
        signatures = ledger.signatures
        if not changed and _NEVER not in signatures:
            return []
        self._seen[person] = context
        times = [r.at for r in returns]
        n = len(ledger.acts)
        # Unchanged context: only acts never emitted need a row, and those sit at
        # the end unless a late act was sorted in; start at the first one.
        first = 0 if changed else signatures.index(_NEVER)
        acts: list[Act] | None = None
        out: list[Row] = []
        for i in range(first, n):
            at = ledger.acts.cols[i]  # the times come first
            if not changed and signatures[i] != _NEVER:
                continue
            window = returns[bisect_right(times, at) : bisect_right(times, at + RETURN_DAYS * DAY)]
            signature = hash((person, account_id, tuple(window)))  # never -1 (_NEVER)
            if signatures[i] == signature:
                continue
            signatures[i] = signature
            if acts is None:
                acts = ledger.acts.rows(Act, self._kinds)
            row = entry_row(workspace, person, account_id, acts[i], window)
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

    by_currency: dict[str, float] = {}
    for r in opps:
        by_currency[r.currency] = by_currency.get(r.currency, 0.0) + r.value
    currencies = sorted(by_currency)
    # One sum over two currencies means nothing: NaN, so that a naive sum shows it.
    value = sum(by_currency.values()) if len(currencies) <= 1 else math.nan

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
        "opportunity_value_after": value,
        "opportunity_currencies": currencies,
        "opportunity_values": [by_currency[c] for c in currencies],
        "opportunity_kinds": sorted({r.detail for r in opps}),
        "first_opportunity_at": opt_datetime(None if first_opp is None else first_opp.at),
        "days_to_opportunity": lag(first_opp),
        "introductions_after": len(intros),
        "recommendations_after": len(recs),
        "first_return_at": opt_datetime(None if first is None else first.at),
        "first_return_kind": "" if first is None else first.kind,
        "days_to_first_return": lag(first),
    }
