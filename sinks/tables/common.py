"""Columns shared by several tables, written once."""

from sinks.spec import Column

TS = "DateTime64(3, 'UTC')"

WORKSPACE = Column("workspace", "LowCardinality(String)", "Brand or team the row belongs to")
EVENT_ID = Column("event_id", "String", "Producer's unique event id (the idempotency key)")
EVENT_TYPE = Column("event_type", "LowCardinality(String)", "Event type from the contract")
OCCURRED_AT = Column("occurred_at", TS, "When it happened (event time, UTC)")
SOURCE = Column("source", "LowCardinality(String)", "Producing system, e.g. collector-x")
SOURCE_TOPIC = Column("source_topic", "LowCardinality(String)", "Kafka topic it was read from")
SOURCE_PARTITION = Column("source_partition", "UInt32", "Kafka partition it was read from")
SOURCE_OFFSET = Column("source_offset", "Int64", "Kafka offset it was read from")
INGESTED_AT = Column("ingested_at", TS, "When the pipeline stored it (processing time, UTC)")
PAYLOAD = Column(
    "payload",
    "String",
    "Canonical event JSON with emails hashed; the event store state is rebuilt from",
)
PERSON_ID = Column(
    "person_id", "String", "Stitched person id when written; follow identity_merges for later ids"
)
ACCOUNT_ID = Column("account_id", "String", "CRM account (company) id, empty if none")
VERSION = Column(
    "version", "UInt64", "Grows when late events or merges change the row; latest wins"
)
COMPUTED_AT = Column("computed_at", TS, "When this version was computed (processing time)")

LINEAGE = (SOURCE_TOPIC, SOURCE_PARTITION, SOURCE_OFFSET, INGESTED_AT)

# Settings of every MergeTree table the pipeline or a materialized view writes, from
# migration 0009 on: without a window a non-replicated table ignores the
# insert_deduplication_token a retried insert carries, and stores the rows twice.
DEDUPLICATION_WINDOW = 1000


def deduplicated() -> dict[str, int]:
    """Settings for a new table's spec (a fresh dict: specs must not share one)."""
    return {"non_replicated_deduplication_window": DEDUPLICATION_WINDOW}
