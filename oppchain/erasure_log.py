"""The record of erasures: ``erasures`` (counts and keyed hashes, no data) and
``erased_events`` (Kafka position and keyed hash of each erased event).

``erase`` writes it; a running worker reads it to rebuild the workspaces it owns
and to drop a redelivered erased event instead of storing it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from oppchain.erase_hash import event_hash, keyed_hash
from oppchain.erase_scope import Subject
from oppchain.erase_sql import query_rows
from sinks.spec import quote

ERASURE_COLUMNS = (
    "erasure_id",
    "workspace",
    "erased_at",
    "subject_hash",
    "person_ids",
    "identity_keys",
    "events",
    "rows_removed",
    "rows_redacted",
)


def record(
    client: Any,
    secret: bytes,
    subject: Subject,
    erasure_id: str,
    asked: str,
    removed: dict[str, int],
    redacted: dict[str, int],
    now: datetime | None,
) -> None:
    ws = subject.workspace
    at = now or datetime.now(UTC)
    client.insert(
        "erasures",
        [
            [
                erasure_id,
                ws,
                at,
                keyed_hash(secret, ws, "person", asked),
                len(subject.person_ids),
                len(subject.keys),
                len(subject.events),
                {t: n for t, n in removed.items() if n},
                {t: n for t, n in redacted.items() if n},
            ]
        ],
        column_names=list(ERASURE_COLUMNS),
    )
    positions = {(e, *position) for e, position in subject.lineage.items()}
    positions |= subject.other_positions
    rows = [
        [erasure_id, ws, event_hash(secret, ws, event_id), topic, partition, offset]
        for event_id, topic, partition, offset in sorted(positions)
    ]
    if rows:
        client.insert(
            "erased_events",
            rows,
            column_names=[
                "erasure_id",
                "workspace",
                "event_hash",
                "source_topic",
                "source_partition",
                "source_offset",
            ],
        )


@dataclass(frozen=True)
class ErasureNotice:
    erasure_id: str
    workspace: str
    erased_at: datetime
    tables: tuple[str, ...] = ()  # the tables it deleted rows from


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def erasures_since(client: Any, since: datetime) -> list[ErasureNotice]:
    """Erasures recorded after ``since`` (oldest first): a worker owning one of the
    workspaces drops its state for it and rebuilds it from ClickHouse."""
    at = _utc(since).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    rows = query_rows(
        client,
        "SELECT erasure_id, workspace, erased_at, mapKeys(rows_removed) FROM erasures "
        f"WHERE erased_at > toDateTime64({quote(at)}, 3, 'UTC') ORDER BY erased_at, erasure_id",
    )
    return [ErasureNotice(r[0], r[1], _utc(r[2]), tuple(sorted(r[3]))) for r in rows]


def erased_event_hashes(client: Any, workspace: str) -> set[str]:
    """Keyed hashes of the workspace's erased events: compare with ``event_hash`` to
    drop a redelivered erased event instead of storing it again."""
    rows = query_rows(
        client, f"SELECT event_hash FROM erased_events WHERE workspace = {quote(workspace)}"
    )
    return {r[0] for r in rows}


def acknowledge(client: Any, notices: Sequence[ErasureNotice], worker: str) -> None:
    """Say that this worker rebuilt the workspaces of ``notices``: ``erase`` waits for it."""
    if notices:
        at = datetime.now(UTC)
        rows = [[n.erasure_id, n.workspace, at, worker] for n in notices]
        client.insert(
            "erasure_acks", rows, column_names=["erasure_id", "workspace", "acked_at", "worker"]
        )


def acknowledged(client: Any, erasure_id: str) -> bool:
    rows = query_rows(
        client, f"SELECT count() FROM erasure_acks WHERE erasure_id = {quote(erasure_id)}"
    )
    return bool(rows[0][0])
