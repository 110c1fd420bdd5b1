"""Relationship strength: one 0-100 score per (workspace, person) and its parts.

The seeds: relationships take years, move across platforms and offline, and
must not be contact made only when we need something. Each component is in
[0, 1]; the score is ``100 x`` their weighted sum (weights in ``WEIGHTS``):

* ``recency`` (0.25): ``2 ** (-days since the last touch / 90)``, measured at
  ``as_of`` (the latest event time the workspace has seen);
* ``frequency`` (0.20): touches in the 365 days before ``as_of``,
  ``log(1 + n) / log(1 + 50)`` capped at 1 (50 touches a year is full marks);
* ``reciprocity`` (0.20): ``min(inbound, outbound) / max(inbound, outbound)``
  over directional touches; meetings and introductions count both ways;
* ``channel_breadth`` (0.10): ``(distinct channels - 1) / 2`` capped at 1: the
  conversation carried to a second and third platform or offline;
* ``offline`` (0.15): meetings, calls and introductions, ``n / 3`` capped at 1;
* ``tenure`` (0.10): days from the first to the last touch / 730, capped at 1.

Flags: ``ask_only`` when at least two of our outbound acts are asks and asks
outnumber gives; ``one_way_inbound`` (they act, we
never answer) and ``one_way_outbound`` (we act, they never do) after 3 touches.

Only the newest ``max_steps`` touches of a journey are kept, so the counts
above come from those (``touch_count`` is exact).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from streams.domain.rows import Row, to_datetime
from streams.domain.touches import INTRODUCTION, Touch

DAY = 86400
WEIGHTS = {
    "recency": 0.25,
    "frequency": 0.20,
    "reciprocity": 0.20,
    "channel_breadth": 0.10,
    "offline": 0.15,
    "tenure": 0.10,
}
RECENCY_HALF_LIFE_DAYS = 90.0
FULL_FREQUENCY = 50
RECENT_DAYS = 365  # the window of ``frequency``
_LOG_FULL_FREQUENCY = math.log1p(FULL_FREQUENCY)
FULL_TENURE_DAYS = 730.0
_OFFLINE = frozenset({"meeting", INTRODUCTION})
_GIVING = frozenset({"recommend", "share", "mention", "help_given"})
_PITCH = frozenset({"dm", "email_exchanged"})


def _intent(
    intent: str | None, action: str, direction: str | None, campaign: str | None
) -> tuple[str, bool]:
    """(intent, inferred) of a touch, by the rules of ``streams.enrich.infer_intent``."""
    if intent is not None:
        return intent, False
    if action in _GIVING or action == INTRODUCTION:
        return "give", True
    if action in _PITCH and direction == "outbound" and campaign:
        return "ask", True
    return "neutral", True


Kind = tuple[Any, ...]  # Touch[2:]: channel, campaign, action, direction, intent, introducer


Tally = tuple[str, int, int, int, int, int]  # channel, offline, inbound, outbound, give, ask


class Summary(NamedTuple):
    """What a score needs from a journey (oldest touch first): its ends, how
    many touches fall in the year before ``as_of``, and the touches counted by
    what they add (``tally``)."""

    first: int
    last: int
    kept: int
    recent: int
    offline: int
    inbound: int
    outbound: int
    gives: int
    asks: int
    channels: list[str]  # sorted
    first_channel: str  # of the oldest touch


def summary_of(
    first: int,
    last: int,
    kept: int,
    recent: int,
    counted: Iterable[tuple[Tally, int]],
    first_channel: str,
) -> Summary:
    """Sum ``(tally, how many touches)`` pairs into a summary."""
    inbound = outbound = offline = gives = asks = 0
    channels = set()
    for (channel, is_offline, is_inbound, is_outbound, give, ask), n in counted:
        channels.add(channel)
        offline += n * is_offline
        inbound += n * is_inbound
        outbound += n * is_outbound
        gives += n * give
        asks += n * ask
    return Summary(
        first,
        last,
        kept,
        recent,
        offline,
        inbound,
        outbound,
        gives,
        asks,
        sorted(channels),
        first_channel,
    )


def summarize(touches: Sequence[Touch], as_of: int) -> Summary | None:
    if not touches:
        return None
    recent = sum(1 for t in touches if as_of - t.at <= RECENT_DAYS * DAY)
    counted = ((tally(k), n) for k, n in Counter(t[2:] for t in touches).items())
    first = touches[0]
    return summary_of(first.at, touches[-1].at, len(touches), recent, counted, first.channel)


@lru_cache(maxsize=1 << 16)
def tally(kind: Kind) -> Tally:
    """What one touch of this kind adds: (channel, offline, inbound, outbound, give, ask)."""
    channel, campaign, action, direction, intent, _ = kind
    if action in _OFFLINE:
        return channel, 1, 1, 1, 0, 0
    if direction == "inbound":
        return channel, 0, 1, 0, 0, 0
    if direction == "outbound":
        purpose = _intent(intent, action, direction, campaign)[0]
        return channel, 0, 0, 1, purpose == "give", purpose == "ask"
    return channel, 0, 0, 0, 0, 0


def strength(touches: Sequence[Touch], touch_count: int, as_of: int) -> Row:
    """Score, components and flags of one person's journey (oldest touch first)."""
    return strength_of(summarize(touches, as_of), touch_count, as_of)


