"""Relationships, karma ledger and authenticity flags, and the daily history view.

Rows carry ``as_of`` (the latest event time the workspace had seen) as their
version: ``ReplacingMergeTree(as_of)`` keeps the newest, and the ``*_latest``
views (``relationship_views``) read that. Rollups live in ``rollups``; both are
re-exported here.
"""

from __future__ import annotations

from sinks.spec import Column, Comment, Table, View
from sinks.tables.common import ACCOUNT_ID, PERSON_ID, TS, WORKSPACE
from sinks.tables.relationship_views import (
    KARMA_LEDGER_LATEST,
    KARMA_RETURNS,
    ONE_IN_N_BY_CHANNEL,
    RELATIONSHIPS_LATEST,
    RING_ENGAGEMENT_SHARE,
    RING_ENGAGEMENT_SHARE_0008,
    VIEWS,
    VIEWS_0004,
    VIEWS_0013,
)
from sinks.tables.rollups import KARMA_DAILY, ROLLUPS, TOUCHPOINTS_DAILY, Rollup

__all__ = [
    "AS_OF",
    "AUTHENTICITY_FLAGS",
    "FIRST_CHANNEL",
    "KARMA_DAILY",
    "KARMA_DAILY_COMMENT_0012",
    "KARMA_LEDGER",
    "KARMA_LEDGER_LATEST",
    "KARMA_RETURNS",
    "ONE_IN_N_BY_CHANNEL",
    "OPPORTUNITY_CURRENCIES",
    "OPPORTUNITY_VALUES",
    "OPPORTUNITY_VALUE_AFTER_0012",
    "RELATIONSHIPS",
    "RELATIONSHIPS_DAILY",
    "RELATIONSHIPS_DAILY_MV",
    "RELATIONSHIPS_LATEST",
    "RING_ENGAGEMENT_SHARE",
    "RING_ENGAGEMENT_SHARE_0008",
    "ROLLUPS",
    "TABLES",
    "TOUCHPOINTS_DAILY",
    "VIEWS",
    "VIEWS_0004",
    "VIEWS_0013",
    "Rollup",
]

LC = "LowCardinality(String)"

AS_OF = Column(
    "as_of", TS, "Latest event time the workspace had seen when computed; newest row wins"
)

_RELATIONSHIP_COLUMNS = (
    WORKSPACE,
    PERSON_ID,
    ACCOUNT_ID,
    Column("score", "Float64", "Relationship strength 0-100: 100 x weighted sum of the parts"),
    Column("recency", "Float64", "2^(-days since last touch / 90), weight 0.25"),
    Column("frequency", "Float64", "log(1+touches last 365 d)/log(51), capped 1, weight 0.20"),
    Column("reciprocity", "Float64", "min(inbound, outbound)/max(inbound, outbound), weight 0.20"),
    Column("channel_breadth", "Float64", "(distinct channels - 1)/2 capped 1, weight 0.10"),
    Column("offline", "Float64", "meetings + introductions, /3 capped 1, weight 0.15"),
    Column("tenure", "Float64", "days first to last touch / 730 capped 1, weight 0.10"),
    Column("touch_count", "UInt32", "Touches with the person, ever"),
    Column("inbound_count", "UInt32", "Inbound touches (meetings, introductions count both ways)"),
    Column(
        "outbound_count", "UInt32", "Outbound touches (meetings, introductions count both ways)"
    ),
    Column("offline_count", "UInt32", "Meetings, calls and introductions"),
    Column("gives", "UInt32", "Our outbound acts with intent give"),
    Column("asks", "UInt32", "Our outbound acts with intent ask"),
    Column("channels", "Array(String)", "Channels the relationship was carried on"),
    Column("first_touch_at", TS, "First touch with the person"),
    Column("last_touch_at", TS, "Latest touch with the person"),
    Column("ask_only", "Bool", "We contact them mostly to ask (>= 2 asks, asks > gives)"),
    Column("flags", "Array(String)", "ask_only, one_way_inbound, one_way_outbound"),
    Column("merged_into", "String", "Set when this person id was merged into another one"),
    AS_OF,
)

# Added by migration 0010 (after ``channels``): the tables keep 0003's text.
FIRST_CHANNEL = Column(
    "first_channel", LC, "Channel of the oldest touch kept with the person (1 in N by channel)"
)

RELATIONSHIPS = Table(
    name="relationships",
    comment="Relationship strength per person: latest score and its components (see "
    "streams/domain/relationships.py). Use relationships_latest.",
    columns=_RELATIONSHIP_COLUMNS,
    engine="ReplacingMergeTree(as_of)",
    order_by="(workspace, person_id)",
)

