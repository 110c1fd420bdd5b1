"""Identity, opportunity chains and attribution credits (versioned: latest wins)."""

from sinks.spec import AddColumn, Backfill, Column, Comment, Drop, Table, View
from sinks.tables.common import ACCOUNT_ID, COMPUTED_AT, PERSON_ID, TS, VERSION, WORKSPACE

LC = "LowCardinality(String)"

IDENTITY_MERGES = Table(
    name="identity_merges",
    comment="Every merge of two persons into one: follow from_person_id to into_person_id "
    "to find where an old id went.",
    columns=(
        WORKSPACE,
        Column("merged_at", TS, "Event time of the event that caused the merge"),
        Column("from_person_id", "String", "Person id that stopped existing"),
        Column("into_person_id", "String", "Surviving person id"),
        Column("keys_moved", "Array(String)", "Identity keys that moved to the survivor"),
        Column("event_id", "String", "Event that linked the two"),
        Column("reason", LC, "contact_upserted, identity_linked, introduction, ..."),
    ),
    engine="ReplacingMergeTree",
    order_by="(workspace, from_person_id, into_person_id, event_id)",
)

IDENTITY_REFUSALS = Table(
    name="identity_refusals",
    comment="Links refused by the mega-merge guards (limits per identity type, blocked "
    "values); the link was recorded here and not applied.",
    columns=(
        WORKSPACE,
        Column("refused_at", TS, "Event time of the refused link"),
        Column("event_id", "String", "Event that asked for the link"),
        Column("key_a", "String", "One identity key of the link"),
        Column("key_b", "String", "The other identity key of the link"),
        Column("rule", LC, "Guard that refused it: blocked_value or limit:<type>"),
        Column("detail", "String", "Human-readable explanation"),
    ),
    engine="ReplacingMergeTree",
    order_by="(workspace, event_id, key_a, key_b)",
)

OPPORTUNITY_CHAINS = Table(
    name="opportunity_chains",
    comment="One row per opportunity and version: its touchpoints from first touch to "
    "close. Use opportunity_chains_latest for the current version.",
    columns=(
        WORKSPACE,
        Column("opportunity_id", "String", "CRM opportunity id"),
        PERSON_ID,
        ACCOUNT_ID,
        Column("kind", LC, "social, personal or monetary"),
        Column("opportunity_type", LC, "deal, collaboration, press, speaking, ..."),
        Column("value", "Float64", "Opportunity value: contract amount when won, else estimate"),
        Column("currency", LC, "ISO 4217 currency of value"),
        Column("status", LC, "open, won or lost"),
        Column("stage", LC, "Latest CRM stage"),
        Column("first_touch_at", f"Nullable({TS})", "First touchpoint inside the lookback"),
        Column("lead_created_at", f"Nullable({TS})", "Lead created (LC milestone)"),
        Column("opportunity_created_at", TS, "Opportunity created (OC milestone)"),
        Column("closed_at", f"Nullable({TS})", "Closed won (CW) or lost"),
        Column("days_to_close", "Nullable(Float64)", "Days from first touch to close"),
        Column("path", "Array(String)", "Channels of the touches, in event-time order"),
        Column("touch_count", "UInt32", "Touches in the chain"),
        Column("introducer_person_id", "String", "Person who introduced, empty if none"),
        VERSION,
        COMPUTED_AT,
    ),
    engine="ReplacingMergeTree(version)",
    order_by="(workspace, opportunity_id, version)",
)

# Migration 0002's table of one row per (opportunity, model, version, touch);
# 0006 replaces it by credit sets and a view of the same name.
ATTRIBUTION_CREDITS_V1 = Table(
    name="attribution_credits",
    comment="Credit of each touch of each chain under each attribution model; fractions "
    "sum to 1 and values to the opportunity value per (opportunity, model, version).",
    columns=(
        WORKSPACE,
        Column("opportunity_id", "String", "CRM opportunity id"),
        Column("model", LC, "first_touch, last_touch, linear, time_decay, position_based, ..."),
        Column("touch_index", "UInt16", "Position of the touch in the chain, from 0"),
        Column("touch_event_id", "String", "event_id of the touch"),
        Column("touched_at", TS, "Event time of the touch"),
        Column("channel", LC, "Channel of the touch"),
        Column("campaign", "String", "Campaign of the touch, empty if none"),
        Column("credit_fraction", "Float64", "Share of the credit, 0..1"),
        Column("credit_value", "Float64", "credit_fraction x opportunity value"),
        Column("currency", LC, "Currency of credit_value"),
        VERSION,
    ),
    engine="ReplacingMergeTree(version)",
    order_by="(workspace, opportunity_id, model, version, touch_index)",
)

