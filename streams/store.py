"""The event store: state is rebuilt by replaying stored events from ClickHouse.

``touchpoints`` and ``crm_events`` keep every applied event's payload; replaying
them in event-time order with emitting switched off gives back the state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from schemas.codec import decode_batch
from sinks.spec import quote
from streams.processor import Processor

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
    processor: Processor,
    query: Callable[[str], list[tuple[Any, ...]]],
    workspaces: Sequence[str] | None = None,
) -> int:
    """Fold the stored events into ``processor``'s state; return how many."""
    payloads = [r[0].encode() for r in query(stored_events_sql(workspaces))]
    total = 0
    for start in range(0, len(payloads), CHUNK):
        decoded, failures = decode_batch(payloads[start : start + CHUNK])
        if failures:
            raise RuntimeError(f"stored event no longer decodes: {failures[0]}")
        total += processor.rebuild(e for _, e in decoded)
    return total
