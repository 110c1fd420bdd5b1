"""State sizing (a rough deep ``sys.getsizeof``) and compact containers for it.

Per-event state is what grows, so it is kept in columns, not objects: a small
tuple with its own int and str costs ~200 bytes, its columns ~30.

Event ids are kept as 64-bit hashes wherever only "seen before?" matters: a
string costs ~70 bytes and a set slot ~30 more, a sorted hash 8. The hash is
Python's own (SipHash, keyed per process: fast, cached on the string, and not
predictable from outside); hashes live only in memory and are rebuilt with the
state after a restart, so they are never compared across processes. Two
distinct ids share a hash with odds ~n^2/2^65 among n ids (1e-7 for 2M ids);
the cost of a collision is one event taken for a duplicate.
"""

from __future__ import annotations

import os
import sys
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from itertools import accumulate, islice
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T", bound=tuple[Any, ...])
_LEAVES = (str, bytes, int, float, bool, type(None))


def deep_size(*roots: Any) -> int:
    """Bytes held by ``roots``; shared objects (interned strings, small ints) count once."""
    seen: set[int] = set()
    total = 0
    stack = list(roots)
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, type):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if isinstance(obj, _LEAVES):
            continue
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset):
            stack.extend(obj)
        elif hasattr(obj, "__dict__"):
            stack.append(vars(obj))
        elif hasattr(type(obj), "__slots__"):
            stack.extend(getattr(obj, s) for s in type(obj).__slots__ if hasattr(obj, s))
    return total


def event_hash(event_id: str) -> int:
    """A 64-bit hash of an event id, stable within this process."""
    return hash(event_id)


def in_sorted(values: array[int], value: int) -> bool:
    i = bisect_left(values, value)
    return i < len(values) and values[i] == value


class SeenIds:
    """A grow-only set of event ids, stored as sorted 64-bit hashes.

    New hashes go to a small set first and are merged into the sorted array
    when it reaches 1/8 of the array (at least ``MIN_RECENT``), or by ``flush``
    (the processor's, once a batch), which keeps the set small and merging
    amortised O(1) per id.
    """

    MIN_RECENT = 64
    __slots__ = ("_recent", "_sorted")

    def __init__(self, event_ids: Iterable[str] = ()) -> None:
        self._sorted = array("q")
        self._recent: set[int] = set()
        self.update(event_ids)

    def __len__(self) -> int:
        return len(self._sorted) + len(self._recent)

    def __contains__(self, event_id: object) -> bool:
        return isinstance(event_id, str) and self._has(event_hash(event_id))

    def _has(self, h: int) -> bool:
        return h in self._recent or in_sorted(self._sorted, h)

    def add(self, event_id: str) -> bool:
        """Add an id; False when it was already there."""
        h = event_hash(event_id)
        if self._has(h):
            return False
        self._recent.add(h)
        if len(self._recent) >= max(self.MIN_RECENT, len(self._sorted) >> 3):
            self.flush()
        return True

    def update(self, event_ids: Iterable[str]) -> None:
        self._recent.update(h for h in map(event_hash, event_ids) if not self._has(h))
        self.flush()

    def flush(self) -> None:
        """Merge the recent hashes into the sorted array (copying runs between them)."""
        old, merged, done = self._sorted, array("q"), 0
        for h in sorted(self._recent):
            i = bisect_left(old, h, done)
            merged += old[done:i]
            merged.append(h)
            done = i
        merged += old[done:]
        self._sorted, self._recent = merged, set()


class HashTimes:
    """A grow-only map of 64-bit hashes to times: two parallel sorted arrays (16 bytes
    an entry; a dict of ints costs ~100) and a small dict of the newest entries,
    merged in as ``SeenIds`` merges its recent ids."""

    __slots__ = ("_keys", "_recent", "_times")

    def __init__(self) -> None:
        self._keys = array("q")
        self._times = array("q")
        self._recent: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._keys) + len(self._recent)

    def get(self, key: int) -> int | None:
        found = self._recent.get(key)
        if found is None:
            i = bisect_left(self._keys, key)
            if i < len(self._keys) and self._keys[i] == key:
                found = self._times[i]
        return found

    def add(self, key: int, at: int) -> bool:
        """Map ``key`` to ``at``; False (and nothing changed) when it was mapped."""
        if self.get(key) is not None:
            return False
        self._recent[key] = at
        if len(self._recent) >= max(SeenIds.MIN_RECENT, len(self._keys) >> 3):
            self._flush()
        return True

    def times(self) -> list[int]:
        return [*self._times, *self._recent.values()]

    def _flush(self) -> None:
        keys, times, done = array("q"), array("q"), 0
        for key in sorted(self._recent):
            i = bisect_left(self._keys, key, done)
            keys += self._keys[done:i]
            times += self._times[done:i]
            keys.append(key)
            times.append(self._recent[key])
            done = i
        keys += self._keys[done:]
        times += self._times[done:]
        self._keys, self._times, self._recent = keys, times, {}


class Interner(Generic[K]):
    """A small int code for each distinct value (values that repeat a lot)."""

    __slots__ = ("_codes", "values")

    def __init__(self) -> None:
        self._codes: dict[K, int] = {}
        self.values: list[K] = []  # by code

    def __len__(self) -> int:
        return len(self.values)

    def codes(self, values: Iterable[K]) -> list[int]:
        known, out = self._codes, []
        for value in values:
            found = known.get(value)
            if found is None:
                found = known[value] = len(self.values)
                self.values.append(value)
            out.append(found)
        return out


