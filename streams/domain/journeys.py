"""Journeys: each person's touches in event-time order, newest ``max_steps`` kept.

Applying a touch twice changes nothing (touches are keyed by event id), and
the kept touches are the newest ``max_steps`` of every touch ever applied, so
the result does not depend on arrival order. Touches pushed out by the cap
leave a trace (their time and a 64-bit hash of their event id, 16 bytes each)
so that counts over all touches, which chain versions are built on, stay exact
and duplicates of old touches are still recognised.

A journey is stored in ``Columns`` (about 30 bytes a touch instead of ~200
for tuples); ``get`` rebuilds the ``Touch`` tuples on demand.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence

from streams.domain.memory import Columns, Interner, Timed, event_hash
from streams.domain.relationships import DAY, RECENT_DAYS, Summary, Tally, summary_of, tally
from streams.domain.touches import Touch


def order_key(touch: Touch) -> tuple[int, str]:
    return touch.at, touch.event_id


def merge_touches(
    a: Sequence[Touch], b: Iterable[Touch], max_steps: int
) -> tuple[tuple[Touch, ...], list[Touch]]:
    """Union of two touch lists, sorted, de-duplicated; returns (kept, overflow)."""
    by_id = {t.event_id: t for t in a}
    for t in b:
        by_id.setdefault(t.event_id, t)
    merged = sorted(by_id.values(), key=order_key)
    cut = max(0, len(merged) - max_steps)
    return tuple(merged[cut:]), merged[:cut]


class _Dropped:
    """Times (sorted) and event-id hashes of touches pushed out by the cap, and the
    oldest of them whole: (at, event_id, kind code), the person's first touch."""

    __slots__ = ("ats", "first", "ids")

    def __init__(self) -> None:
        self.ats = array("q")
        self.ids = array("q")
        self.first: tuple[int, str, int] | None = None

    def add(self, touches: Iterable[tuple[int, str, int]]) -> None:
        """(at, event_id, kind code) of touches not seen before (an event belongs to
        one journey)."""
        for at, event_id, code in touches:
            self.ids.append(event_hash(event_id))
            self.ats.insert(bisect_right(self.ats, at), at)
            if self.first is None or (at, event_id) < self.first[:2]:
                self.first = (at, event_id, code)

    def extend(self, other: _Dropped) -> None:
        self.ids.extend(other.ids)
        self.ats = array("q", sorted((*self.ats, *other.ats)))
        if other.first is not None and (self.first is None or other.first < self.first):
            self.first = other.first


