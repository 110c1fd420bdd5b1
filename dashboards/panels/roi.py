"""Social ROI overview: what the relationships returned against what they cost."""

from __future__ import annotations

from dashboards.model import Panel, Row
from dashboards.panels import filters as f
from dashboards.panels.attribution import won_value_by_channel
from dashboards.sql import Query, cross_join, time_bucket, time_filter, union_all, var_eq

COST = "event_type = 'cost_recorded'"
CRM_EVENTS = "crm_events FINAL"
"""Each CRM event once. crm_events is a ReplacingMergeTree on event_id: a batch stored
twice (a rebalance window) stays doubled until a merge, so money sums read it FINAL,
as the ``account_ltv`` and ``roi_by_channel_campaign_model`` views do."""


def _won_value() -> Query:
    return Query(
        ("sum(value) AS won_value",),
        "opportunity_chains_latest",
        where=("status = 'won'", f.CURRENCY, *f.chains("closed_at")),
    )


def _cost_filters() -> tuple[str, ...]:
    """Cost recorded in the range, in the workspace, platform and campaign."""
    return (COST, f.CURRENCY, *f.crm(), f.PLATFORM, f.CAMPAIGN)


def _cost() -> Query:
    return Query(("sum(amount) AS cost",), CRM_EVENTS, where=_cost_filters())


def _won_credits() -> str:
    """Won value as credited touches, so platform and campaign filter it as they filter
    cost: one row per touch credited under ``$model`` of every won opportunity (channel,
    campaign, credited value, the opportunity's close time), plus the value of won
    opportunities without touches (nothing to credit: no platform, no campaign, so they
    count only with "All"). With "All" everywhere the rows sum to the won value."""
    return union_all(
        Query(
            (
                "c.workspace AS workspace",
                "c.channel AS channel",
                "c.campaign AS campaign",
                "c.credit_value AS won",
                "o.closed_at AS closed_at",
            ),
            "attribution_credits_latest AS c INNER JOIN opportunity_chains_latest AS o "
            "ON c.workspace = o.workspace AND c.opportunity_id = o.opportunity_id",
            where=(
                "o.status = 'won'",
                var_eq("c.model", "model"),
                var_eq("o.currency", "currency"),
            ),
        ),
        Query(
            ("workspace", "'' AS channel", "'' AS campaign", "value AS won", "closed_at"),
            "opportunity_chains_latest",
            where=("status = 'won'", "touch_count = 0", f.CURRENCY),
        ),
    )


def _won_credit_filters() -> tuple[str, ...]:
    """The filters of ``_cost_filters`` on ``_won_credits``: closed in the range, in the
    workspace, credited to touches on the platform and in the campaign."""
    return (time_filter("closed_at"), f.WORKSPACE, f.CHANNEL_IS_PLATFORM, f.CAMPAIGN)


def headline() -> Row:
    won = Panel(
        "Won value (${currency})",
        "stat",
        _won_value(),
        "Value of opportunities closed won in the range (contract amounts).",
        width=4,
        height=4,
    )
    created = Panel(
        "Opportunities created",
        "stat",
        Query(("count() AS opportunities",), "opportunity_chains_latest", where=f.chains()),
        "Opportunities of every kind (social, personal, monetary) created in the range.",
        width=4,
        height=4,
    )
    cost = Panel(
        "Cost (${currency})",
        "stat",
        _cost(),
        "Recorded cost: ad spend, time and tooling.",
        width=4,
        height=4,
    )
    roi = Panel(
        "ROI",
        "stat",
        Query(
            ("if(cost > 0, (won_value - cost) / cost, NULL) AS roi",),
            cross_join(
                Query(("sum(won) AS won_value",), _won_credits(), where=_won_credit_filters()),
                "won",
                _cost(),
                "spent",
            ),
        ),
        "(won value - cost) / cost over the range, both sides filtered alike by workspace, "
        "platform and campaign. Cost: recorded in the range on the chosen platforms and "
        "campaigns. Won value: of opportunities closed won in the range, the part credited "
        "under the chosen attribution model to touches on the chosen platforms and in the "
        "chosen campaigns (all of it when both are All).",
        unit="percentunit",
        width=4,
        height=4,
    )
    one_in_n = Panel(
        "1 in N first touches",
        "stat",
        Query(
            ("if(opportunities > 0, round(people / opportunities), NULL) AS one_in_n",),
            cross_join(
                Query(("uniqExact(person_id) AS people",), "touchpoints", where=f.touches()),
                "touched",
                Query(("count() AS opportunities",), "opportunity_chains_latest", where=f.chains()),
                "opened",
            ),
        ),
        "People touched per opportunity created: 1 in 100 is a good return.",
        width=4,
        height=4,
    )
    revenue = Panel(
        "Revenue recorded (${currency})",
        "stat",
        Query(
            ("sum(amount) AS revenue",),
            CRM_EVENTS,
            where=("event_type = 'revenue_recorded'", f.CURRENCY, *f.crm()),
        ),
        "Revenue recorded against accounts (lifetime value), beyond first contracts.",
        width=4,
        height=4,
    )
    return Row("Headline", (won, created, cost, roi, one_in_n, revenue))


