"""Pipeline health: throughput, dead letters by reason, freshness."""

from __future__ import annotations

from dashboards.model import Panel, Row
from dashboards.panels import filters as f
from dashboards.sql import Query, cross_join, time_bucket, time_filter, union_all

LAG = "dateDiff('second', occurred_at, ingested_at)"

DEAD = (time_filter("dead_at"), f.WORKSPACE)
"""Dead letters in the range and workspace. A message too broken to name its workspace
has workspace '': it shows with "All" and is left out when workspaces are chosen (it
cannot be told apart), which the panels' descriptions say."""
UNREADABLE = " Unreadable messages (no workspace) show only with All workspaces."


def _stored(table: str) -> Query:
    return Query(
        (f"{time_bucket('ingested_at')} AS time", f"'{table}' AS series", "count() AS n"),
        table,
        where=(time_filter("ingested_at"), f.WORKSPACE),
        group_by=("time",),
    )


def throughput() -> Row:
    stored = Panel(
        "Events stored per interval",
        "timeseries",
        Query(
            ("time", "series", "sum(n) AS events"),
            union_all(
                _stored("touchpoints"),
                _stored("crm_events"),
                Query(
                    (
                        f"{time_bucket('dead_at')} AS time",
                        "'dead_letters' AS series",
                        "count() AS n",
                    ),
                    "dead_letters",
                    where=DEAD,
                    group_by=("time",),
                ),
            ),
            group_by=("time", "series"),
            order_by=("time", "series"),
        ),
        "Rows written per table by processing time." + UNREADABLE,
        width=16,
        stacked=True,
    )
    topics = Panel(
        "Per topic",
        "table",
        Query(
            (
                "toString(source_topic) AS topic",
                "count() AS events",
                "max(ingested_at) AS last_ingested_at",
                "max(occurred_at) AS last_occurred_at",
            ),
            union_all(
                Query(
                    ("source_topic", "ingested_at", "occurred_at"),
                    "touchpoints",
                    where=(time_filter("ingested_at"), f.WORKSPACE),
                ),
                Query(
                    ("source_topic", "ingested_at", "occurred_at"),
                    "crm_events",
                    where=(time_filter("ingested_at"), f.WORKSPACE),
                ),
            ),
            group_by=("topic",),
            order_by=("topic",),
        ),
        "What arrived from each topic and when it last did.",
        width=8,
    )
    return Row("Throughput", (stored, topics))


def dead_letters() -> Row:
    by_reason = Panel(
        "Dead letters by reason",
        "barchart",
        Query(
            ("toString(reason) AS reason_", "count() AS dead_letters"),
            "dead_letters",
            where=DEAD,
            group_by=("reason_",),
            order_by=("dead_letters DESC",),
        ),
        "Bad messages are never dropped silently: each is here with its reason." + UNREADABLE,
        width=8,
    )
    share = Panel(
        "Dead-letter share",
        "stat",
        Query(
            ("if(dead + stored > 0, dead / (dead + stored), NULL) AS dead_letter_share",),
            cross_join(
                Query(("count() AS dead",), "dead_letters", where=DEAD),
                "d",
                Query(
                    ("sum(n) AS stored",),
                    union_all(
                        *(
                            Query(
                                ("count() AS n",),
                                table,
                                where=(time_filter("ingested_at"), f.WORKSPACE),
                            )
                            for table in ("touchpoints", "crm_events")
                        )
                    ),
                ),
                "s",
            ),
        ),
        "Dead letters against every message of the range: dead / (dead + events stored in "
        "touchpoints and crm_events), as the dead letters come from the social, relationship "
        "and CRM topics alike." + UNREADABLE,
        unit="percentunit",
        width=4,
    )
    latest = Panel(
        "Latest dead letters",
        "table",
        Query(
            (
                "dead_at",
                "toString(reason) AS reason_",
                "detail",
                "source_topic",
                "source_partition",
                "source_offset",
            ),
            "dead_letters",
            where=DEAD,
            order_by=("dead_at DESC", "source_offset DESC"),
            limit=50,
        ),
        "Where to find the original bytes on the dead-letter topic for replay." + UNREADABLE,
        width=12,
    )
    return Row("Dead letters", (by_reason, share, latest))


def freshness() -> Row:
    def stat(title: str, q: float) -> Panel:
        return Panel(
            title,
            "stat",
            Query(
                (f"quantile({q})({LAG}) AS lag_seconds",),
                "touchpoints",
                where=(time_filter("ingested_at"), f.WORKSPACE),
            ),
            "Stored minus event time (ingested_at - occurred_at): late producers show here.",
            unit="s",
            width=4,
        )

    over_time = Panel(
        "Freshness over time",
        "timeseries",
        Query(
            (
                f"{time_bucket('ingested_at')} AS time",
                f"quantile(0.5)({LAG}) AS p50",
                f"quantile(0.95)({LAG}) AS p95",
            ),
            "touchpoints",
            where=(time_filter("ingested_at"), f.WORKSPACE),
            group_by=("time",),
            order_by=("time",),
        ),
        "Lag from event time to storage per interval.",
        unit="s",
        width=16,
    )
    return Row("Freshness", (stat("Freshness p50", 0.5), stat("Freshness p95", 0.95), over_time))
