"""Attribution: one model chosen by a variable, and every model side by side."""

from __future__ import annotations

from dashboards.model import Panel, Row
from dashboards.panels import filters as f
from dashboards.sql import Query, time_bucket, var_eq
from streams.domain.config import DEFAULT_MODELS


def won_value_by_channel(title: str, description: str) -> Panel:
    """Won value credited to each channel under the model chosen by ``$model``."""
    return Panel(
        title,
        "barchart",
        Query(
            ("toString(channel) AS channel", "sum(credit_value) AS credited_value"),
            "attribution_credits_latest",
            where=(var_eq("model", "model"), f.WON_CHAINS, f.CURRENCY, *f.credits()),
            group_by=("channel",),
            order_by=("credited_value DESC",),
        ),
        description,
        width=8,
    )


def chosen_model() -> Row:
    by_channel = won_value_by_channel(
        "Won value by channel (${model}, ${currency})",
        "Won value credited to each channel's touches under the chosen model.",
    )
    over_time = Panel(
        "Credited value over time by channel (${model}, ${currency})",
        "timeseries",
        Query(
            (
                f"{time_bucket('touched_at')} AS time",
                "toString(channel) AS channel",
                "sum(credit_value) AS credited_value",
            ),
            "attribution_credits_latest",
            where=(var_eq("model", "model"), f.OPEN_OR_WON_CHAINS, f.CURRENCY, *f.credits()),
            group_by=("time", "channel"),
            order_by=("time", "channel"),
        ),
        "When the credited touches happened: won opportunities at their contract value, "
        "open ones at their estimate; lost ones left out.",
        width=16,
        stacked=True,
    )
    campaigns = Panel(
        "Campaign reach",
        "table",
        Query(
            (
                "campaign",
                "count() AS touches",
                "uniqExact(person_id) AS people",
                "uniqExactIf(person_id, (workspace, person_id) IN (SELECT workspace, person_id "
                "FROM opportunity_chains_latest)) AS people_with_opportunities",
            ),
            "touchpoints",
            where=("campaign != ''", *f.touches()),
            group_by=("campaign",),
            order_by=("people_with_opportunities DESC", "touches DESC", "campaign"),
            limit=20,
        ),
        "Campaign touches and how many of the people reached have an opportunity.",
        width=24,
    )
    return Row("Chosen model", (by_channel, over_time, campaigns))


def side_by_side() -> Row:
    columns = tuple(f"sumIf(credit_value, model = '{m}') AS {m}" for m in DEFAULT_MODELS)
    models = Panel(
        "Won value by channel, every model",
        "barchart",
        Query(
            ("toString(channel) AS channel", *columns),
            "attribution_credits_latest",
            where=(f.WON_CHAINS, f.CURRENCY, *f.credits()),
            group_by=("channel",),
            order_by=("channel",),
        ),
        "The same won value under each heuristic model: where they disagree is where "
        "the choice of model matters. In the chosen currency: values of two "
        "currencies are never added.",
        width=16,
        height=10,
    )
    markov = Panel(
        "Data-driven share by channel (Markov)",
        "barchart",
        Query(
            ("toString(channel) AS channel", "avg(share) AS share"),
            "channel_attribution_latest",
            where=(f.WORKSPACE, f.CHANNEL_IS_PLATFORM),
            group_by=("channel",),
            order_by=("share DESC",),
        ),
        "Removal effect of each channel over all paths, converting or not, from the latest "
        "run (whole history: not limited by the time picker).",
        unit="percentunit",
        width=8,
        height=10,
    )
    shares = Panel(
        "Credit share by channel and model",
        "table",
        Query(
            (
                "toString(model) AS model",
                "toString(channel) AS channel",
                "sum(credit_value) AS credited_value",
                "credited_value / sum(credited_value) OVER (PARTITION BY model) AS share",
            ),
            "attribution_credits_latest",
            where=(f.WON_CHAINS, f.CURRENCY, *f.credits()),
            group_by=("model", "channel"),
            order_by=("model", "share DESC"),
        ),
        "Each model's split of won value over channels, in the chosen currency.",
        width=24,
        height=10,
    )
    return Row("Models side by side", (models, markov, shares))
