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
    """Fold the stored events into ``target``'s state; return how many."""
    payloads = [r[0].encode() for r in query(stored_events_sql(workspaces))]
    return sum(
        target.rebuild_payloads(payloads[start : start + CHUNK])
        for start in range(0, len(payloads), CHUNK)
    )
