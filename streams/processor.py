"""One batch in, rows for every table out. No Kafka, no ClickHouse.

The processor owns the per-workspace state (identity, journeys, chains). It
drops events it has already applied, so a redelivered message never becomes a
second row; the set of applied ids is rebuilt with the state after a restart.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from oppchain.settings import Settings
from schemas.events import Event
from schemas.keys import contact_key
from streams.domain.config import DomainConfig
from streams.domain.memory import SeenIds
from streams.domain.state import Outputs, WorkspaceState
from streams.ingest import Record, Valid, event_rows, split

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
    rows: Rows
    dead: list[tuple[Record, dict[str, Any]]]
    valid: int
    duplicates: int


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
        now = now or datetime.now(UTC)
        valid, dead = split(
            records, secret=self._secret(), max_bytes=self.settings.max_message_bytes
        )
        fresh: dict[str, list[Valid]] = defaultdict(list)
        duplicates = 0
        dropped: list[dict[str, Any]] = []
        for item in valid:
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
        stored = sum(len(v) for v in fresh.values())
        self.counters.consumed += len(records)
        self.counters.stored += stored
        self.counters.dead_lettered += len(dead)
        self.counters.duplicates_dropped += duplicates
        return BatchResult(dict(rows), dead, stored, duplicates)

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

    def drop(self, workspaces: Iterable[str]) -> None:
        for workspace in workspaces:
            self.states.pop(workspace, None)
            self.seen.pop(workspace, None)

    def memory_per_person(self) -> float:
        """Bytes of state per tracked person, seen event ids included; max over workspaces."""
        return max(
            (s.memory_per_person(self.seen.get(w)) for w, s in self.states.items()), default=0.0
        )


def _persons(
    state: WorkspaceState, items: Sequence[Valid], touch_persons: list[dict[str, Any]]
) -> dict[str, tuple[str, str]]:
    """event_id -> (person_id, account_id) for touches and contact-bound CRM events."""
    persons = {r["event_id"]: (r["person_id"], r["account_id"] or "") for r in touch_persons}
    for item in items:
        contact_id = getattr(item.event, "contact_id", None)
        key = contact_key(contact_id) if isinstance(contact_id, str) else ""
        if key and item.event.event_id not in persons and state.graph.has_key(key):
            person = state.graph.person_of(key)
            persons[item.event.event_id] = (person, state.graph.account_of(person) or "")
    return persons