def over_time() -> Row:
    value_vs_cost = Panel(
        "Won value vs cost (${currency})",
        "timeseries",
        Query(
            ("time", "series", "sum(v) AS value"),
            union_all(
                Query(
                    (
                        f"{time_bucket('closed_at')} AS time",
                        "'won value' AS series",
                        "sum(won) AS v",
                    ),
                    _won_credits(),
                    where=_won_credit_filters(),
                    group_by=("time",),
                ),
                Query(
                    (
                        f"{time_bucket('occurred_at')} AS time",
                        "'cost' AS series",
                        "sum(amount) AS v",
                    ),
                    CRM_EVENTS,
                    where=_cost_filters(),
                    group_by=("time",),
                ),
            ),
            group_by=("time", "series"),
            order_by=("time", "series"),
        ),
        "Won value by close date and cost recorded per interval, both filtered alike by "
        "workspace, platform and campaign: cost on the chosen platforms and campaigns; won "
        "value the part credited under the chosen attribution model to touches on the "
        "chosen platforms and in the chosen campaigns (all of it when both are All).",
    )
    by_kind = Panel(
        "Opportunities created by kind",
        "timeseries",
        Query(
            (
                f"{time_bucket('opportunity_created_at')} AS time",
                "toString(kind) AS kind",
                "count() AS opportunities",
            ),
            "opportunity_chains_latest",
            where=f.chains(),
            group_by=("time", "kind"),
            order_by=("time", "kind"),
        ),
        "Social, personal and monetary opportunities: not every return is money.",
        stacked=True,
    )
    return Row("Over time", (value_vs_cost, by_kind))


def by_channel() -> Row:
    credited = won_value_by_channel(
        "Won value credited by channel (${model}, ${currency})",
        "Won value spread over the touches that led to it, under the chosen model.",
    )
    cost = Panel(
        "Cost by platform (${currency})",
        "barchart",
        Query(
            (
                "if(platform = '', 'unassigned', toString(platform)) AS platform_",
                "sum(amount) AS cost",
            ),
            CRM_EVENTS,
            where=_cost_filters(),
            group_by=("platform_",),
            order_by=("cost DESC",),
        ),
        "Where the money and time went.",
        width=8,
    )
    campaigns = Panel(
        "ROI by campaign (${model}, ${currency})",
        "table",
        Query(
            (
                "campaign",
                "sum(spend) AS cost",
                "sum(credit) AS credited_value",
                "if(cost > 0, (credited_value - cost) / cost, NULL) AS roi",
            ),
            union_all(
                Query(
                    ("campaign", "amount AS spend", "0 AS credit"),
                    CRM_EVENTS,
                    where=("campaign != ''", *_cost_filters()),
                ),
                Query(
                    ("campaign", "0 AS spend", "won AS credit"),
                    _won_credits(),
                    where=("campaign != ''", *_won_credit_filters()),
                ),
            ),
            group_by=("campaign",),
            order_by=("credited_value DESC", "campaign"),
        ),
        "Paid campaigns: cost recorded in the range against the won value of opportunities "
        "closed won in the range credited to their touches (as in ROI).",
        width=8,
    )
    return Row("By channel and campaign", (credited, cost, campaigns))


def all_time() -> Row:
    one_in_n = Panel(
        "1 in N by first-touch channel",
        "table",
        Query(
            (
                "toString(channel) AS channel_",
                "sum(first_touches) AS first_touched",
                "sum(contracts_won) AS contracts",
                "if(contracts > 0, round(first_touched / contracts, 1), NULL) AS one_in_n",
            ),
            "one_in_n_by_channel",
            where=(f.WORKSPACE, f.CHANNEL_IS_PLATFORM),
            group_by=("channel_",),
            order_by=("contracts DESC", "channel_"),
        ),
        "People first touched on a channel per contract won from them (whole history: not "
        "limited by the time picker).",
        width=8,
    )
    roi_by_channel = Panel(
        "ROI by channel (${model}, ${currency})",
        "barchart",
        Query(
            (
                "toString(channel) AS channel_",
                "sum(credited_value) AS credited",
                "sum(cost_value) AS cost",
            ),
            "roi_by_channel_campaign_model",
            where=(var_eq("model", "model"), f.CURRENCY, f.WORKSPACE, f.CHANNEL_IS_PLATFORM),
            group_by=("channel_",),
            order_by=("credited DESC",),
        ),
        "Won value credited against cost per channel (whole history: not limited by the "
        "time picker).",
        width=8,
    )
    ltv = Panel(
        "Lifetime value by account (${currency})",
        "table",
        Query(
            (
                "account_id",
                "round(sum(lifetime_value), 2) AS lifetime_value_",
                "sum(revenue_events) AS revenue_events_",
                "max(last_revenue_at) AS last_revenue",
            ),
            "account_ltv",
            where=(time_filter("last_revenue_at"), f.WORKSPACE, f.CURRENCY),
            group_by=("account_id",),
            order_by=("lifetime_value_ DESC", "account_id"),
            limit=20,
        ),
        "Revenue recorded per account: one opportunity can be worth many years.",
        width=8,
    )
    return Row("Returns over the whole relationship", (one_in_n, roi_by_channel, ltv))
