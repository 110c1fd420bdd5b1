"""Relationships and karma: give without expecting, and see what comes back."""

from __future__ import annotations

from dashboards.model import Panel, Row
from dashboards.panels import filters as f
from dashboards.sql import Query, time_bucket

OUTBOUND = "direction = 'outbound'"
RELATIONSHIP_EVENTS = "event_type IN ('introduction', 'meeting', 'email_exchanged', 'help_given')"


def karma() -> Row:
    def stat(title: str, column: str, description: str, unit: str = "short") -> Panel:
        return Panel(
            title,
            "stat",
            Query((column,), "touchpoints", where=(OUTBOUND, *f.touches())),
            description,
            unit=unit,
            width=6,
            height=4,
        )

    gives_over_time = Panel(
        "Outbound acts by intent",
        "timeseries",
        Query(
            (
                f"{time_bucket('occurred_at')} AS time",
                "toString(intent) AS intent",
                "count() AS acts",
            ),
            "touchpoints",
            where=(OUTBOUND, *f.touches()),
            group_by=("time", "intent"),
            order_by=("time", "intent"),
        ),
        "Give (advice, links, recommendations), ask, or neutral: karma is mostly giving.",
        width=24,
        stacked=True,
    )
    return Row(
        "Karma",
        (
            stat("Gives", "countIf(intent = 'give') AS gives", "Outbound acts that give."),
            stat("Asks", "countIf(intent = 'ask') AS asks", "Outbound acts that ask."),
            stat(
                "Give to ask",
                "if(countIf(intent = 'ask') > 0, countIf(intent = 'give') / "
                "countIf(intent = 'ask'), NULL) AS give_to_ask",
                "Gives per ask: don't call only when you need something.",
            ),
            stat(
                "Recommendations given",
                "countIf(action = 'recommend') AS recommendations",
                "#followfriday and other recommendations of others.",
            ),
            gives_over_time,
        ),
    )


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
                "round(sumIf(value, status = 'won'), 2) AS won_value",
            ),
            "opportunity_chains_latest",
            where=("introducer_person_id != ''", *f.chains()),
            group_by=("introducer",),
            order_by=("won_value DESC", "introducer"),
            limit=20,
        ),
        "People who opened doors, and what came through them.",
        width=16,
    )
    strongest = Panel(
        "Strongest relationships",
        "table",
        Query(
            (
                "person_id",
                "count() AS touches",
                "uniqExact(channel) AS channels",
                "countIf(event_type = 'meeting') AS meetings",
                "least(countIf(direction = 'inbound'), countIf(direction = 'outbound')) "
                "/ greatest(count(), 1) AS reciprocity",
                "max(occurred_at) AS last_touch_at",
            ),
            "touchpoints",
            where=("person_id != ''", *f.touches()),
            group_by=("person_id",),
            order_by=("meetings DESC", "channels DESC", "touches DESC", "person_id"),
            limit=25,
        ),
        "Frequency, breadth across channels, meetings in person and reciprocity, per person.",
        width=24,
        height=10,
    )
    return Row("Relationships", (by_type, introducers, strongest))
