"""Relationships, karma ledger, authenticity flags; analyst views and rollups over them.

Rows of the three derived tables carry ``as_of`` (the latest event time the
workspace had seen) as their version: ``ReplacingMergeTree(as_of)`` keeps the
newest, and the ``*_latest`` views read that. Rollups are declared once as a
``Rollup`` (dimensions and measures with their expressions); the target table
and the materialized view's SELECT are both derived from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sinks.spec import Column, Table, View
from sinks.tables.common import ACCOUNT_ID, PERSON_ID, TS, WORKSPACE

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


@dataclass(frozen=True)
class Rollup:
    """A pre-aggregated table and the materialized view that fills it, from one list.

    ``dimensions`` and ``measures`` pair a column of the target with the
    expression over ``source`` that computes it.
    """

    name: str
    comment: str
    source: str
    dimensions: tuple[tuple[Column, str], ...]
    measures: tuple[tuple[Column, str], ...]

    def table(self) -> Table:
        return Table(
            name=self.name,
            comment=self.comment,
            columns=tuple(c for c, _ in (*self.dimensions, *self.measures)),
            engine="AggregatingMergeTree",
            order_by="(" + ", ".join(c.name for c, _ in self.dimensions) + ")",
            partition_by="toYYYYMM(day)",
        )

    def view(self) -> View:
        cols = ", ".join(f"{e} AS {c.name}" for c, e in (*self.dimensions, *self.measures))
        keys = ", ".join(c.name for c, _ in self.dimensions)
        return View(
            name=f"{self.name}_mv",
            comment=f"Fills {self.name} from every insert into {self.source}.",
            select=f"SELECT {cols} FROM {self.source} GROUP BY {keys}",
            materialized_to=self.name,
        )


TOUCHPOINTS_DAILY = Rollup(
    name="touchpoints_daily",
    comment="Touchpoints per day x workspace x platform x campaign (and channel, direction, "
    "action, intent); read with sum(touches) and uniqMerge(persons).",
    source="touchpoints",
    dimensions=(
        (Column("day", "Date", "Day of the touch (UTC)"), "toDate(occurred_at)"),
        (WORKSPACE, "workspace"),
        (Column("platform", LC, "Platform, empty offline"), "platform"),
        (Column("campaign", "String", "Campaign, empty if none"), "campaign"),
        (Column("channel", LC, "Attribution channel"), "channel"),
        (Column("direction", LC, "inbound or outbound"), "direction"),
        (Column("action", LC, "Action or event type"), "action"),
        (Column("intent", LC, "give, ask or neutral"), "intent"),
    ),
    measures=(
        (Column("touches", "SimpleAggregateFunction(sum, UInt64)", "Touches"), "count()"),
        (
            Column("persons", "AggregateFunction(uniq, String)", "Distinct persons (uniqMerge)"),
            "uniqState(person_id)",
        ),
    ),
)

KARMA_DAILY = Rollup(
    name="karma_daily",
    comment="Gives and asks per day x workspace x channel x campaign: sum(acts).",
    source="touchpoints",
    dimensions=(
        (Column("day", "Date", "Day of the act (UTC)"), "toDate(occurred_at)"),
        (WORKSPACE, "workspace"),
        (Column("platform", LC, "Platform, empty offline"), "platform"),
        (Column("campaign", "String", "Campaign, empty if none"), "campaign"),
        (Column("intent", LC, "give or ask"), "intent"),
    ),
    measures=(
        (
            Column("acts", "SimpleAggregateFunction(sum, UInt64)", "Outbound acts"),
            "countIf(direction = 'outbound' AND intent IN ('give', 'ask'))",
        ),
    ),
)

ROLLUPS = (TOUCHPOINTS_DAILY, KARMA_DAILY)

_WON = (
    "(workspace, opportunity_id) IN (SELECT workspace, opportunity_id "
    "FROM opportunity_chains_latest WHERE status = 'won')"
)

VIEWS = (
    View(
        "relationships_latest",
        "Current relationship strength of every live person (merged-away ids left out).",
        "SELECT * FROM relationships FINAL WHERE merged_into = ''",
    ),
    View(
        "karma_ledger_latest",
        "Current row of every give and ask act with its returns.",
        "SELECT * FROM karma_ledger FINAL",
    ),
    View(
        "authenticity_flags_latest",
        "Flags in force: rings, pods and broadcast-only own accounts.",
        "SELECT * FROM authenticity_flags FINAL WHERE flagged",
    ),
    View(
        "karma_returns",
        "Which kinds of giving (and asking) were followed by opportunities, how often and "
        "after how long (days, median and p90).",
        """