class Journeys:
    """Journeys of every person of one workspace, by person id."""

    def __init__(self, max_steps: int = 200) -> None:
        if max_steps < 1:
            raise ValueError("max_steps must be at least 1")
        self.max_steps = max_steps
        self._journeys: dict[str, Columns] = {}
        self._dropped: dict[str, _Dropped] = {}
        self._kinds: Interner[Timed] = Interner()  # Touch[2:]: channel, campaign...
        self._tallies: list[Tally] = []  # what a touch adds to a score, by kind code
        # Journeys read during one batch, as tuples: a batch reads a journey many
        # times (relationships, every chain in scope) and decoding it is not free.
        self._read: dict[str, tuple[Touch, ...]] = {}

    def __len__(self) -> int:
        return len(self._journeys)

    def __iter__(self) -> Iterator[str]:
        return iter(self._journeys)

    def get(self, person_id: str) -> tuple[Touch, ...]:
        found = self._read.get(person_id)
        if found is None:
            journey = self._journeys.get(person_id)
            found = () if journey is None else tuple(journey.rows(Touch, self._kinds))
            self._read[person_id] = found
        return found

    def summary(self, person_id: str, as_of: int) -> Summary | None:
        """The journey summed up for a relationship score, straight from its columns."""
        journey = self._journeys.get(person_id)
        if journey is None:
            return None
        n, cols = len(journey), journey.cols
        recent = n - bisect_left(cols, as_of - RECENT_DAYS * DAY, 0, n)
        tallies = self._tallies
        if len(tallies) < len(self._kinds.values):  # kinds are only ever added
            tallies.extend(tally(k) for k in self._kinds.values[len(tallies) :])
        counted = [(tallies[code], k) for code, k in journey.code_counts().items()]
        # The first touch ever: the oldest dropped one, else the oldest kept.
        dropped = self._dropped.get(person_id)
        first = dropped.first if dropped is not None else None
        first_at, first_code = (cols[0], cols[n] >> 32) if first is None else (first[0], first[2])
        first_channel = self._kinds.values[first_code][0]
        return summary_of(first_at, cols[n - 1], n, recent, counted, first_channel)

    def end_batch(self) -> None:
        """Forget the tuples read during the batch: the compact form is the state."""
        self._read.clear()

    def add(self, person_id: str, touches: Iterable[Touch]) -> list[Touch]:
        """Add touches to a person's journey; returns those not seen before."""
        journey = self._journeys.get(person_id)
        known: set[str] | None = None  # the kept ids, decoded only when needed
        last = (-(2**62), "") if journey is None else journey.last()
        oldest = 2**62 if journey is None else journey.cols[0]  # the times come first
        dropped = self._dropped.get(person_id)
        fresh: dict[str, Touch] = {}
        for t in touches:
            if t.event_id in fresh:
                continue
            if journey is not None and (t.at, t.event_id) <= last:  # may be a kept one
                if known is None:
                    known = set(journey.event_ids())
                if t.event_id in known:
                    continue
            # only a touch no newer than the oldest kept one can be a dropped one
            if dropped is not None and t.at <= oldest and event_hash(t.event_id) in dropped.ids:
                continue
            fresh[t.event_id] = t
        if fresh and not self._append(person_id, journey, last, fresh.values()):
            current = self.get(person_id)
            self._store(person_id, *merge_touches(current, fresh.values(), self.max_steps))
        return list(fresh.values())

    def _append(
        self,
        person_id: str,
        journey: Columns | None,
        last: tuple[int, str],
        fresh: Iterable[Touch],
    ) -> bool:
        """The usual case, cheaply: touches newer than all kept (``last``); the
        oldest kept ones make room when the journey is full."""
        later = sorted(fresh, key=order_key)
        if journey is None or order_key(later[0]) <= last:
            return False
        over = len(journey) + len(later) - self.max_steps  # the oldest kept ones go
        if over >= len(journey):
            return False
        gone: list[tuple[int, str, int]] = []
        if over > 0:
            journey, gone = journey.without_head(over)
        appended = journey.with_later(later, self._kinds)
        if appended is None:
            return False
        self._journeys[person_id] = appended
        self._read.pop(person_id, None)
        if gone:
            self._dropped.setdefault(person_id, _Dropped()).add(gone)
        return True

    def merge(self, from_person_id: str, into_person_id: str) -> None:
        """Move a merged-away person's journey into the survivor's."""
        moved = self.get(from_person_id)
        self._journeys.pop(from_person_id, None)
        self._read.pop(from_person_id, None)
        moved_dropped = self._dropped.pop(from_person_id, None)
        if moved_dropped is not None:
            self._dropped.setdefault(into_person_id, _Dropped()).extend(moved_dropped)
        if moved:
            current = self.get(into_person_id)
            self._store(into_person_id, *merge_touches(current, moved, self.max_steps))

    def _store(self, person_id: str, kept: tuple[Touch, ...], overflow: list[Touch]) -> None:
        self._journeys[person_id] = Columns(kept, self._kinds)
        self._read.pop(person_id, None)
        if overflow:
            codes = self._kinds.codes([t[2:] for t in overflow])
            gone = [(t.at, t.event_id, code) for t, code in zip(overflow, codes, strict=True)]
            self._dropped.setdefault(person_id, _Dropped()).add(gone)

    def count_until(self, person_id: str, end: int) -> int:
        """How many distinct touches ever applied to a person have ``at <= end``."""
        journey = self._journeys.get(person_id)
        kept = 0 if journey is None else journey.count_until(end)
        dropped = self._dropped.get(person_id)
        return kept + (0 if dropped is None else bisect_right(dropped.ats, end))
