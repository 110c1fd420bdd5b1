"""Opportunities and the chain of touches that led to each.

An opportunity's state is a fold over its milestone events where the latest
event (by event time, then event id) wins, so it does not depend on arrival
order. The chain's version counts the events the chain is built from; the
same set of events always gives the same version, and any event that changes
the chain adds to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from schemas.events import (
    ContractSigned,
    Envelope,
    OpportunityCreated,
    OpportunityLost,
    OpportunityStageChanged,
)
from schemas.keys import contact_key
from streams.domain.rows import Row, opt_datetime, to_datetime
from streams.domain.touches import INTRODUCTION, Touch, epoch

DAY = 86400
MILESTONE_TYPES = (OpportunityCreated, OpportunityStageChanged, ContractSigned, OpportunityLost)
Stamp = tuple[int, str]  # (event time, event id): the order "latest wins" follows


class Opportunity:
    """What the milestone events of one opportunity say, whatever order they came in."""

    __slots__ = (
        "account_id",
        "account_ids",
        "amount",
        "close",
        "contact_key",
        "contact_keys",
        "created",
        "created_at",
        "currency",
        "fingerprint",
        "kind",
        "last_milestone_at",
        "milestone_ids",
        "opportunity_id",
        "opportunity_type",
        "stage",
        "version",
    )

    def __init__(self, opportunity_id: str) -> None:
        self.opportunity_id = opportunity_id
        self.created: Stamp | None = None
        self.created_at: int | None = None
        self.contact_key: str | None = None
        self.account_id: str | None = None
        # Every contact and account an opportunity_created named: versions count the
        # events of all of them, so that a change of contact cannot lower a version.
        self.contact_keys: set[str] = set()
        self.account_ids: set[str] = set()
        self.kind = ""
        self.opportunity_type = ""
        self.amount = 0.0
        self.currency = "USD"
        self.milestone_ids: set[str] = set()
        self.last_milestone_at: int | None = None
        self.stage: tuple[int, str, str] | None = None
        self.close: tuple[int, str, str, float | None, str | None] | None = None
        # ``chain_version`` when last computed, and the version last written (or
        # stored): see ``ChainState._advance``.
        self.fingerprint = 0
        self.version = 0

    def apply(self, event: Envelope) -> bool:
        """Fold one milestone event in; False when it was already applied.

        The latest opportunity_created sets the attributes; ``created_at`` is
        the earliest. The latest of contract_signed / opportunity_lost decides
        the status.
        """
        if event.event_id in self.milestone_ids:
            return False
        self.milestone_ids.add(event.event_id)
        at = epoch(event)
        stamp = (at, event.event_id)
        if self.last_milestone_at is None or at > self.last_milestone_at:
            self.last_milestone_at = at
        if isinstance(event, OpportunityCreated):
            self.contact_keys.add(contact_key(event.contact_id))
            if event.account_id is not None:
                self.account_ids.add(event.account_id)
            self.created_at = at if self.created_at is None else min(self.created_at, at)
            if self.created is None or stamp > self.created:
                self.created = stamp
                self.contact_key = contact_key(event.contact_id)
                self.account_id = event.account_id
                self.kind = event.kind.value
                self.opportunity_type = event.opportunity_type.value
                self.amount = event.amount
                self.currency = event.currency
        elif isinstance(event, OpportunityStageChanged):
            if self.stage is None or stamp > self.stage[:2]:
                self.stage = (at, event.event_id, event.stage)
        elif isinstance(event, ContractSigned):
            if self.close is None or stamp > self.close[:2]:
                self.close = (at, event.event_id, "won", event.amount, event.currency)
        elif isinstance(event, OpportunityLost) and (self.close is None or stamp > self.close[:2]):
            self.close = (at, event.event_id, "lost", None, None)
        return True

    @property
    def status(self) -> str:
        return "open" if self.close is None else self.close[2]

    @property
    def closed_at(self) -> int | None:
        return None if self.close is None else self.close[0]

    @property
    def value(self) -> float:
        if self.close is not None and self.close[3] is not None:
            return self.close[3]
        return self.amount

    @property
    def value_currency(self) -> str:
        if self.close is not None and self.close[4] is not None:
            return self.close[4]
        return self.currency

    @property
    def stage_name(self) -> str:
        """The latest stage; a close after it shows as ``closed_won`` / ``closed_lost``."""
        if self.close is not None and (self.stage is None or self.close[:2] > self.stage[:2]):
            return "closed_won" if self.close[2] == "won" else "closed_lost"
        return "created" if self.stage is None else self.stage[2]

    @property
    def version_horizon(self) -> int | None:
        """Touches up to here count towards the version: the latest milestone.

        It is the chain end, except when a stage change comes after the close;
        counting to the latest milestone (which never moves back) rather than
        to the end keeps versions monotone even then.
        """
        return self.last_milestone_at

    @property
    def end(self) -> int | None:
        """The close if closed, else the latest milestone: later touches are outside."""
        return self.closed_at if self.close is not None else self.last_milestone_at


def lead_before(leads: Iterable[int], created_at: int | None) -> tuple[int | None, int]:
    """(latest lead time at or before the opportunity's creation, how many such leads)."""
    if created_at is None:
        return None, 0
    before = [at for at in leads if at <= created_at]
    return (max(before) if before else None), len(before)


def chain_version(opp: Opportunity, leads: int, identity_keys: int, touches: int) -> int:
    """Milestones + leads up to the latest creation + identity keys + touches up
    to ``version_horizon`` (before window trimming), of every contact and account
    the opportunity ever named (and the persons holding them).

    Every term only grows as events are added, so versions are monotone: a newer
    opportunity_created that names another contact, or moves the creation before
    a lead, raises the version, as a merge that changes ``person_id`` does.
    """
    return len(opp.milestone_ids) + leads + identity_keys + touches


def select_chain_touches(
    touches: Sequence[Touch], end: int, lookback_days: int, max_steps: int
) -> list[Touch]:
    """Touches within ``[end - lookback, end]``, the newest ``max_steps``, oldest first."""
    start = end - lookback_days * DAY
    inside = [t for t in touches if start <= t.at <= end]
    return inside[-max_steps:] if len(inside) > max_steps else inside


def chain_row(
    workspace: str,
    opp: Opportunity,
    *,
    person_id: str,
    lead_created_at: int | None,
    touches: Sequence[Touch],
    version: int,
    resolve: Callable[[str], str],
) -> Row:
    """The ``opportunity_chains`` row; ``resolve`` maps an introducer's person id
    to its current id (the introducer may have been merged since)."""
    closed_at = opp.closed_at
    first_at = touches[0].at if touches else None
    days = None
    if closed_at is not None and first_at is not None:
        days = (closed_at - first_at) / DAY
    introducer = next(
        (t.introducer for t in touches if t.action == INTRODUCTION and t.introducer), None
    )
    return {
        "workspace": workspace,
        "opportunity_id": opp.opportunity_id,
        "person_id": person_id,
        "account_id": opp.account_id,
        "kind": opp.kind,
        "opportunity_type": opp.opportunity_type,
        "value": opp.value,
        "currency": opp.value_currency,
        "status": opp.status,
        "stage": opp.stage_name,
        "first_touch_at": opt_datetime(first_at),
        "lead_created_at": opt_datetime(lead_created_at),
        "opportunity_created_at": to_datetime(opp.created_at or 0),
        "closed_at": opt_datetime(closed_at),
        "days_to_close": days,
        "path": [t.channel for t in touches],
        "touch_count": len(touches),
        "introducer_person_id": None if introducer is None else resolve(introducer),
        "version": version,
    }