SELECT workspace, intent, action, channel,
    count() AS acts,
    countIf(opportunities_after > 0) AS followed_by_opportunity,
    round(followed_by_opportunity / acts, 4) AS opportunity_rate,
    sum(opportunity_value_after) AS opportunity_value,
    quantileIf(0.5)(days_to_opportunity, days_to_opportunity IS NOT NULL) AS median_days,
    quantileIf(0.9)(days_to_opportunity, days_to_opportunity IS NOT NULL) AS p90_days,
    sum(introductions_after) AS introductions,
    sum(recommendations_after) AS recommendations
FROM karma_ledger_latest
GROUP BY workspace, intent, action, channel
""",
    ),
    View(
        "circles_funnel",
        "Circles funnel per workspace: reached (first touch) -> engaged (3+ touches) -> "
        "relationship (both directions, score >= 25) -> opportunity -> customer (won), "
        "with conversion rates and median days between stages.",
        """
WITH persons AS (
    SELECT workspace, person_id, touch_count, score, inbound_count, outbound_count
    FROM relationships_latest),
opps AS (
    SELECT workspace, person_id,
        min(opportunity_created_at) AS opportunity_at,
        minIf(closed_at, status = 'won') AS won_at,
        countIf(status = 'won') > 0 AS won,
        min(first_touch_at) AS first_at
    FROM opportunity_chains_latest GROUP BY workspace, person_id)
SELECT p.workspace AS workspace,
    count() AS reached,
    countIf(p.touch_count >= 3) AS engaged,
    countIf(p.inbound_count > 0 AND p.outbound_count > 0 AND p.score >= 25) AS relationship,
    countIf(o.person_id != '') AS opportunity,
    countIf(o.won) AS customer,
    round(engaged / reached, 4) AS engaged_rate,
    round(relationship / greatest(engaged, 1), 4) AS relationship_rate,
    round(opportunity / greatest(relationship, 1), 4) AS opportunity_rate,
    round(customer / greatest(opportunity, 1), 4) AS customer_rate,
    medianIf(dateDiff('second', o.first_at, o.opportunity_at) / 86400,
        o.person_id != '' AND o.first_at IS NOT NULL) AS median_days_to_opportunity,
    medianIf(dateDiff('second', o.opportunity_at, o.won_at) / 86400, o.won)
        AS median_days_opportunity_to_customer
FROM persons AS p LEFT JOIN opps AS o
    ON p.workspace = o.workspace AND p.person_id = o.person_id
GROUP BY workspace
""",
    ),
    View(
        "cohorts_first_touch_month",
        "Cohorts by month of first touch: persons, how many reached an opportunity and a "
        "contract, and the value won.",
        """
SELECT r.workspace AS workspace, toStartOfMonth(r.first_touch_at) AS cohort_month,
    count() AS persons,
    countIf(o.opportunities > 0) AS with_opportunity,
    countIf(o.won > 0) AS customers,
    sum(o.won_value) AS value_won
FROM relationships_latest AS r
LEFT JOIN (
    SELECT workspace, person_id, count() AS opportunities, countIf(status = 'won') AS won,
        sumIf(value, status = 'won') AS won_value
    FROM opportunity_chains_latest GROUP BY workspace, person_id) AS o
    ON r.workspace = o.workspace AND r.person_id = o.person_id
GROUP BY workspace, cohort_month
""",
    ),
    View(
        "one_in_n_by_channel",
        "The 1-in-N rate: persons first touched on a channel per contract won from them.",
        """
