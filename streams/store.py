"""The event store: state is rebuilt by replaying stored events from ClickHouse.

``touchpoints`` and ``crm_events`` keep every applied event's payload; replaying
them in event-time order with emitting switched off gives back the state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from sinks.spec import quote

Query = Callable[[str], list[tuple[Any, ...]]]


class Rebuildable(Protocol):
    def rebuild_payloads(self, payloads: Sequence[bytes]) -> int: ...

    def forget(self, workspace: str, erased: dict[str, str]) -> None: ...


CHUNK = 20000


def stored_events_sql(workspaces: Sequence[str] | None = None) -> str:
    """Payloads of the stored events (of ``workspaces``, or all), in event-time order."""
    where = f" WHERE workspace IN ({', '.join(quote(w) for w in workspaces)})" if workspaces else ""
    columns = "SELECT occurred_at, event_id, payload FROM"
    return (
        f"SELECT payload FROM ({columns} touchpoints FINAL{where} "
        f"UNION ALL {columns} crm_events FINAL{where}) ORDER BY occurred_at, event_id"
    )


def replay(
    target: Rebuildable,
    query: Query,
    workspaces: Sequence[str] | None = None,
) -> int:
    """Fold the stored events into ``target``'s state, and tell it which events of
    those workspaces were erased (so a redelivery is not stored again); return how
    many events were folded in."""
    payloads = [r[0].encode() for r in query(stored_events_sql(workspaces))]
    total = sum(
        target.rebuild_payloads(payloads[start : start + CHUNK])
        for start in range(0, len(payloads), CHUNK)
    )
    erased: dict[str, dict[str, str]] = {w: {} for w in workspaces or ()}
    for workspace, hashed, erasure_id in query(erased_events_sql(workspaces)):
        erased.setdefault(workspace, {})[hashed] = erasure_id
    for workspace, hashes in erased.items():
        target.forget(workspace, hashes)
    return total


def erased_events_sql(workspaces: Sequence[str] | None = None) -> str:
    """(workspace, keyed hash of the event id, erasure id) of the erased events."""
    where = f" WHERE workspace IN ({', '.join(quote(w) for w in workspaces)})" if workspaces else ""
    return f"SELECT DISTINCT workspace, event_hash, erasure_id FROM erased_events{where}"