def strength_of(summary: Summary | None, touch_count: int, as_of: int) -> Row:
    """Score, components and flags from a journey's summary (None: no touches)."""
    if summary is None:
        return {"score": 0.0, **dict.fromkeys(WEIGHTS, 0.0), "flags": [], "ask_only": False}
    first, last, channels = summary.first, summary.last, summary.channels
    inbound, outbound, offline = summary.inbound, summary.outbound, summary.offline
    gives, asks = summary.gives, summary.asks
    # The parts as locals, not a dict: this runs for every person touched in a batch.
    recency = 2.0 ** (-max(0, as_of - last) / DAY / RECENCY_HALF_LIFE_DAYS)
    frequency = min(1.0, math.log1p(summary.recent) / _LOG_FULL_FREQUENCY)
    reciprocity = min(inbound, outbound) / max(inbound, outbound, 1)
    breadth = min(1.0, (len(channels) - 1) / 2)
    offline_part = min(1.0, offline / 3)
    tenure = min(1.0, (last - first) / DAY / FULL_TENURE_DAYS)
    flags = []
    ask_only = asks >= 2 and asks > gives
    if ask_only:
        flags.append("ask_only")
    if summary.kept >= 3 and outbound == 0:
        flags.append("one_way_inbound")
    if summary.kept >= 3 and inbound == 0:
        flags.append("one_way_outbound")
    w = WEIGHTS
    score = 100.0 * (
        w["recency"] * recency
        + w["frequency"] * frequency
        + w["reciprocity"] * reciprocity
        + w["channel_breadth"] * breadth
        + w["offline"] * offline_part
        + w["tenure"] * tenure
    )
    return {
        "score": round(score, 3),
        "recency": round(recency, 4),
        "frequency": round(frequency, 4),
        "reciprocity": round(reciprocity, 4),
        "channel_breadth": round(breadth, 4),
        "offline": round(offline_part, 4),
        "tenure": round(tenure, 4),
        "touch_count": touch_count,
        "inbound_count": inbound,
        "outbound_count": outbound,
        "offline_count": offline,
        "gives": gives,
        "asks": asks,
        "channels": channels,
        "first_touch_at": to_datetime(first),
        "last_touch_at": to_datetime(last),
        "ask_only": ask_only,
        "flags": flags,
    }


def relationship_row(
    workspace: str,
    person_id: str,
    account_id: str | None,
    summary: Summary | None,
    touch_count: int,
    as_of: int,
    merged_into: str = "",
) -> Row:
    """A ``relationships`` row; a merged-away person gets an empty row naming its survivor."""
    parts = strength_of(summary, touch_count, as_of)
    if summary is None:
        parts |= {
            "touch_count": 0,
            "inbound_count": 0,
            "outbound_count": 0,
            "offline_count": 0,
            "gives": 0,
            "asks": 0,
            "channels": [],
            "first_touch_at": to_datetime(0),
            "last_touch_at": to_datetime(0),
        }
    return {
        "workspace": workspace,
        "person_id": person_id,
        "account_id": account_id or "",
        **parts,
        "first_channel": "" if summary is None else summary.first_channel,
        "merged_into": merged_into,
        "as_of": to_datetime(as_of),
    }
