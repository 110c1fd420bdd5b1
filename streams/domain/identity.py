"""Identity stitching for one workspace: which identity keys are one person.

A union-find over key strings. State is kept in flat containers indexed by a
small integer per key (no object per key) because a workspace holds millions
of keys. A person id is derived from the keys of its component, not from the
order links arrive, so a replay of the same links in another order names every
person the same way.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple

from schemas.placeholders import PLACEHOLDERS, is_placeholder, placeholder_form

_DEFAULT_PER_TYPE: Mapping[str, int] = MappingProxyType({"crm": 3, "email": 5})


@dataclass(frozen=True)
class IdentityLimits:
    """Guards against mega-merges: one bad link must not fuse thousands of people.

    A person may hold at most ``max_keys_per_type[type]`` keys of a type
    (``default_max_keys`` for any type not listed, i.e. each platform), and keys
    whose value is a placeholder (``blocked_values``, or all zeros such as
    ``0000`` or a nil UUID) never link to anything.
    """

    max_keys_per_type: Mapping[str, int] = field(default_factory=lambda: _DEFAULT_PER_TYPE)
    default_max_keys: int = 3
    blocked_values: frozenset[str] = PLACEHOLDERS

    def max_keys(self, key_type: str) -> int:
        return self.max_keys_per_type.get(key_type, self.default_max_keys)

    def __post_init__(self) -> None:  # configured values compare as keys do
        object.__setattr__(
            self, "blocked_values", frozenset(placeholder_form(v) for v in self.blocked_values)
        )

    def is_blocked(self, key: str) -> bool:
        return is_placeholder(key.partition(":")[2], self.blocked_values)

    def named(self, keys: Sequence[str]) -> str:
        """The key that names a reference's person: the first that is not a
        placeholder (``crm:unknown`` beside a handle would gather everybody's
        touches), or the first when all are."""
        return next((k for k in keys if not self.is_blocked(k)), keys[0])


class Merge(NamedTuple):
    from_person_id: str
    into_person_id: str
    keys_moved: tuple[str, ...]
    at: int
    event_id: str
    reason: str


class Refusal(NamedTuple):
    key_a: str
    key_b: str
    rule: str
    detail: str
    at: int
    event_id: str


@dataclass
class LinkResult:
    person_id: str | None
    merges: list[Merge] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)


def key_type(key: str) -> str:
    return key.partition(":")[0]


class IdentityGraph:
    """Connected components of identity keys, with accounts attached to persons.

    Account membership is kept once seen (``persons_of_account`` only grows):
    a person who was at an account when touched still counts for that
    account's deals, and chains that only grow keep their versions monotone.
    ``account_of`` is the current account, set by the caller.
    """

    def __init__(self, workspace: str, limits: IdentityLimits | None = None) -> None:
        self.workspace = workspace
        self.limits = limits or IdentityLimits()
        self._index: dict[str, int] = {}
        self._keys: list[str] = []
        self._parent = array("q")
        self._next = array("q")  # circular list of each component's members
        self._size = array("l")
        self._pid: list[str | None] = []  # person id, set on roots only
        self._pid_key: dict[str, str] = {}  # live person id -> one of its keys
        self._merged_into: dict[str, str] = {}
        self._account: dict[str, str] = {}
        self._accounts_of: dict[str, tuple[str, ...]] = {}  # tuples: most hold one
        self._members: dict[str, set[str]] = {}

    # -- keys and persons ------------------------------------------------

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def person_count(self) -> int:
        return len(self._pid_key)

    def _person_hash(self, key: str) -> str:
        return hashlib.sha1((self.workspace + key).encode()).hexdigest()[:16]

    def _add(self, key: str) -> int:
        idx = self._index.get(key)
        if idx is not None:
            return idx
        idx = len(self._keys)
        self._index[key] = idx
        self._keys.append(key)
        self._parent.append(idx)
        self._next.append(idx)
        self._size.append(1)
        pid = "p_" + self._person_hash(key)
        self._pid.append(pid)
        self._pid_key[pid] = key
        return idx

    def _find(self, idx: int) -> int:
        parent = self._parent
        root = idx
        while parent[root] != root:
            root = parent[root]
        while parent[idx] != root:
            parent[idx], idx = root, parent[idx]
        return root

    def _root_pid(self, root: int) -> str:
        pid = self._pid[root]
        assert pid is not None
        return pid

    def _members_of(self, root: int) -> list[str]:
        out = [self._keys[root]]
        cur = self._next[root]
        while cur != root:
            out.append(self._keys[cur])
            cur = self._next[cur]
        return out

    def has_key(self, key: str) -> bool:
        return key in self._index

    def person_of(self, key: str) -> str:
        """The person holding ``key``; an unseen key becomes a new person."""
        return self._root_pid(self._find(self._add(key)))

    def resolve(self, person_id: str) -> str:
        """The live id of a person, following merges of an old id."""
        seen = person_id
        while seen in self._merged_into:
            seen = self._merged_into[seen]
        if seen != person_id:
            self._merged_into[person_id] = seen
        return seen

    def keys_of(self, person_id: str) -> list[str]:
        key = self._pid_key.get(self.resolve(person_id))
        return [] if key is None else self._members_of(self._find(self._index[key]))

    def size_of(self, person_id: str) -> int:
        key = self._pid_key.get(self.resolve(person_id))
        return 0 if key is None else self._size[self._find(self._index[key])]

    # -- linking ---------------------------------------------------------

    def link(self, keys: Iterable[str], *, at: int, event_id: str, reason: str) -> LinkResult:
        """Declare ``keys`` one person; merges that would break a limit are refused.

        Keys are linked one at a time to the first usable key, so a refused key
        does not stop the others from linking.
        """
        result = LinkResult(person_id=None)
        unique = list(dict.fromkeys(keys))
        usable = [k for k in unique if not self.limits.is_blocked(k)]
        for key in unique:
            if key not in usable:
                other = usable[0] if usable else next((k for k in unique if k != key), "")
                result.refusals.append(
                    Refusal(key, other, "blocked_value", "placeholder identity value", at, event_id)
                )
        if not usable:
            return result
        anchor = self._add(usable[0])
        for key in usable[1:]:
            ra, rb = self._find(anchor), self._find(self._add(key))
            if ra == rb:
                continue
            broken = self._broken_limit(ra, rb)
            if broken is not None:
                result.refusals.append(Refusal(usable[0], key, *broken, at, event_id))
                continue
            result.merges.append(self._union(ra, rb, at, event_id, reason))
        result.person_id = self._root_pid(self._find(anchor))
        return result

    def _broken_limit(self, ra: int, rb: int) -> tuple[str, str] | None:
        counts: dict[str, int] = {}
        for key in self._members_of(ra) + self._members_of(rb):
            t = key_type(key)
            counts[t] = counts.get(t, 0) + 1
        for t, n in sorted(counts.items()):
            limit = self.limits.max_keys(t)
            if n > limit:
                return f"max_keys:{t}", f"merged person would hold {n} {t} keys (limit {limit})"
        return None

    def _union(self, ra: int, rb: int, at: int, event_id: str, reason: str) -> Merge:
        pa, pb = self._root_pid(ra), self._root_pid(rb)
        into_pid, from_pid = (pa, pb) if pa < pb else (pb, pa)
        from_root = rb if into_pid == pa else ra
        moved = tuple(sorted(self._members_of(from_root)))
        if self._size[ra] < self._size[rb]:
            ra, rb = rb, ra
        self._parent[rb] = ra
        self._size[ra] += self._size[rb]
        self._next[ra], self._next[rb] = self._next[rb], self._next[ra]
        self._pid[rb] = None
        self._pid[ra] = into_pid
        del self._pid_key[from_pid]
        self._merged_into[from_pid] = into_pid
        self._move_accounts(from_pid, into_pid)
        return Merge(from_pid, into_pid, moved, at, event_id, reason)

    # -- accounts --------------------------------------------------------

    def set_account(self, person_id: str, account_id: str, *, current: bool = True) -> bool:
        """Record that a person belongs to an account; True when membership is new.

        ``current=False`` records a past or secondary membership without
        changing ``account_of``.
        """
        pid = self.resolve(person_id)
        if current:
            self._account[pid] = account_id
        known = self._accounts_of.get(pid, ())
        if account_id in known:
            return False
        self._accounts_of[pid] = (*known, account_id)
        self._members.setdefault(account_id, set()).add(pid)
        return True

    def account_of(self, person_id: str) -> str | None:
        return self._account.get(self.resolve(person_id))

    def accounts_of(self, person_id: str) -> frozenset[str]:
        return frozenset(self._accounts_of.get(self.resolve(person_id), ()))

    def persons_of_account(self, account_id: str) -> frozenset[str]:
        return frozenset(self._members.get(account_id, ()))

    def accounts(self) -> list[str]:
        return list(self._members)

    def _move_accounts(self, from_pid: str, into_pid: str) -> None:
        current = self._account.pop(from_pid, None)
        if current is not None:
            self._account.setdefault(into_pid, current)
        moved = self._accounts_of.pop(from_pid, ())
        if not moved:
            return
        for account_id in moved:
            members = self._members[account_id]
            members.discard(from_pid)
            members.add(into_pid)
        known = self._accounts_of.get(into_pid, ())
        self._accounts_of[into_pid] = known + tuple(a for a in moved if a not in known)
