"""Batched, idempotent, retrying inserts into ClickHouse.

One ``write`` per consumed batch: every table gets one columnar (Arrow) insert
carrying an ``insert_deduplication_token``, random per write call and reused by its
retries, so a retry after a timeout cannot double it. Derived tables are written
before raw facts: if the process dies in between, the redelivered events are
not yet in the event store, are applied again and produce the same versions.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from sinks.migrations import table
from sinks.spec import quote

log = logging.getLogger(__name__)

WRITE_ORDER = (
    "identity_merges",
    "identity_refusals",
    "opportunity_chains",
    "attribution_credit_sets",
    "relationships",
    "karma_ledger",
    "authenticity_flags",
    "touchpoints",
    "crm_events",
    "dead_letters",
    "ingest_duplicates",
    "erased_events",
    "channel_attribution",
)


def dedup_token() -> str:
    """A token per write call, reused by its retries: a retried insert that had in
    fact landed is dropped by ClickHouse. Redelivered events are dropped earlier,
    by the processor, and by the ReplacingMergeTree keys."""
    return uuid.uuid4().hex


@dataclass
class Backoff:
    first_s: float = 0.2
    max_s: float = 5.0
    factor: float = 2.0

    def delays(self) -> Any:
        delay = self.first_s
        while True:
            yield delay
            delay = min(self.max_s, delay * self.factor)


@dataclass
class ClickHouseSink:
    """Writes batches of rows; blocks and retries while ClickHouse is away."""

    client_factory: Callable[[], Any]
    backoff: Backoff = field(default_factory=Backoff)
    should_stop: Callable[[], bool] = lambda: False
    retries: int = 0
    _client: Any = None

    def _conn(self) -> Any:
        if self._client is None:
            self._client = self.client_factory()
        return self._client

    def _retrying(self, what: str, call: Callable[[Any], Any]) -> Any:
        delays = self.backoff.delays()
        while True:
            try:
                return call(self._conn())
            except Exception as exc:
                if self.should_stop():
                    raise
                delay = next(delays)
                self.retries += 1
                self._client = None
                log.warning("ClickHouse %s failed (%s); retrying in %.1fs", what, exc, delay)
                time.sleep(delay)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self._retrying("query", lambda c: c.query(sql).result_rows)
        return rows

    def _drop_stored_dead_letters(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Dead letters have no state to dedupe against; ask the table instead."""
        by_partition: dict[tuple[str, int], list[int]] = {}
        for row in rows:
            by_partition.setdefault((row["source_topic"], row["source_partition"]), []).append(
                row["source_offset"]
            )
        stored: set[tuple[str, int, int]] = set()
        for (topic, partition), offsets in by_partition.items():
            found = self.query(
                "SELECT source_offset FROM dead_letters WHERE source_topic = "
                f"{quote(topic)} AND source_partition = {int(partition)} AND source_offset "
                f"BETWEEN {min(offsets)} AND {max(offsets)}"
            )
            stored.update((topic, partition, r[0]) for r in found)
        return [
            r
            for r in rows
            if (r["source_topic"], r["source_partition"], r["source_offset"]) not in stored
        ]

    def _insert(self, name: str, arrow: Any, settings: dict[str, str]) -> None:
        self._retrying(
            f"insert into {name}", lambda c: c.insert_arrow(name, arrow, settings=settings)
        )

    def write(self, batch: Mapping[str, Any]) -> dict[str, int]:
        """Insert every non-empty table of the batch (rows, or an Arrow table in the
        table's column order); return rows written per table."""
        written: dict[str, int] = {}
        unknown = set(batch) - set(WRITE_ORDER)
        if unknown:
            raise KeyError(f"no write order for {sorted(unknown)}")
        for name in WRITE_ORDER:
            rows = batch.get(name)
            if not rows:
                continue
            if name == "dead_letters":
                rows = self._drop_stored_dead_letters(rows)
                if not rows:
                    continue
            arrow = rows if isinstance(rows, pa.Table) else table(name).to_arrow(rows)
            settings = {"insert_deduplication_token": dedup_token()}
            self._insert(name, arrow, settings)
            written[name] = len(rows)
        return written
