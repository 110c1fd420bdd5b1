"""Opportunity chains explorer: from first touch to contract, one chain at a time."""

from __future__ import annotations

from dashboards.model import Panel, Row
from dashboards.panels import filters as f
from dashboards.sql import Query

TABLE = "opportunity_chains_latest"


def summary() -> Row:
    def stat(title: str, column: str, description: str, unit: str = "short") -> Panel:
        return Panel(
            title,
            "stat",
            Query((column,), TABLE, where=f.chains()),
            description,
            unit=unit,
            width=6,
            height=4,
        )

    return Row(
        "Summary",
        (
            stat("Chains", "count() AS chains", "Opportunities created in the range."),
            stat(
                "Median days to close",
                "quantileIf(0.5)(days_to_close, status = 'won') AS median_days",
                "From first touch to contract, won chains.",
                unit="d",
            ),
            stat(
                "Touches per chain",
                "round(avg(touch_count), 1) AS touches",
                "Relationships take many touches before an opportunity.",
            ),
            stat(
                "Introduced",
                "countIf(introducer_person_id != '') / count() AS introduced",
                "Share of chains where someone opened the door.",
                unit="percentunit",
            ),
        ),
    )


def explorer() -> Row:
    recent = Panel(
        "Recent chains",
        "table",
        Query(
            (
                "opportunity_created_at AS created_at",
                "opportunity_id",
                "toString(kind) AS kind",
                "toString(opportunity_type) AS type",
                "toString(status) AS status",
                "round(value, 2) AS value",
                "toString(currency) AS currency",
                "arrayStringConcat(arrayFilter((c, i) -> i = 1 OR c != path[i - 1], path, "
                "arrayEnumerate(path)), ' → ') AS channel_path",
                "touch_count AS touches",
                "round(days_to_close, 1) AS days_to_close",
                "introducer_person_id AS introducer",
            ),
            TABLE,
            where=f.chains(),
            order_by=("created_at DESC", "opportunity_id"),
            limit=100,
        ),
        "The latest version of each chain: its path of channels, days to close, value and "
        "who introduced.",
        width=24,
        height=12,
    )
    close_time = Panel(
        "Days to close",
        "barchart",
        Query(
            (
                "multiIf(days_to_close < 30, '< 30', days_to_close < 90, '30-90', "
                "days_to_close < 180, '90-180', days_to_close < 365, '180-365', '365+') AS days",
                "count() AS chains",
            ),
            TABLE,
            where=("days_to_close IS NOT NULL", *f.chains()),
            group_by=("days",),
            order_by=("min(days_to_close)",),
        ),
        "Closed chains by time from first touch to close: relationships take years.",
        width=8,
    )
    first_channel = Panel(
        "First-touch channel",
        "barchart",
        Query(
            (
                "path[1] AS channel",
                "countIf(status = 'won') AS won",
                "countIf(status != 'won') AS other",
            ),
            TABLE,
            where=("touch_count > 0", *f.chains()),
            group_by=("channel",),
            order_by=("won DESC", "channel"),
        ),
        "Where the chains began.",
        width=8,
        stacked=True,
    )
    by_kind = Panel(
        "Opportunities by kind and status",
        "barchart",
        Query(
            (
                "toString(kind) AS kind",
                "countIf(status = 'open') AS open",
                "countIf(status = 'won') AS won",
                "countIf(status = 'lost') AS lost",
            ),
            TABLE,
            where=f.chains(),
            group_by=("kind",),
            order_by=("kind",),
        ),
        "Social and personal opportunities count, not only money.",
        width=8,
        stacked=True,
    )
    by_type = Panel(
        "Opportunities by kind and type",
        "table",
        Query(
            (
                "toString(kind) AS kind_",
                "toString(opportunity_type) AS type",
                "sum(opportunities) AS opportunities_",
                "sum(won) AS won_",
                f"round(sumIf(won_value, {f.IN_CURRENCY}), 2) AS won_value_",
            ),
            "opportunities_by_kind",
            where=(f.WORKSPACE,),
            group_by=("kind_", "type"),
            order_by=("kind_", "opportunities_ DESC"),
        ),
        "Collaborations, press, speaking and introductions next to deals (whole history: "
        "not limited by the time picker).",
        width=24,
    )
    return Row("Explorer", (recent, close_time, first_channel, by_kind, by_type))