Timed = tuple[Any, ...]  # (at, event_id, *rest): a Touch, a karma Act
_LOW32 = 0xFFFFFFFF
_LITTLE_ENDIAN = sys.byteorder == "little" and array("I").itemsize == 4


class Columns:
    """A sequence of ``(at, event_id, *rest)`` tuples, sorted by ``at``, in two objects.

    ``cols`` holds the n times, then per row the code of its ``rest`` (which
    repeats: channel, action...) in the high bits and where its id ends in
    ``ids`` in the low 32. ``ids`` is the ids' common prefix (``prefix`` long),
    then the rest of each id, concatenated. ``rows`` rebuilds the tuples.
    """

    __slots__ = ("cols", "ids", "prefix")

    def __init__(self, rows: Sequence[Timed], kinds: Interner[Timed]) -> None:
        ids = [r[1] for r in rows]
        prefix = len(os.path.commonprefix(ids)) if len(ids) > 1 else 0  # noqa: RUF071 (by char)
        self.prefix = prefix
        self.ids = ids[0][:prefix] if ids else ""
        self.cols = array("q")
        self._put(rows, kinds)

    def _put(self, rows: Sequence[Timed], kinds: Interner[Timed]) -> None:
        """Add rows (sorted, after any held, ids starting with the prefix) at the end."""
        n, prefix, start = len(self), self.prefix, len(self.ids)
        self.ids += "".join([r[1][prefix:] for r in rows])
        ends = accumulate([len(r[1]) - prefix for r in rows], initial=start)
        codes = kinds.codes([r[2:] for r in rows])
        packed = self.cols[n:]
        packed.extend([c << 32 | e for c, e in zip(codes, islice(ends, 1, None), strict=True)])
        self.cols[n:] = array("q", [r[0] for r in rows])
        self.cols.extend(packed)

    def with_later(self, rows: Sequence[Timed], kinds: Interner[Timed]) -> Columns | None:
        """These rows followed by ``rows`` (sorted, all after the last one held), or
        None when the ids of ``rows`` do not share the prefix."""
        head = self.ids[: self.prefix]
        if not all(r[1].startswith(head) for r in rows):
            return None
        new = object.__new__(Columns)
        new.prefix, new.ids, new.cols = self.prefix, self.ids, array("q", self.cols)
        new._put(rows, kinds)
        return new

    def without_head(self, k: int) -> tuple[Columns, list[tuple[int, str, int]]]:
        """These rows but the first ``k`` (0 < k <= len), and (at, event_id, code of
        the rest) of those."""
        n, cols, prefix = len(self), self.cols, self.prefix
        head = self.ids[:prefix]
        cut = cols[n + k - 1] & _LOW32  # where the k-th row's id ends
        starts = [prefix, *(p & _LOW32 for p in cols[n : n + k - 1])]
        gone = [
            (at, head + self.ids[start : p & _LOW32], p >> 32)
            for at, start, p in zip(cols[:k], starts, cols[n : n + k], strict=True)
        ]
        shift = cut - prefix  # the id ends move left by the bytes cut (no borrow: end >= cut)
        new = object.__new__(Columns)
        new.prefix, new.ids = prefix, head + self.ids[cut:]
        new.cols = cols[k:n]
        new.cols.extend([p - shift for p in cols[n + k :]])
        return new, gone

    def __len__(self) -> int:
        return len(self.cols) >> 1

    def count_until(self, end: int) -> int:
        """How many rows have ``at <= end``."""
        return bisect_right(self.cols, end, 0, len(self))

    def last(self) -> tuple[int, str]:
        """(at, event_id) of the last row (there must be one)."""
        n, cols = len(self), self.cols
        start = cols[2 * n - 2] & _LOW32 if n > 1 else self.prefix
        return cols[n - 1], self.ids[: self.prefix] + self.ids[start : cols[-1] & _LOW32]

    def code_counts(self) -> Counter[int]:
        """How many rows carry each ``rest`` code."""
        n = len(self)
        if _LITTLE_ENDIAN:  # count the high halves in place, without a shift per row
            return Counter(memoryview(self.cols).cast("B").cast("I")[2 * n + 1 :: 2])
        return Counter([packed >> 32 for packed in self.cols[n:]])

    def event_ids(self) -> list[str]:
        ids, n = self.ids, len(self)
        head, start, out = ids[: self.prefix], self.prefix, []
        for packed in self.cols[n:]:
            end = packed & _LOW32
            out.append(head + ids[start:end])
            start = end
        return out

    def rows(self, make: type[T], kinds: Interner[Timed]) -> list[T]:
        """The rows as ``make`` tuples: ``(at, event_id, *rest)``."""
        cols, n, rest = self.cols, len(self), kinds.values
        new = tuple.__new__  # a NamedTuple's own __new__ is a slow Python call
        return [
            new(make, (at, event_id, *rest[packed >> 32]))
            for at, packed, event_id in zip(cols[:n], cols[n:], self.event_ids(), strict=True)
        ]