SELECT f.workspace AS workspace, f.first_channel AS channel,
    count() AS first_touches,
    countIf(w.contracts > 0) AS customers,
    sum(w.contracts) AS contracts_won,
    if(contracts_won > 0, round(first_touches / contracts_won, 1), NULL) AS one_in_n
FROM (
    SELECT workspace, person_id, argMin(channel, (occurred_at, event_id)) AS first_channel
    FROM touchpoints WHERE person_id != '' GROUP BY workspace, person_id) AS f
LEFT JOIN (
    SELECT workspace, person_id, countIf(status = 'won') AS contracts
    FROM opportunity_chains_latest GROUP BY workspace, person_id) AS w
    ON f.workspace = w.workspace AND f.person_id = w.person_id
GROUP BY workspace, channel
""",
    ),
    View(
        "time_to_close_percentiles",
        "Days from first touch to contract, percentiles per workspace and opportunity kind.",
        """
SELECT workspace, kind, count() AS won,
    quantile(0.5)(days_to_close) AS p50_days,
    quantile(0.75)(days_to_close) AS p75_days,
    quantile(0.9)(days_to_close) AS p90_days
FROM opportunity_chains_latest
WHERE status = 'won' AND days_to_close IS NOT NULL
GROUP BY workspace, kind
""",
    ),
    View(
        "account_ltv",
        "Lifetime value per account: revenue recorded, in its currency.",
        """
SELECT workspace, account_id, currency,
    sum(amount) AS lifetime_value, count() AS revenue_events,
    min(occurred_at) AS first_revenue_at, max(occurred_at) AS last_revenue_at
FROM crm_events FINAL
WHERE event_type = 'revenue_recorded'
GROUP BY workspace, account_id, currency
""",
    ),
    View(
        "roi_by_channel_campaign_model",
        "ROI per workspace x attribution model x channel x campaign: won value credited by "
        "the model against cost recorded for that platform and campaign. Amounts are summed "
        "as recorded (one currency per workspace assumed).",
        f"""
SELECT workspace, model, channel, campaign,
    sum(credited) AS credited_value, sum(cost) AS cost_value,
    if(cost_value > 0, round((credited_value - cost_value) / cost_value, 4), NULL) AS roi
FROM (
    SELECT workspace, model, channel, campaign, credit_value AS credited, 0 AS cost
    FROM attribution_credits_latest WHERE {_WON}
    UNION ALL
    SELECT c.workspace AS workspace, m.model AS model, c.platform AS channel,
        c.campaign AS campaign, 0 AS credited, c.amount AS cost
    FROM (SELECT * FROM crm_events FINAL WHERE event_type = 'cost_recorded') AS c
    INNER JOIN (SELECT DISTINCT workspace, model FROM attribution_credits) AS m
        ON c.workspace = m.workspace)
GROUP BY workspace, model, channel, campaign
""",
    ),
    View(
        "opportunities_by_kind",
        "Opportunities counted and valued by kind (monetary, social, personal) and type, "
        "so non-monetary opportunities show.",
        """
SELECT workspace, kind, opportunity_type,
    count() AS opportunities, countIf(status = 'won') AS won,
    countIf(status = 'open') AS open, sum(value) AS total_value,
    sumIf(value, status = 'won') AS won_value
FROM opportunity_chains_latest
GROUP BY workspace, kind, opportunity_type
""",
    ),
    View(
        "ring_engagement_share",
        "Share of inbound engagement coming from flagged rings and pods, per workspace, and "
        "the won value their touches were credited under linear attribution.",
        """
SELECT t.workspace AS workspace,
    count() AS inbound_touches,
    countIf(f.subject_key != '') AS flagged_touches,
    round(flagged_touches / inbound_touches, 4) AS flagged_share
FROM (SELECT workspace, own_account AS own, identity_key
      FROM touchpoints WHERE direction = 'inbound' AND platform != '') AS t
LEFT JOIN (SELECT workspace, own_account, subject_key FROM authenticity_flags_latest
           WHERE flag IN ('reciprocity_ring', 'engagement_pod')) AS f
    ON t.workspace = f.workspace AND t.identity_key = f.subject_key
GROUP BY workspace
""",
    ),
)
