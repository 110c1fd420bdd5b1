"""Journeys: each person's touches in event-time order, newest ``max_steps`` kept.

Applying a touch twice changes nothing (touches are keyed by event id), and
the kept touches are the newest ``max_steps`` of every touch ever applied, so
the result does not depend on arrival order. Touches pushed out by the cap
leave a trace (their time and a 64-bit hash of their event id, 16 bytes each)
so that counts over all touches, which chain versions are built on, stay exact
and duplicates of old touches are still recognised.
"""

from __future__ import annotations

import hashlib
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence

from streams.domain.touches import Touch


def order_key(touch: Touch) -> tuple[int, str]:
    return touch.at, touch.event_id


def event_hash(event_id: str) -> int:
    digest = hashlib.blake2b(event_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


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
    """Times (sorted) and event-id hashes of touches pushed out by the cap."""

    __slots__ = ("ats", "ids")

    def __init__(self) -> None:
        self.ats = array("q")
        self.ids = array("q")

    def add(self, touches: Iterable[Touch]) -> None:
        """Callers pass touches not seen before (an event belongs to one journey)."""
        for t in touches:
            self.ids.append(event_hash(t.event_id))
            self.ats.insert(bisect_right(self.ats, t.at), t.at)

    def extend(self, other: _Dropped) -> None:
        self.ids.extend(other.ids)
        self.ats = array("q", sorted((*self.ats, *other.ats)))


class Journeys:
    """Journeys of every person of one workspace, by person id."""

    def __init__(self, max_steps: int = 200) -> None:
        if max_steps < 1:
            raise ValueError("max_steps must be at least 1")
        self.max_steps = max_steps
        self._touches: dict[str, tuple[Touch, ...]] = {}
        self._dropped: dict[str, _Dropped] = {}

    def __len__(self) -> int:
        return len(self._touches)

    def __iter__(self) -> Iterator[str]:
        return iter(self._touches)

    def get(self, person_id: str) -> tuple[Touch, ...]:
        return self._touches.get(person_id, ())

    def add(self, person_id: str, touches: Iterable[Touch]) -> list[Touch]:
        """Add touches to a person's journey; returns those not seen before."""
        current = self._touches.get(person_id, ())
        known = {t.event_id for t in current}
        dropped = self._dropped.get(person_id)
        fresh: dict[str, Touch] = {}
        for t in touches:
            if t.event_id in known or t.event_id in fresh:
                continue
            # only a touch no newer than the oldest kept one can be a dropped one
            if (
                dropped is not None
                and t.at <= current[0].at
                and event_hash(t.event_id) in dropped.ids
            ):
                continue
            fresh[t.event_id] = t
        if fresh:
            self._store(person_id, *merge_touches(current, fresh.values(), self.max_steps))
        return list(fresh.values())

    def merge(self, from_person_id: str, into_person_id: str) -> None:
        """Move a merged-away person's journey into the survivor's."""
        moved = self._touches.pop(from_person_id, ())
        moved_dropped = self._dropped.pop(from_person_id, None)
        if moved_dropped is not None:
            self._dropped.setdefault(into_person_id, _Dropped()).extend(moved_dropped)
        if moved:
            current = self._touches.get(into_person_id, ())
            self._store(into_person_id, *merge_touches(current, moved, self.max_steps))

    def _store(self, person_id: str, kept: tuple[Touch, ...], overflow: list[Touch]) -> None:
        self._touches[person_id] = kept
        if overflow:
            self._dropped.setdefault(person_id, _Dropped()).add(overflow)

    def count_until(self, person_id: str, end: int) -> int:
        """How many distinct touches ever applied to a person have ``at <= end``."""
        kept = bisect_right(self.get(person_id), end, key=lambda t: t.at)
        dropped = self._dropped.get(person_id)
        return kept + (0 if dropped is None else bisect_right(dropped.ats, end))
