"""The event store: state is rebuilt by replaying stored events from ClickHouse.

``touchpoints`` and ``crm_events`` keep every applied event's payload; replaying
them in event-time order with emitting switched off gives back the state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, Protocol

from sinks.spec import quote

Query = Callable[[str], list[tuple[Any, ...]]]


class Rebuildable(Protocol):
    def rebuild_payloads(self, payloads: Sequence[bytes]) -> int: ...

    def forget(self, workspace: str, erased: dict[str, str]) -> None: ...

    def forget_positions(self, positions: list[tuple[str, int, int]]) -> None: ...

    def floor_versions(self, workspace: str, stored: dict[str, int]) -> None: ...


CHUNK = 20000  # events per fold: bounds the decoded events alive at once
WINDOW = 50_000  # stored rows per query: bounds the payloads alive at once


def _where(workspaces: Sequence[str] | None, *conditions: str) -> str:
    if workspaces:
        conditions = (f"workspace IN ({', '.join(quote(w) for w in workspaces)})", *conditions)
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""


def stored_days_sql(workspaces: Sequence[str] | None = None) -> str:
    """(day, stored rows) of the events of ``workspaces`` (or all), oldest first;
    rows not yet merged count twice, which only sizes the windows."""
    where = _where(workspaces)
    days = "SELECT toDate32(occurred_at) AS day, count() AS n FROM"
    return (
        f"SELECT day, sum(n) FROM ({days} touchpoints{where} GROUP BY day "
        f"UNION ALL {days} crm_events{where} GROUP BY day) GROUP BY day ORDER BY day"
    )


def stored_events_sql(
    workspaces: Sequence[str] | None = None, days: tuple[date, date] | None = None
) -> str:
    """Payloads of the stored events (of ``workspaces``, or all; from the first to
    the last of ``days``, or ever), in event-time order."""
    # toDate32, not toDate: toDate wraps outside 1970-2149, which breaks event-time
    # order. Events are bounded to 1970-2099, but rows stored before may not be.
    span = () if days is None else (f"toDate32(occurred_at) BETWEEN '{days[0]}' AND '{days[1]}'",)
    where = _where(workspaces, *span)
    columns = "SELECT occurred_at, event_id, payload FROM"
    return (
        f"SELECT payload FROM ({columns} touchpoints FINAL{where} "
        f"UNION ALL {columns} crm_events FINAL{where}) ORDER BY occurred_at, event_id"
    )


def windows(days: Sequence[tuple[date, int]], size: int) -> list[tuple[date, date]]:
    """Consecutive days grouped into (first, last) windows of at most ``size`` rows
    (a day with more is a window of its own)."""
    found: list[tuple[date, date]] = []
    first: date | None = None
    last: date | None = None
    rows = 0
    for day, n in days:
        if first is not None and last is not None and rows + n > size:
            found.append((first, last))
            first, rows = None, 0
        if first is None:
            first = day
        last, rows = day, rows + n
    if first is not None and last is not None:
        found.append((first, last))
    return found


def replay(
    target: Rebuildable,
    query: Query,
    workspaces: Sequence[str] | None = None,
    *,
    window: int = WINDOW,
) -> int:
    """Fold the stored events into ``target``'s state, and tell it which events of
    those workspaces were erased (so a redelivery is not stored again) and the
    latest chain versions written (so a new one goes above them); return how many
    events were folded in.

    Events are read a window of days at a time, in event-time order: memory stays
    bounded by the window, not the history (a day is never split, so a window
    holds every stored copy of its events and FINAL keeps one).
    """
    total = 0
    for days in windows(query(stored_days_sql(workspaces)), window):
        payloads = [r[0].encode() for r in query(stored_events_sql(workspaces, days))]
        total += sum(
            target.rebuild_payloads(payloads[start : start + CHUNK])
            for start in range(0, len(payloads), CHUNK)
        )
        del payloads
    erased: dict[str, dict[str, str]] = {w: {} for w in workspaces or ()}
    for workspace, hashed, erasure_id in query(erased_events_sql(workspaces)):
        erased.setdefault(workspace, {})[hashed] = erasure_id
    for workspace, hashes in erased.items():
        target.forget(workspace, hashes)
    target.forget_positions(erased_positions(query))
    stored: dict[str, dict[str, int]] = {}
    for workspace, opportunity_id, version in query(chain_versions_sql(workspaces)):
        stored.setdefault(workspace, {})[opportunity_id] = int(version)
    for workspace, versions in stored.items():
        target.floor_versions(workspace, versions)
    return total


def chain_versions_sql(workspaces: Sequence[str] | None = None) -> str:
    """(workspace, opportunity id, latest version) of the chains written."""
    where = _where(workspaces)
    return (
        "SELECT workspace, opportunity_id, max(version) FROM opportunity_chains"
        f"{where} GROUP BY workspace, opportunity_id"
    )


def erased_events_sql(workspaces: Sequence[str] | None = None) -> str:
    """(workspace, keyed hash of the event id, erasure id) of the erased events."""
    where = _where(workspaces)
    return f"SELECT DISTINCT workspace, event_hash, erasure_id FROM erased_events{where}"


def erased_positions(query: Query) -> list[tuple[str, int, int]]:
    """Where every erased message was read, in any workspace: a dead letter may have
    none, or sit on another workspace's partition, so every process checks them all."""
    rows = query("SELECT DISTINCT source_topic, source_partition, source_offset FROM erased_events")
    return [(t, int(p), int(o)) for t, p, o in rows]
