"""Every panel's SQL, expanded as Grafana would, runs on ClickHouse with generator data.

Each panel must return the columns its type needs (a stat one row, a time series a
``time`` column and a number, a bar chart a category and a number), non-empty,
with "All" selected everywhere; specific variable values must run too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import oppchain.generator
from dashboards.expand import TimeRange, defaults, expand
from dashboards.html import Result, bar_shape, stat_value, timeseries_shape
from dashboards.main import all_dashboards
from oppchain.settings import Settings
from sinks.migrations import table
from sinks.writer import ClickHouseSink
from streams.ingest import Record
from streams.markov_job import markov_rows
from streams.processor import Processor

pytestmark = pytest.mark.integration

CHUNK = 5000


def load_world(client: Any, events: int = 20000) -> None:
    """Generator data through the real batch processor and sink, without Kafka."""
    world = oppchain.generator.generate(5, 730, events=events, bad_fraction=0.01)
    records = [Record("oppchain.social", 0, i, None, line) for i, line in enumerate(world.events)]
    processor = Processor(Settings())
    sink = ClickHouseSink(lambda: client)
    for start in range(0, len(records), CHUNK):
        sink.write(processor.process(records[start : start + CHUNK]).rows)
    rows = markov_rows(processor.markov_paths(), Settings().markov_order)
    client.insert_arrow("channel_attribution", table("channel_attribution").to_arrow(rows))


def whole_range() -> TimeRange:
    return TimeRange(datetime(2023, 1, 1, tzinfo=UTC), datetime.now(UTC) + timedelta(hours=1))


def check_shape(result: Result) -> None:
    kind = result.panel.kind
    if kind == "stat":
        assert stat_value(result) is not None
    elif kind == "timeseries":
        assert timeseries_shape(result)
    elif kind == "barchart":
        categories, series = bar_shape(result)
        assert categories and series
    else:
        assert result.columns and result.rows


def test_every_panel_runs_and_returns_what_its_type_needs(clickhouse: Any) -> None:
    load_world(clickhouse)
    time_range = whole_range()
    problems: list[str] = []
    checked = 0
    for dashboard in all_dashboards():
        chosen = defaults(dashboard.variables)
        for variable in dashboard.variables:
            sql = expand(variable.query.sql(), time_range, dashboard.variables, chosen)
            values = clickhouse.query(sql).result_rows
            if not values:
                problems.append(f"{dashboard.uid} ${variable.name}: no values")
        for panel in dashboard.panels():
            sql = expand(panel.sql, time_range, dashboard.variables, chosen)
            try:
                answer = clickhouse.query(sql)
                result = Result(
                    panel,
                    panel.title,
                    tuple(answer.column_names),
                    tuple(tuple(r) for r in answer.result_rows),
                )
                check_shape(result)
                checked += 1
            except Exception as exc:
                problems.append(f"{dashboard.uid} / {panel.title}: {str(exc)[:300]}")
    assert not problems, "\n".join(problems)
    assert checked == sum(len(d.panels()) for d in all_dashboards())


def test_panels_run_with_chosen_variable_values(clickhouse: Any) -> None:
    load_world(clickhouse, events=5000)
    time_range = TimeRange(datetime(2024, 6, 1, tzinfo=UTC), datetime.now(UTC))
    chosen: dict[str, list[str] | None] = {
        "workspace": ["acme", "globex"],
        "platform": ["linkedin"],
        "campaign": None,
        "model": ["time_decay"],
    }
    non_empty = 0
    for dashboard in all_dashboards():
        for panel in dashboard.panels():
            sql = expand(panel.sql, time_range, dashboard.variables, chosen)
            rows = clickhouse.query(sql).result_rows
            non_empty += bool(rows)
    assert non_empty > 30
