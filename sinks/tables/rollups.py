"""Rollups: pre-aggregated tables over touchpoints, each filled by a materialized view.

A ``Rollup`` declares dimensions and measures with their expressions once; the
target table and the view's SELECT are both derived from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sinks.spec import Column, Table, View
from sinks.tables.common import WORKSPACE

LC = "LowCardinality(String)"


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
