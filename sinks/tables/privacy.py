"""Erasures (right to be forgotten): what was erased, counted, never the erased data.

``erasures`` has one row per erasure: the workspace, when, a keyed hash of the
person id asked for (so a repeated request can be matched by whoever holds the
secret, and nobody else can test a guess), and how many rows left each table.

``erased_events`` keeps, per erased event, only where it was read from Kafka
(topic, partition, offset) and a keyed hash of its event id: reconciliation
(``oppchain check``) accounts for erased messages still on the topics, and a
worker can refuse a redelivered erased event without holding its id.
"""

from sinks.spec import Column, Table
from sinks.tables.common import (
    SOURCE_OFFSET,
    SOURCE_PARTITION,
    SOURCE_TOPIC,
    TS,
    WORKSPACE,
    deduplicated,
)

ERASURE_ID = Column("erasure_id", "String", "Random id of the erasure (UUID)")

ERASURES = Table(
    name="erasures",
    comment="One row per erasure of a person (right to be forgotten): counts only, no "
    "personal data. A worker polls it to rebuild the workspace's stream state.",
    columns=(
        ERASURE_ID,
        WORKSPACE,
        Column("erased_at", TS, "When the erasure finished (processing time, UTC)"),
        Column(
            "subject_hash",
            "String",
            "HMAC-SHA256 of the person id (or key) asked for, under the workspace salt",
        ),
        Column("person_ids", "UInt32", "Person ids erased (the person and ids merged with it)"),
        Column("identity_keys", "UInt32", "Identity keys erased"),
        Column("events", "UInt32", "Events erased (touchpoints and CRM events)"),
        Column("rows_removed", "Map(String, UInt64)", "Rows deleted, per table"),
        Column("rows_redacted", "Map(String, UInt64)", "Rows kept with a reference blanked"),
    ),
    engine="MergeTree",
    order_by="(workspace, erased_at, erasure_id)",
)

ERASED_EVENTS = Table(
    name="erased_events",
    comment="Where each erased event was read from, and a keyed hash of its id: for "
    "reconciliation and to refuse a redelivered erased event. No event data.",
    columns=(
        ERASURE_ID,
        WORKSPACE,
        Column("event_hash", "String", "HMAC-SHA256 of the event id under the workspace salt"),
        SOURCE_TOPIC,
        SOURCE_PARTITION,
        SOURCE_OFFSET,
    ),
    engine="ReplacingMergeTree",
    order_by="(source_topic, source_partition, source_offset)",
)

TABLES = (ERASURES, ERASED_EVENTS)

# Migration 0015. Until the worker that owns the workspace has rebuilt it, its memory
# holds the person and a batch it stores can name them again: ``erase`` waits for
# this row, then deletes what was written meanwhile.
ERASURE_ACKS = Table(
    name="erasure_acks",
    comment="A worker rebuilt the state of an erased workspace: what it stores from "
    "then on no longer knows the person. No personal data.",
    columns=(
        ERASURE_ID,
        WORKSPACE,
        Column("acked_at", TS, "When the rebuild finished (processing time, UTC)"),
        Column("worker", "String", "host:pid of the worker"),
    ),
    engine="ReplacingMergeTree",
    order_by="(erasure_id, worker)",
    settings=deduplicated(),
)