ATTRIBUTION_CREDIT_SETS = Table(
    name="attribution_credit_sets",
    comment="Attribution credits as written: one row per (opportunity, model, version) with "
    "the chain's touches as parallel arrays. Query attribution_credits (one row per credited "
    "touch) or attribution_credits_latest instead.",
    columns=(
        WORKSPACE,
        Column("opportunity_id", "String", "CRM opportunity id"),
        Column("model", LC, "first_touch, last_touch, linear, time_decay, position_based, ..."),
        VERSION,
        Column("value", "Float64", "Opportunity value the fractions share"),
        Column("currency", LC, "Currency of value"),
        Column("touch_event_ids", "Array(String)", "event_id of each touch, in chain order"),
        Column("touch_times", f"Array({TS})", "Event time of each touch"),
        Column("channels", f"Array({LC})", "Channel of each touch"),
        Column("campaigns", "Array(String)", "Campaign of each touch, empty if none"),
        Column("credit_fractions", "Array(Float64)", "Share of each touch; they sum to 1"),
        Column("computed_at", TS, COMPUTED_AT.comment, default="now64(3)"),
    ),
    engine="ReplacingMergeTree(version)",
    order_by="(workspace, opportunity_id, version, model)",
)

CHANNEL_ATTRIBUTION = Table(
    name="channel_attribution",
    comment="Data-driven attribution per run: Markov-chain removal effect of each channel "
    "over all paths, converting and not.",
    columns=(
        Column("run_id", "String", "Run identifier"),
        Column("run_at", TS, "When the run happened"),
        WORKSPACE,
        Column("model", LC, "markov_order_<k>"),
        Column("channel", LC, "Channel"),
        Column("removal_effect", "Float64", "Drop in conversion probability without it"),
        Column("share", "Float64", "Normalised removal effect (sums to 1 per run)"),
        Column("conversions", "Float64", "Conversions attributed (share x conversions)"),
        Column("credit_value", "Float64", "Won value attributed (share x won value)"),
        Column("paths_total", "UInt32", "Paths in the run"),
        Column("paths_converting", "UInt32", "Converting paths in the run"),
    ),
    engine="MergeTree",
    order_by="(workspace, run_at, model, channel)",
)

# Migration 0014: a run's won value per currency (credit_value summed currencies).
MARKOV_VALUE_PER_CURRENCY_0014 = (
    AddColumn(
        "channel_attribution",
        Column("credit_currencies", f"Array({LC})", "Currencies of the won value, sorted"),
        "credit_value",
    ),
    AddColumn(
        "channel_attribution",
        Column(
            "credit_values",
            "Array(Float64)",
            "Won value attributed per currency, in the order of credit_currencies "
            "(share x the run's won value in that currency)",
        ),
        "credit_currencies",
    ),
    Comment(
        "channel_attribution",
        "Won value attributed (share x won value) when the run's wins are in one "
        "currency; NaN when they mix currencies (see credit_values)",
        column="credit_value",
    ),
    # A view's columns are fixed when it is made: SELECT * is made again to show them.
    Drop("VIEW", "channel_attribution_latest"),
)

CHANNEL_ATTRIBUTION_LATEST = View(
    name="channel_attribution_latest",
    comment="The most recent data-driven attribution run per workspace.",
    select="SELECT * FROM channel_attribution WHERE (workspace, run_at) IN "
    "(SELECT workspace, max(run_at) FROM channel_attribution GROUP BY workspace)",
)

TABLES = (
    IDENTITY_MERGES,
    IDENTITY_REFUSALS,
    OPPORTUNITY_CHAINS,
    ATTRIBUTION_CREDITS_V1,
    CHANNEL_ATTRIBUTION,
)

