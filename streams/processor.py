"""One batch in, rows for every table out. No Kafka, no ClickHouse.

The processor owns the per-workspace state (identity, journeys, chains). It
drops events it has already applied, so a redelivered message never becomes a
second row; the set of applied ids is rebuilt with the state after a restart.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from oppchain.collector import collector_paused, settle
from oppchain.erase_hash import event_hash
from oppchain.settings import Settings
from schemas.codec import decode_batch
from schemas.events import Event
from schemas.keys import contact_key
from streams.domain.config import DomainConfig
from streams.domain.markov import Path
from streams.domain.memory import SeenIds
from streams.domain.outputs import Outputs
from streams.domain.state import WorkspaceState
from streams.ingest import Record, Valid, event_rows, misrouted, split
from streams.store import Query, replay

Rows = dict[str, list[Any]]  # dicts, or tuples in column order for touchpoints
# Every Outputs field but the touch -> person map is a table of the same name.
DOMAIN_TABLES = tuple(f.name for f in fields(Outputs) if f.name != "touch_persons")


@dataclass
class Counters:
    consumed: int = 0
    stored: int = 0
    dead_lettered: int = 0
    duplicates_dropped: int = 0


@dataclass
class BatchResult:
    rows: Rows  # per table: rows, or (from a child process) an Arrow table
    dead: list[tuple[Record, dict[str, Any]]]
    valid: int
    duplicates: int


def count(counters: Counters, consumed: int, result: BatchResult) -> None:
    counters.consumed += consumed
    counters.stored += result.valid
    counters.dead_lettered += len(result.dead)
    counters.duplicates_dropped += result.duplicates


@dataclass(frozen=True)
class StateStats:
    persons: int  # stitched persons
    journeys: int  # persons with a journey
    bytes_per_person: float  # the largest workspace's, seen event ids included

    @staticmethod
    def combine(parts: Iterable[StateStats]) -> StateStats:
        parts = list(parts)
        return StateStats(
            sum(p.persons for p in parts),
            sum(p.journeys for p in parts),
            max((p.bytes_per_person for p in parts), default=0.0),
        )


def domain_config(settings: Settings) -> DomainConfig:
    return DomainConfig(
        path_lookback_days=settings.path_lookback_days,
        max_steps=settings.max_steps,
        half_life_days=settings.time_decay_half_life_days,
    )


@dataclass
class Processor:
    settings: Settings
    states: dict[str, WorkspaceState] = field(default_factory=dict)
    seen: dict[str, SeenIds] = field(default_factory=lambda: defaultdict(SeenIds))
    counters: Counters = field(default_factory=Counters)
    secret: bytes | None = None
    # workspace -> keyed hash of an erased event's id -> its erasure (``forget``)
    erased: dict[str, dict[str, str]] = field(default_factory=dict)
    # Kafka positions of every erased message: a dead letter carries no event id to
    # know it by (it may not even read as JSON, or name a workspace).
    erased_positions: set[tuple[str, int, int]] = field(default_factory=set)
    # Dead-letter events read from another partition than their workspace's (the
    # pipeline's processors; tests and tools feed batches from anywhere).
    check_routing: bool = False

    def _secret(self) -> bytes:
        if self.secret is None:
            self.secret = self.settings.secret_bytes()
        return self.secret

    def state(self, workspace: str) -> WorkspaceState:
        found = self.states.get(workspace)
        if found is None:
            found = WorkspaceState(workspace, domain_config(self.settings), authentic_models=True)
            self.states[workspace] = found
        return found

    def process(self, records: Sequence[Record], now: datetime | None = None) -> BatchResult:
        """Apply a batch; the caller calls ``settle`` once the rows are handed over."""
        with collector_paused():
            return self._process(records, now or datetime.now(UTC))

    def _process(self, records: Sequence[Record], now: datetime) -> BatchResult:
        valid, dead = split(
            records, secret=self._secret(), max_bytes=self.settings.max_message_bytes, now=now
        )
        if self.check_routing:
            valid, wrong = misrouted(valid, self.settings.partitions, now)
            dead += wrong
        # A dead letter erased with its person and delivered again: not stored again.
        erased_dead = [d for d in dead if self._erased_position(d[0])]
        if erased_dead:
            dead = [d for d in dead if not self._erased_position(d[0])]
        fresh: dict[str, list[Valid]] = defaultdict(list)
        duplicates = len(erased_dead)
        dropped: list[dict[str, Any]] = []
        erased: list[dict[str, Any]] = []
        for item in valid:
            gone = self._erased_row(item)
            if gone is not None:  # redelivered after its erasure: its position is recorded
                duplicates += 1
                erased.append(gone)
                continue
            if not self.seen[item.event.workspace].add(item.event.event_id):
                duplicates += 1
                dropped.append(
                    {
                        "dropped_at": now,
                        "workspace": item.event.workspace,
                        "event_id": item.event.event_id,
                        "source_topic": item.record.topic,
                        "source_partition": item.record.partition,
                        "source_offset": item.record.offset,
                    }
                )
                continue
            fresh[item.event.workspace].append(item)
        for workspace in fresh:
            self.seen[workspace].flush()
        rows: Rows = defaultdict(list)
        for workspace, items in fresh.items():
            state = self.state(workspace)
            outputs = state.apply([i.event for i in items], emit=True)
            touches, crm = event_rows(items, _persons(state, items, outputs.touch_persons), now)
            rows["touchpoints"].extend(touches)
            rows["crm_events"].extend(crm)
            for name in DOMAIN_TABLES:
                rows[name].extend(getattr(outputs, name))
        for chain in rows.get("opportunity_chains", ()):
            chain["computed_at"] = now  # processing time: the domain rows carry event time only
        rows["dead_letters"] = [row for _, row in dead]
        if dropped:
            rows["ingest_duplicates"] = dropped
        if erased:
            rows["erased_events"] = erased
        stored = sum(len(v) for v in fresh.values())
        result = BatchResult(dict(rows), dead, stored, duplicates)
        count(self.counters, len(records), result)
        return result

    def forget(self, workspace: str, erased: dict[str, str]) -> None:
        """The workspace's erased events (keyed hash -> erasure id): a redelivered
        one is dropped as a duplicate instead of being stored again."""
        self.erased[workspace] = erased

    def forget_positions(self, positions: list[tuple[str, int, int]]) -> None:
        """Where every erased message was read: one delivered again that is a dead
        letter is dropped as a duplicate instead of being stored again."""
        self.erased_positions = set(positions)

    def _erased_position(self, record: Record) -> bool:
        return (record.topic, record.partition, record.offset) in self.erased_positions

    def floor_versions(self, workspace: str, stored: dict[str, int]) -> None:
        """The latest chain versions written: new versions of those chains go above."""
        self.state(workspace).floor_versions(stored)

    def _erased_row(self, item: Valid) -> dict[str, Any] | None:
        erased = self.erased.get(item.event.workspace)
        if not erased:
            return None
        hashed = event_hash(self._secret(), item.event.workspace, item.event.event_id)
        erasure_id = erased.get(hashed)
        if erasure_id is None:
            return None
        return {
            "erasure_id": erasure_id,
            "workspace": item.event.workspace,
            "event_hash": hashed,
            "source_topic": item.record.topic,
            "source_partition": item.record.partition,
            "source_offset": item.record.offset,
        }

    def rebuild(self, events: Iterable[Event]) -> int:
        """Replay stored events (in event-time order) into state, emitting nothing."""
        by_workspace: dict[str, list[Event]] = defaultdict(list)
        count = 0
        for event in events:
            by_workspace[event.workspace].append(event)
            count += 1
        for workspace, batch in by_workspace.items():
            self.seen[workspace].update(e.event_id for e in batch)
            self.state(workspace).apply(batch, emit=False)
        return count

    def rebuild_payloads(self, payloads: Sequence[bytes]) -> int:
        """Replay stored payloads (in event-time order); they were valid when stored."""
        with collector_paused():
            # No size limit: what was stored was valid, and its stored (canonical)
            # form can be a little longer than the message it came from.
            decoded, failures = decode_batch(list(payloads), max_bytes=sys.maxsize)
            if failures:
                raise RuntimeError(f"stored event no longer decodes: {failures[0]}")
            return self.rebuild(e for _, e in decoded)

    def replay(self, query: Query, workspaces: Sequence[str]) -> int:
        return replay(self, query, workspaces)

    def drop(self, workspaces: Iterable[str]) -> None:
        for workspace in workspaces:
            self.states.pop(workspace, None)
            self.seen.pop(workspace, None)
            self.erased.pop(workspace, None)

    def workspaces(self) -> list[str]:
        return sorted(self.states)

    def markov_paths(self) -> dict[str, list[Path]]:
        """Every workspace's paths; taken while no batch changes the state."""
        return {w: state.markov_paths() for w, state in self.states.items()}

    def stats(self) -> StateStats:
        return StateStats(
            persons=sum(s.graph.person_count for s in self.states.values()),
            journeys=sum(len(s.journeys) for s in self.states.values()),
            bytes_per_person=max(
                (s.memory_per_person(self.seen.get(w)) for w, s in self.states.items()),
                default=0.0,
            ),
        )

    def settle(self) -> None:
        """Run the collector once after a batch or a rebuild, and freeze the state."""
        settle()

    def close(self) -> None:
        """Nothing to release; here for the same face as ``ProcessingPool``."""


def _persons(
    state: WorkspaceState, items: Sequence[Valid], touch_persons: list[dict[str, Any]]
) -> dict[str, tuple[str, str]]:
    """event_id -> (person_id, account_id) for touches and contact-bound CRM events."""
    persons = {r["event_id"]: (r["person_id"], r["account_id"] or "") for r in touch_persons}
    for item in items:
        contact_id = item.event.__dict__.get("contact_id")  # see WorkspaceState._observe_touch
        key = contact_key(contact_id) if isinstance(contact_id, str) else ""
        if key and item.event.event_id not in persons and state.graph.has_key(key):
            person = state.graph.person_of(key)
            persons[item.event.event_id] = (person, state.graph.account_of(person) or "")
    return persons
