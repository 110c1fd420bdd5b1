"""Raw facts: every valid event is a touchpoint or a CRM event; every bad one a dead letter."""

from sinks.spec import Column, Comment, Table
from sinks.tables.common import (
    ACCOUNT_ID,
    EVENT_ID,
    EVENT_TYPE,
    LINEAGE,
    OCCURRED_AT,
    PAYLOAD,
    PERSON_ID,
    SOURCE,
    SOURCE_OFFSET,
    SOURCE_PARTITION,
    SOURCE_TOPIC,
    TS,
    WORKSPACE,
)

LC = "LowCardinality(String)"


def _event_store(name: str, comment: str, columns: tuple[Column, ...]) -> Table:
    """A table of valid events: envelope, own columns, lineage and the payload the
    state is rebuilt from; one row per event_id."""
    return Table(
        name=name,
        comment=comment,
        columns=(WORKSPACE, EVENT_ID, EVENT_TYPE, OCCURRED_AT, SOURCE, *columns, *LINEAGE, PAYLOAD),
        engine="ReplacingMergeTree(ingested_at)",
        order_by="(workspace, occurred_at, event_id)",
        partition_by="toYYYYMM(occurred_at)",
        settings={"non_replicated_deduplication_window": 1000},
    )


TOUCHPOINTS = _event_store(
    name="touchpoints",
    comment="One row per social or relationship event (follows, likes, shares, DMs, "
    "introductions, meetings, emails, help). Deduplicated on event_id.",
    columns=(
        Column("platform", LC, "Social platform (x, linkedin, ...); empty for offline events"),
        Column(
            "channel",
            LC,
            "Attribution channel: the platform, or offline, referral, email, direct",
        ),
        Column("own_account", "String", "Our own account on the platform, if any"),
        Column("identity_key", "String", "Identity key of the other party (personal data)"),
        PERSON_ID,
        ACCOUNT_ID,
        Column("direction", LC, "inbound: they act on us; outbound: we act on them"),
        Column("action", LC, "follow, like, share, reply, dm, recommend, ... or the event type"),
        Column("intent", LC, "give, ask or neutral (explicit, or inferred by documented rules)"),
        Column("intent_inferred", "Bool", "True when intent was inferred, not sent"),
        Column("campaign", "String", "Campaign the touch belongs to, empty if none"),
        Column("content_ref", "String", "Reference to the content acted on, if any"),
        Column("hashtags", "Array(String)", "Hashtags on the act, lower-cased"),
        Column("introducer_key", "String", "Identity key of the introducer (introductions)"),
    ),
)

CRM_EVENTS = _event_store(
    name="crm_events",
    comment="One row per CRM event: contacts, accounts, leads, opportunities and their "
    "stages, contracts, losses, revenue and cost. Deduplicated on event_id.",
    columns=(
        Column("contact_id", "String", "CRM contact id, empty if not about a contact"),
        ACCOUNT_ID,
        Column("lead_id", "String", "Lead id (lead_created)"),
        Column("opportunity_id", "String", "Opportunity id, empty if not about one"),
        Column("kind", LC, "Opportunity kind: social, personal or monetary"),
        Column("opportunity_type", LC, "deal, collaboration, press, speaking, partnership, ..."),
        Column("stage", LC, "New stage (opportunity_stage_changed)"),
        Column("amount", "Nullable(Float64)", "Amount: value, contract, revenue or cost"),
        Column("currency", LC, "ISO 4217 currency of amount"),
        Column("campaign", "String", "Campaign (leads, cost)"),
        Column("platform", LC, "Platform a cost was spent on"),
        Column("cost_kind", LC, "ad_spend, time, tooling or other (cost_recorded)"),
        PERSON_ID,
    ),
)

DEAD_LETTERS = Table(
    name="dead_letters",
    comment="Messages that could not become events, with the reason. The original bytes "
    "stay on the dead-letter topic for replay; payload here has emails masked.",
    columns=(
        Column("dead_at", TS, "When the message was refused (processing time, UTC)"),
        Column(
            "reason",
            LC,
            "Class: malformed_json, oversized, invalid, unknown_event_type, "
            "unknown_schema_version, not_an_object, empty",
        ),
        Column("detail", "String", "Field path and message explaining the refusal"),
        SOURCE_TOPIC,
        SOURCE_PARTITION,
        SOURCE_OFFSET,
        Column("message_key", "String", "Kafka message key, if any"),
        Column("event_id", "String", "event_id if the message had a readable one"),
        Column("workspace", "String", "workspace if the message had a readable one"),
        Column("payload_bytes", "UInt32", "Size of the original message"),
        Column("payload", "String", "The message (first 64 KiB, emails masked)"),
    ),
    engine="ReplacingMergeTree(dead_at)",
    order_by="(source_topic, source_partition, source_offset)",
    partition_by="toYYYYMM(dead_at)",
    settings={"non_replicated_deduplication_window": 1000},
)

TABLES = (TOUCHPOINTS, CRM_EVENTS, DEAD_LETTERS)

INGEST_DUPLICATES = Table(
    name="ingest_duplicates",
    comment="Messages dropped because their event_id had already been applied "
    "(redeliveries, or a producer sending an event twice). With touchpoints, "
    "crm_events and dead_letters this accounts for every message on the topics.",
    columns=(
        Column("dropped_at", TS, "When the duplicate was dropped (processing time, UTC)"),
        WORKSPACE,
        EVENT_ID,
        SOURCE_TOPIC,
        SOURCE_PARTITION,
        SOURCE_OFFSET,
    ),
    engine="ReplacingMergeTree(dropped_at)",
    order_by="(source_topic, source_partition, source_offset)",
    partition_by="toYYYYMM(dropped_at)",
)


# Migration 0013: what meetings, emails, help and introductions hold in these columns.
_PERSON_PLATFORM = (
    "Platform of the social act; for meetings, emails, help and introductions the "
    "platform of the handle naming the person, empty when none does"
)
TOUCHPOINTS_COMMENTS_0013 = (
    Comment("touchpoints", _PERSON_PLATFORM, column="platform"),
    Comment(
        "touchpoints",
        "inbound: they act on us; outbound: we act on them (meetings, emails, help and "
        "introductions: as sent, inbound when not)",
        column="direction",
    ),
    *(
        Comment(rollup, _PERSON_PLATFORM, column="platform")
        for rollup in ("touchpoints_daily", "karma_daily")
    ),
)
