"""Relationships and karma: give without expecting, and see what comes back."""

from __future__ import annotations

from dashboards.model import Panel, Row
from dashboards.panels import filters as f
from dashboards.sql import Query, time_bucket, time_filter, var_any

RELATIONSHIP_EVENTS = "event_type IN ('introduction', 'meeting', 'email_exchanged', 'help_given')"


def _rollup_filters() -> tuple[str, ...]:
    return f.rollup("day")


def karma() -> Row:
    def stat(title: str, column: str, description: str, unit: str = "short") -> Panel:
        return Panel(
            title,
            "stat",
            Query((column,), "karma_daily", where=_rollup_filters()),
            description,
            unit=unit,
            width=6,
            height=4,
        )

    over_time = Panel(
        "Gives and asks",
        "timeseries",
        Query(
            (f"{time_bucket('day')} AS time", "toString(intent) AS intent", "sum(acts) AS acts"),
            "karma_daily",
            where=("intent IN ('give', 'ask')", *_rollup_filters()),
            group_by=("time", "intent"),
            order_by=("time", "intent"),
        ),
        "Our outbound gives (advice, links, recommendations, help) and asks, from the daily "
        "rollup: karma is mostly giving.",
        width=12,
        stacked=True,
    )
    returns = Panel(
        "What giving brought back",
        "table",
        Query(
            (
                "toString(intent) AS intent_",
                "toString(action) AS action_",
                "count() AS acts",
                "countIf(opportunities_after > 0) AS followed_by_opportunity",
                "followed_by_opportunity / acts AS share",
                "round(quantileIf(0.5)(days_to_opportunity, days_to_opportunity IS NOT NULL))"
                " AS median_days",
                "sum(introductions_after) AS introductions",
                "sum(recommendations_after) AS recommendations",
            ),
            "karma_ledger_latest",
            where=(time_filter("acted_at"), f.WORKSPACE, f.CHANNEL_IS_PLATFORM, f.CAMPAIGN),
            group_by=("intent_", "action_"),
            order_by=("followed_by_opportunity DESC", "acts DESC"),
        ),
        "Karma ledger: acts followed within a year by an opportunity, an introduction or a "
        "recommendation, and how long it took.",
        width=12,
    )
    return Row(
        "Karma",
        (
            stat("Gives", "sumIf(acts, intent = 'give') AS gives", "Outbound acts that give."),
            stat("Asks", "sumIf(acts, intent = 'ask') AS asks", "Outbound acts that ask."),
            stat(
                "Give to ask",
                "if(sumIf(acts, intent = 'ask') > 0, sumIf(acts, intent = 'give') / "
                "sumIf(acts, intent = 'ask'), NULL) AS give_to_ask",
                "Gives per ask: don't call only when you need something.",
            ),
            Panel(
                "Recommendations given",
                "stat",
                Query(
                    ("sum(touches) AS recommendations",),
                    "touchpoints_daily",
                    where=("action = 'recommend'", "direction = 'outbound'", *_rollup_filters()),
                ),
                "#followfriday and other recommendations of others.",
                width=6,
                height=4,
            ),
            over_time,
            returns,
        ),
    )


def strength() -> Row:
    table = "relationships_latest"
    where = (time_filter("last_touch_at"), f.WORKSPACE, var_any("channels", "platform"))
    funnel = Panel(
        "Circles funnel",
        "table",
        Query(
            (
                "workspace",
                "reached",
                "engaged",
                "relationship",
                "opportunity",
                "customer",
                "round(median_days_to_opportunity) AS days_to_opportunity",
            ),
            "circles_funnel",
            where=(f.WORKSPACE,),
            order_by=("workspace",),
        ),
        "Stranger -> engaged (third circle) -> relationship -> opportunity -> customer "
        "(whole history: not limited by the time picker).",
        width=12,
    )
    distribution = Panel(
        "Relationship strength",
        "barchart",
        Query(
            (
                "concat(toString(intDiv(toUInt32(score), 20) * 20), '-', "
                "toString(intDiv(toUInt32(score), 20) * 20 + 19)) AS score_band",
                "count() AS people",
                "countIf(ask_only) AS ask_only",
            ),
            table,
            where=where,
            group_by=("score_band",),
            order_by=("min(score)",),
        ),
        "People by strength score (recency, frequency, reciprocity, breadth, offline, "
        "tenure); ask-only contacts apart.",
        width=12,
    )
    strongest = Panel(
        "Strongest relationships",
        "table",
        Query(
            (
                "person_id",
                "round(score, 1) AS score",
                "touch_count AS touches",
                "arrayStringConcat(channels, ', ') AS channels_",
                "offline_count AS offline",
                "round(reciprocity, 2) AS reciprocity",
                "gives",
                "asks",
                "last_touch_at",
            ),
            table,
            where=where,
            order_by=("score DESC", "person_id"),
            limit=25,
        ),
        "Relationship strength per person, strongest first.",
        width=24,
        height=10,
    )
    return Row("Relationship strength", (funnel, distribution, strongest))


def relationships() -> Row:
    by_type = Panel(
        "Relationship events by type",
        "barchart",
        Query(
            ("toString(event_type) AS type", "count() AS events"),
            "touchpoints",
            where=(RELATIONSHIP_EVENTS, *f.touches()),
            group_by=("type",),
            order_by=("events DESC",),
        ),
        "Introductions, meetings, emails and help: the offline half of a relationship.",
        width=8,
    )
    introducers = Panel(
        "Introducers",
        "table",
        Query(
            (
                "introducer_person_id AS introducer",
                "count() AS opportunities",
                "countIf(status = 'won') AS won",
                f"round(sumIf(value, status = 'won' AND {f.IN_CURRENCY}), 2) AS won_value",
            ),
            "opportunity_chains_latest",
            where=("introducer_person_id != ''", *f.chains()),
            group_by=("introducer",),
            order_by=("won_value DESC", "introducer"),
            limit=20,
        ),
        "People who opened doors, and what came through them (won value in ${currency}).",
        width=16,
    )
    return Row("Relationships", (by_type, introducers))