RELATIONSHIPS_DAILY = Table(
    name="relationships_daily",
    comment="History of relationship strength: the last value of each person per day.",
    columns=(Column("day", "Date", "Day of as_of"), *_RELATIONSHIP_COLUMNS),
    engine="ReplacingMergeTree(as_of)",
    order_by="(workspace, person_id, day)",
    partition_by="toYYYYMM(day)",
)

KARMA_LEDGER = Table(
    name="karma_ledger",
    comment="One row per outbound give or ask act, with the returns from the same person "
    "(or account) in the 365 days after it: opportunities, introductions, recommendations.",
    columns=(
        WORKSPACE,
        Column("act_event_id", "String", "event_id of the give or ask act"),
        Column("acted_at", TS, "Event time of the act"),
        PERSON_ID,
        ACCOUNT_ID,
        Column("own_account", "String", "Our account that acted (platform:handle), social only"),
        Column("channel", LC, "Channel of the act"),
        Column("action", LC, "share, recommend, mention, reply, dm, help_given, email_exchanged"),
        Column("intent", LC, "give or ask"),
        Column("intent_inferred", "Bool", "True when the intent came from the inference rules"),
        Column("campaign", "String", "Campaign of the act, empty if none"),
        Column("opportunities_after", "UInt32", "Opportunities created within 365 d after"),
        Column("opportunity_value_after", "Float64", "Their value (amount or estimate)"),
        Column("opportunity_kinds", "Array(String)", "Their kinds: monetary, social, personal"),
        Column("first_opportunity_at", f"Nullable({TS})", "First opportunity after the act"),
        Column("days_to_opportunity", "Nullable(Float64)", "Days from act to first opportunity"),
        Column("introductions_after", "UInt32", "Introductions the person made to us after"),
        Column("recommendations_after", "UInt32", "Their recommendations of us after"),
        Column("first_return_at", f"Nullable({TS})", "First return of any kind"),
        Column("first_return_kind", LC, "opportunity, introduction or recommendation"),
        Column("days_to_first_return", "Nullable(Float64)", "Days from act to first return"),
        AS_OF,
    ),
    engine="ReplacingMergeTree(as_of)",
    order_by="(workspace, act_event_id)",
)

# Added by migration 0012 (after ``opportunity_value_after``, whose one sum mixed
# currencies): the value per currency.
OPPORTUNITY_CURRENCIES = Column(
    "opportunity_currencies", "Array(LowCardinality(String))", "Their currencies, sorted"
)
OPPORTUNITY_VALUES = Column(
    "opportunity_values",
    "Array(Float64)",
    "Their value per currency, in the order of opportunity_currencies "
    "(sumMap(opportunity_currencies, opportunity_values) adds rows up)",
)
OPPORTUNITY_VALUE_AFTER_0012 = Comment(
    "karma_ledger",
    "Their value (amount or estimate) when all in one currency; NaN when they mix "
    "currencies (see opportunity_values)",
    column="opportunity_value_after",
)
# 0004 described karma_daily by a channel it does not have.
KARMA_DAILY_COMMENT_0012 = Comment(
    "karma_daily",
    "Gives and asks per day x workspace x platform x campaign x intent: sum(acts).",
)

AUTHENTICITY_FLAGS = Table(
    name="authenticity_flags",
    comment="Engagement authenticity: reciprocity rings, engagement pods, broadcast-only "
    "own accounts. A row with flagged = false lifts an earlier flag.",
    columns=(
        WORKSPACE,
        Column("flag", LC, "reciprocity_ring, engagement_pod or broadcast_only"),
        Column("own_account", "String", "Our account concerned (platform:handle)"),
        Column("subject_key", "String", "Flagged handle (platform:handle; personal data) or own"),
        Column("person_id", "String", "Person of the flagged handle, empty for own accounts"),
        Column("group_id", "String", "Ring or pod the subject belongs to"),
        Column("group_size", "UInt32", "Members of the ring or pod"),
        Column("first_at", TS, "First act of the subject with the own account"),
        Column("last_at", TS, "Latest act of the subject with the own account"),
        Column("acts", "UInt32", "Acts of the subject with the own account (posts for own)"),
        Column("flagged", "Bool", "True while flagged; false when a later event lifted it"),
        AS_OF,
    ),
    engine="ReplacingMergeTree(as_of)",
    order_by="(workspace, flag, own_account, subject_key)",
)

TABLES = (RELATIONSHIPS, RELATIONSHIPS_DAILY, KARMA_LEDGER, AUTHENTICITY_FLAGS)

# Filled inside ClickHouse from every relationships insert: the worker writes a
# relationship row once, not once per table.
RELATIONSHIPS_DAILY_MV = View(
    name="relationships_daily_mv",
    comment="Copies every relationships row into relationships_daily with its day.",
    select="SELECT toDate(as_of) AS day, "
    + ", ".join(c.name for c in _RELATIONSHIP_COLUMNS)
    + " FROM relationships",
    materialized_to="relationships_daily",
)
