"""The typed dashboard model: a panel is a title, a kind and a query.

Builders produce these; ``render`` turns them into Grafana JSON and the HTML
report draws the same objects, so Grafana and the report cannot disagree on
what a panel shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from dashboards.sql import Query

PanelKind = Literal["stat", "timeseries", "barchart", "table"]


@dataclass(frozen=True)
class Panel:
    title: str
    kind: PanelKind
    query: Query
    description: str
    unit: str = "short"
    width: int = 12
    height: int = 8
    stacked: bool = False

    @property
    def sql(self) -> str:
        return self.query.sql()


@dataclass(frozen=True)
class Variable:
    """A query variable; single-value ones (model) have a default instead of "All"."""

    name: str
    label: str
    query: Query
    multi: bool = True
    default: str | None = None


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    rows: tuple[Row, ...]
    variables: tuple[Variable, ...]
    tags: tuple[str, ...] = ("oppchain",)
    time_from: str = "now-2y"
    links: tuple[str, ...] = field(default=())

    def panels(self) -> list[Panel]:
        return [p for row in self.rows for p in row.panels]

    def to_json(self) -> dict[str, Any]:
        from dashboards.render import dashboard_json

        return dashboard_json(self)
