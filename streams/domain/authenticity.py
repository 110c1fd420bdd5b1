"""Engagement authenticity: reciprocity rings, engagement pods, broadcast-only accounts.

The seeds say follow-for-follow and like-for-like groups are worth $0 and that
push-only pages miss the point. Three detectors, all folds over the set of
events seen (so the flags after a set of events do not depend on arrival order):

* **Reciprocity ring** (follow-for-follow, like-for-like). A *pair* is one of our
  own accounts and one handle. A pair is a *ring candidate* when it exchanged
  the same act both ways (inbound follow and outbound follow, or inbound like
  and outbound like) within ``reciprocal_window_s`` and every act of the pair
  lies within ``reciprocal_window_s`` of its first act: no further engagement.
  Candidates of one own account whose first acts follow each other within
  ``ring_gap_s`` form a group; a group of at least ``min_ring_size`` is a ring
  and every member is flagged ``reciprocity_ring``. A later act of a member
  ends "no further engagement" and un-flags it (and may dissolve the ring).
* **Engagement pod**. An inbound like or share on one of our posts is *lockstep*
  when it comes within ``pod_lag_s`` of the post. A pair is a pod candidate
  with at least ``min_pod_posts`` lockstep acts making at least
  ``min_pod_share`` of its acts on our posts; at least ``min_pod_size``
  candidates on one own account are a pod, each flagged ``engagement_pod``.
  Post times come from the ``post`` events; acts seen before their post wait.
* **Broadcast-only** own account: at least ``min_broadcast_posts`` posts and no
  outbound engagement other than posting (no reply, like, share, DM, follow...;
  an unfollow engages nobody and does not count).

Weights: the acts of a flagged ring or pod member (for a pod, its lockstep
acts) are *suspect* and weigh 0 in the ``*_authentic`` attribution models.
Broadcast-only is a flag on our own account, not on anyone's engagement, so it
does not change weights.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

from schemas.events import Action, Direction, SocialInteraction
from schemas.keys import handle_key
from streams.domain.memory import HashTimes, SeenIds, event_hash, in_sorted
from streams.domain.touches import epoch

MINUTE = 60
HOUR = 3600
DAY = 86400
RING = "reciprocity_ring"
POD = "engagement_pod"
BROADCAST = "broadcast_only"
_RECIPROCAL = (Action.follow.value, Action.like.value)
_POD_ACTS = frozenset({Action.like, Action.share})
_MAX_RING_ACTS = 16  # a ring candidate did little more than the exchange


@dataclass(frozen=True)
class AuthenticityConfig:
    reciprocal_window_s: int = DAY
    ring_gap_s: int = 2 * DAY
    min_ring_size: int = 5
    pod_lag_s: int = 30 * MINUTE
    min_pod_posts: int = 5
    min_pod_share: float = 0.7
    min_pod_size: int = 3
    min_broadcast_posts: int = 10


class Pairs:
    """What each handle did with one of our accounts, as order-free aggregates: a
    row per pair, in columns (a pair object with its own ints cost ~300 bytes).

    Event ids are kept as 64-bit hashes (see ``streams.domain.memory``): those of
    all acts only while the pair may still be a ring candidate (``collecting``),
    in two flat columns (row, hash) that drop the ids of pairs let go once those
    are the larger part; lockstep ids per row.
    """

    __slots__ = (
        "acts",
        "collecting",
        "first_at",
        "id_hashes",
        "id_rows",
        "kept_ids",
        "last_at",
        "lockstep",
        "lockstep_ids",
        "on_posts",
        "reciprocal",
        "rows",
    )

    def __init__(self) -> None:
        self.rows: dict[str, int] = {}  # member handle key -> row
        self.first_at = array("q")
        self.last_at = array("q")
        self.acts = array("i")
        self.reciprocal = bytearray()  # bits: (inbound, outbound) x (follow, like) seen
        self.on_posts = array("i")
        self.lockstep = array("i")
        self.collecting = bytearray()  # 1 while the row's act ids are kept
        self.id_rows = array("i")
        self.id_hashes = array("q")
        self.kept_ids = 0  # of rows still collecting: min(acts, _MAX_RING_ACTS) each
        self.lockstep_ids: dict[int, array[int]] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def row(self, member: str) -> int:
        found = self.rows.get(member)
        if found is None:
            found = self.rows[member] = len(self.acts)
            self.first_at.append(2**62)
            self.last_at.append(-(2**62))
            for column in (self.acts, self.on_posts, self.lockstep):
                column.append(0)
            self.reciprocal.append(0)
            self.collecting.append(1)
        return found

    def add(self, row: int, at: int, event_id: str, inbound: bool, action: str) -> None:
        self.first_at[row] = min(self.first_at[row], at)
        self.last_at[row] = max(self.last_at[row], at)
        self.acts[row] += 1
        if self.collecting[row]:
            if self.acts[row] > _MAX_RING_ACTS:
                self._let_go(row)
            else:
                self.id_rows.append(row)
                self.id_hashes.append(event_hash(event_id))
                self.kept_ids += 1
        if action in _RECIPROCAL:
            self.reciprocal[row] |= 1 << (_RECIPROCAL.index(action) * 2 + inbound)

    def ring_candidate(self, row: int, window: int) -> bool:
        """All acts within ``window`` of the first, and one of them done both ways.

        (Both ways within ``window`` of each other follows from the first part.)
        A pair that is not a candidate for its span or count never will be: its
        span and count only grow, so its event ids are let go.
        """
        if self.last_at[row] - self.first_at[row] > window or self.acts[row] > _MAX_RING_ACTS:
            self._let_go(row)
            return False
        bits = self.reciprocal[row]
        return any((bits >> (i * 2)) & 3 == 3 for i in range(len(_RECIPROCAL)))

    def _let_go(self, row: int) -> None:
        if not self.collecting[row]:
            return
        self.collecting[row] = 0
        self.kept_ids -= min(self.acts[row], _MAX_RING_ACTS)
        if 2 * self.kept_ids < len(self.id_rows) and len(self.id_rows) >= SeenIds.MIN_RECENT:
            kept = [i for i, r in enumerate(self.id_rows) if self.collecting[r]]
            self.id_rows = array("i", [self.id_rows[i] for i in kept])
            self.id_hashes = array("q", [self.id_hashes[i] for i in kept])

    def event_ids(self, rows: set[int]) -> list[int]:
        """Hashes of the act ids of ``rows`` (pairs still collecting)."""
        return [
            h
            for r, h in zip(self.id_rows, self.id_hashes, strict=True)
            if r in rows and self.collecting[r]
        ]

    def add_lockstep(self, row: int, event_id: str) -> None:
        self.lockstep[row] += 1
        self.lockstep_ids.setdefault(row, array("q")).append(event_hash(event_id))

    def span(self, row: int) -> tuple[int, int, int]:
        """(first act time, last act time, acts) of a row."""
        return self.first_at[row], self.last_at[row], self.acts[row]


@dataclass
class _Own:
    """One of our own accounts: its posts and the pairs it is part of.

    Posts are keyed by a 64-bit hash of their content ref (a reference costs
    ~80 bytes); a collision would take an act on one post for an act on another.
    """

    pairs: Pairs = field(default_factory=Pairs)
    posts: HashTimes = field(default_factory=HashTimes)  # content_ref hash -> post time
    post_ids: SeenIds = field(default_factory=SeenIds)
    pending: dict[int, list[tuple[str, int, str]]] = field(default_factory=dict)
    outbound_acts: int = 0
    first_post_at: int = 2**62  # over every post event, with a content ref or not
    last_post_at: int = -(2**62)


@dataclass(frozen=True)
class Flag:
    flag: str
    own_account: str
    subject_key: str
    group_id: str
    group_size: int
    first_at: int
    last_at: int
    acts: int


class Authenticity:
    """Flags of one workspace, updated one batch at a time."""

    def __init__(self, config: AuthenticityConfig | None = None) -> None:
        self.config = config or AuthenticityConfig()
        self.own: dict[str, _Own] = {}
        self.flags: dict[tuple[str, str, str], Flag] = {}  # (flag, own, subject) -> flag
        self.suspect = array("q")  # hashes of the event ids weighing 0, sorted
        self._reweighted: set[int] = set()  # see ``take_reweighted``
        self._rings: dict[str, set[str]] = {}  # own -> member keys of ring candidates
        self._pods: dict[str, set[str]] = {}  # own -> member keys of pod candidates
        self._own_keys: dict[tuple[str, str], str] = {}
        self._dirty: set[str] = set()
        self._dirty_pairs: set[tuple[str, str]] = set()
        self._lockstep_added: set[tuple[str, str]] = set()
        # Flagged pod members whose flag stayed as it was while one of their acts
        # became suspect (it waited for its post): set by each ``refresh``.
        self.suspect_added: set[str] = set()

    # -- folding events in ---------------------------------------------------

    def own_key(self, event: SocialInteraction) -> str:
        """The identity key of our account in the event (cached: few own accounts)."""
        found = self._own_keys.get((event.platform, event.own_account))
        if found is None:
            found = handle_key(event.platform.value, event.own_account)
            self._own_keys[event.platform, event.own_account] = found
        return found

    def observe(self, event: SocialInteraction) -> str:
        """Fold one social event in (the caller passes each act once); returns the own key."""
        own_key = self.own_key(event)
        own = self.own.get(own_key)
        if own is None:
            own = self.own[own_key] = _Own()
        at = epoch(event)
        action = event.action
        if action is Action.post:
            if not own.post_ids.add(event.event_id):
                return own_key
            self._dirty.add(own_key)
            own.first_post_at = min(own.first_post_at, at)
            own.last_post_at = max(own.last_post_at, at)
            ref = event_hash(event.content_ref) if event.content_ref else None
            if ref is not None and own.posts.add(ref, at):
                for member, when, eid in own.pending.pop(ref, []):
                    self._on_post(own_key, own.pairs, member, at, when, eid)
            return own_key
        inbound = event.direction is Direction.inbound
        if not inbound:
            own.outbound_acts += 1
        if event.handle is None:
            return own_key
        member = handle_key(event.platform, event.handle)
        row = own.pairs.row(member)
        own.pairs.add(row, at, event.event_id, inbound, action)
        self._dirty.add(own_key)
        self._dirty_pairs.add((own_key, member))
        if inbound and action in _POD_ACTS and event.content_ref is not None:
            ref = event_hash(event.content_ref)
            posted = own.posts.get(ref)
            if posted is None:
                own.pending.setdefault(ref, []).append((member, at, event.event_id))
            else:
                self._on_post(own_key, own.pairs, member, posted, at, event.event_id)
        return own_key

    def _on_post(
        self, own_key: str, pairs: Pairs, member: str, posted: int, at: int, event_id: str
    ) -> None:
        row = pairs.rows[member]
        pairs.on_posts[row] += 1
        self._dirty_pairs.add((own_key, member))
        if 0 <= at - posted <= self.config.pod_lag_s:
            pairs.add_lockstep(row, event_id)
            # A member flagged already keeps its flag as it was (an act that waited
            # for its post was counted), yet this act is suspect now.
            self._lockstep_added.add((own_key, member))

    # -- detecting -------------------------------------------------------------

    def refresh(self) -> list[tuple[Flag, bool]]:
        """Re-run the detectors on own accounts changed since the last call.

        Returns the flags whose state changed: (flag, True) when raised or
        changed, (flag, False) when lifted.
        """
        cfg = self.config
        for own_key, member in self._dirty_pairs:
            pairs = self.own[own_key].pairs
            row = pairs.rows[member]
            rings = self._rings.setdefault(own_key, set())
            pods = self._pods.setdefault(own_key, set())
            if pairs.ring_candidate(row, cfg.reciprocal_window_s):
                rings.add(member)
            else:
                rings.discard(member)
            lockstep = pairs.lockstep[row]
            if (
                lockstep >= cfg.min_pod_posts
                and lockstep >= cfg.min_pod_share * pairs.on_posts[row]
            ):
                pods.add(member)
            else:
                pods.discard(member)
        self._dirty_pairs.clear()
        changed: list[tuple[Flag, bool]] = []
        for own_key in sorted(self._dirty):
            found = self._detect(own_key)
            old = {k: f for k, f in self.flags.items() if k[1] == own_key}
            for key, flag in found.items():
                if old.get(key) != flag:
                    changed.append((flag, True))
                self.flags[key] = flag
            for key, flag in old.items():
                if key not in found:
                    del self.flags[key]
                    changed.append((flag, False))
        self._dirty.clear()
        added = {m for own, m in self._lockstep_added if (POD, own, m) in self.flags}
        self._lockstep_added.clear()
        self.suspect_added = added
        if changed or added:
            self._suspects()
        return changed

    def _detect(self, own_key: str) -> dict[tuple[str, str, str], Flag]:
        cfg = self.config
        found: dict[tuple[str, str, str], Flag] = {}
        own = self.own[own_key]
        pairs = own.pairs
        candidates = sorted(
            (pairs.first_at[pairs.rows[m]], m) for m in self._rings.get(own_key, ())
        )
        group: list[tuple[int, str]] = []
        for item in [*candidates, None]:
            if item is not None and (not group or item[0] - group[-1][0] <= cfg.ring_gap_s):
                group.append(item)
                continue
            if len(group) >= cfg.min_ring_size:
                gid = f"{RING}:{own_key}:{group[0][0]}"
                for _, member in group:
                    span = pairs.span(pairs.rows[member])
                    found[RING, own_key, member] = Flag(
                        RING, own_key, member, gid, len(group), *span
                    )
            group = [] if item is None else [item]
        pod = sorted(self._pods.get(own_key, ()))
        if len(pod) >= cfg.min_pod_size:
            gid = f"{POD}:{own_key}"
            for member in pod:
                span = pairs.span(pairs.rows[member])
                found[POD, own_key, member] = Flag(POD, own_key, member, gid, len(pod), *span)
        if len(own.post_ids) >= cfg.min_broadcast_posts and own.outbound_acts == 0:
            found[BROADCAST, own_key, own_key] = Flag(
                BROADCAST, own_key, own_key, f"{BROADCAST}:{own_key}", 1, own.first_post_at,
                own.last_post_at, len(own.post_ids),
            )  # fmt: skip
        return found

    def _suspects(self) -> None:
        suspect: set[int] = set()
        in_rings: dict[str, set[int]] = {}  # own -> rows of flagged ring members
        for flag, own, member in self.flags:
            pairs = self.own[own].pairs
            row = pairs.rows.get(member)
            if row is None:  # a broadcast flag
                continue
            if flag == RING:
                in_rings.setdefault(own, set()).add(row)
            else:
                suspect.update(pairs.lockstep_ids.get(row, ()))
        for own, rows in in_rings.items():
            suspect.update(self.own[own].pairs.event_ids(rows))
        self._reweighted ^= suspect.symmetric_difference(self.suspect)
        self.suspect = array("q", sorted(suspect))

    def take_reweighted(self) -> set[int]:
        """Hashes of the event ids whose weight changed since the last call."""
        taken, self._reweighted = self._reweighted, set()
        return taken

    def weight(self, event_id: str) -> float:
        """Authenticity weight of a touch: 0 for suspect acts, else 1."""
        return 0.0 if self.suspect and in_sorted(self.suspect, event_hash(event_id)) else 1.0

    def ring_members(self) -> set[tuple[str, str]]:
        """(own account key, member handle key) of every flagged ring member."""
        return {(own, member) for (flag, own, member) in self.flags if flag == RING}