VIEWS = (
    View(
        name="opportunity_chains_latest",
        comment="The current version of every opportunity chain.",
        select="SELECT * FROM opportunity_chains FINAL "
        "WHERE (workspace, opportunity_id, version) IN "
        "(SELECT workspace, opportunity_id, max(version) FROM opportunity_chains "
        "GROUP BY workspace, opportunity_id)",
    ),
    View(
        name="attribution_credits_latest",
        comment="Credits of the current version of every chain.",
        select="SELECT * FROM attribution_credits FINAL "
        "WHERE (workspace, opportunity_id, version) IN "
        "(SELECT workspace, opportunity_id, max(version) FROM opportunity_chains "
        "GROUP BY workspace, opportunity_id)",
    ),
    CHANNEL_ATTRIBUTION_LATEST,
)


def _credits_view(name: str, comment: str, final: str, where: str) -> View:
    """Credit sets unfolded to one row per credited touch (the columns of the
    table they replace); ``credit_value`` is computed as it was written before."""
    return View(
        name=name,
        comment=comment,
        select=f"""
SELECT workspace, opportunity_id, model, toUInt16(touch_position - 1) AS touch_index,
    touch_event_id, touched_at, channel, campaign, credit_fraction,
    credit_fraction * value AS credit_value, currency, version
FROM attribution_credit_sets{final}
ARRAY JOIN touch_event_ids AS touch_event_id, touch_times AS touched_at,
    channels AS channel, campaigns AS campaign, credit_fractions AS credit_fraction,
    arrayEnumerate(credit_fractions) AS touch_position
WHERE credit_fraction > 0{where}""",
    )


_HISTORY_COMMENT = (
    "Credit of each touch of each chain under each attribution model, every version; "
    "fractions sum to 1 and values to the opportunity value per (opportunity, model, "
    "version). Touches without credit under a model have no row."
)

CREDIT_VIEWS = (
    _credits_view("attribution_credits", _HISTORY_COMMENT, "", ""),
    _credits_view(
        "attribution_credits_latest",
        "Credits of the current version of every chain.",
        " FINAL",
        " AND (workspace, opportunity_id, version) IN "
        "(SELECT workspace, opportunity_id, max(version) FROM opportunity_chains "
        "GROUP BY workspace, opportunity_id)",
    ),
)

# Old rows regrouped into sets: positions without a row (no credit) get fraction 0
# and stay hidden by the views; value is the sum of the credited values.
_BACKFILL_SELECT = """
SELECT workspace, opportunity_id, model, version, value, currency,
    arrayMap(i -> ids[indexOf(idx, i)], range(n)),
    arrayMap(i -> ats[indexOf(idx, i)], range(n)),
    arrayMap(i -> chs[indexOf(idx, i)], range(n)),
    arrayMap(i -> cps[indexOf(idx, i)], range(n)),
    arrayMap(i -> fs[indexOf(idx, i)], range(n))
FROM (
    SELECT workspace, opportunity_id, model, version, sum(credit_value) AS value,
        any(currency) AS currency, groupArray(toUInt32(touch_index)) AS idx,
        groupArray(touch_event_id) AS ids, groupArray(touched_at) AS ats,
        groupArray(channel) AS chs, groupArray(campaign) AS cps,
        groupArray(credit_fraction) AS fs, toUInt32(max(touch_index) + 1) AS n
    FROM attribution_credits FINAL
    GROUP BY workspace, opportunity_id, model, version
)"""

CREDIT_SETS_MIGRATION = (
    ATTRIBUTION_CREDIT_SETS,
    Backfill(
        "attribution_credit_sets",
        tuple(ATTRIBUTION_CREDIT_SETS.column_names()),
        _BACKFILL_SELECT,
        source="attribution_credits",
    ),
    Drop("VIEW", "attribution_credits_latest"),
    Drop("TABLE", "attribution_credits"),
    *CREDIT_VIEWS,
)

# A flag raised or lifted after a chain was credited writes its *_authentic credit
# sets again under the same version; the table keeps the last one, and the history
# reads FINAL so that it never shows both (0011).
CREDIT_HISTORY = _credits_view(
    "attribution_credits",
    _HISTORY_COMMENT + " *_authentic credits are as of the latest authenticity flags.",
    " FINAL",
    "",
)
