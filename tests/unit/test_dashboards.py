"""Dashboards as code: committed JSON equals the builders, and is valid Grafana JSON."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards.defaults import DATASOURCE_TYPE, DATASOURCE_UID, MODEL, STANDARD_VARIABLES
from dashboards.expand import ExpandError, TimeRange, defaults, expand
from dashboards.main import JSON_DIR, all_dashboards, build, rendered
from dashboards.model import Panel
from dashboards.sql import ALL, Query, date_filter, var_in
from sinks.migrations import all_tables

ROOT = Path(__file__).resolve().parents[2]
PROVISIONING = ROOT / "dashboards" / "provisioning"
PANEL_KEYS = {"datasource", "fieldConfig", "gridPos", "id", "options", "targets", "title", "type"}
DASHBOARD_KEYS = {"panels", "schemaVersion", "templating", "time", "title", "uid", "version"}
PANEL_TYPES = {"stat", "timeseries", "barchart", "table"}
USED_VARIABLE = re.compile(r"\$\{([A-Za-z_]\w*)(?::\w+)?\}|\$([A-Za-z_]\w*)")


def documents() -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(JSON_DIR.glob("*.json"))]


def test_committed_json_matches_the_builders() -> None:
    committed = {p.name: p.read_text() for p in JSON_DIR.glob("*.json")}
    assert committed == rendered(), "dashboards drifted: run 'oppchain dashboards build'"


def test_build_is_deterministic_and_sorted(tmp_path: Path) -> None:
    build(tmp_path)
    (tmp_path / "gone.json").write_text("{}")
    build(tmp_path)
    first = {p.name: p.read_text() for p in tmp_path.glob("*.json")}
    assert first == rendered()
    for text in first.values():
        assert (
            text
            == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        )


def test_at_least_six_dashboards_with_unique_uids() -> None:
    uids = [d["uid"] for d in documents()]
    assert len(uids) >= 6
    assert len(set(uids)) == len(uids)
    titles = {d["title"] for d in documents()}
    for wanted in ("Social ROI overview", "Attribution", "Opportunity chains explorer"):
        assert wanted in titles
    assert {"Relationships and karma", "Pipeline health"} <= titles


@pytest.mark.parametrize("doc", documents(), ids=lambda d: d["uid"])
def test_dashboard_schema(doc: dict[str, Any]) -> None:
    assert set(doc) >= DASHBOARD_KEYS
    assert doc["time"]["to"] == "now"
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    variables = {v["name"]: v for v in doc["templating"]["list"]}
    occupied: set[tuple[int, int]] = set()
    for panel in doc["panels"]:
        grid = panel["gridPos"]
        assert set(grid) == {"h", "w", "x", "y"}
        assert all(isinstance(grid[k], int) and grid[k] >= 0 for k in grid)
        assert grid["w"] >= 1 and grid["x"] + grid["w"] <= 24
        cells = {(grid["x"] + i, grid["y"] + j) for i in range(grid["w"]) for j in range(grid["h"])}
        assert not cells & occupied, f"{panel['title']} overlaps another panel"
        occupied |= cells
        if panel["type"] == "row":
            continue
        assert set(panel) >= PANEL_KEYS, panel["title"]
        assert panel["type"] in PANEL_TYPES
        assert panel["datasource"] == {"type": DATASOURCE_TYPE, "uid": DATASOURCE_UID}
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == DATASOURCE_UID
            assert target["editorType"] == "sql" and target["refId"] == "A"
            assert target["format"] == (0 if panel["type"] == "timeseries" else 1)
            sql = target["rawSql"]
            assert sql.startswith("SELECT ")
            for match in USED_VARIABLE.finditer(sql.replace("$__", "")):
                name = match[1] or match[2]
                assert name in variables, f"{panel['title']}: ${name} is not a variable"
        for match in USED_VARIABLE.finditer(panel["title"]):
            assert (match[1] or match[2]) in variables


def test_every_panel_query_follows_the_time_picker_or_says_why() -> None:
    for dashboard in all_dashboards():
        for panel in dashboard.panels():
            follows = "$__timeFilter(" in panel.sql or "$__fromTime" in panel.sql
            assert follows or "not limited by the time picker" in panel.description, panel.title


def _panels() -> list[tuple[str, Panel]]:
    return [(d.uid, p) for d in all_dashboards() for p in d.panels()]


def test_date_columns_are_filtered_by_whole_days() -> None:
    """``$__timeFilter(day)`` compares a day's midnight with the range's start and drops
    the first (partial) day; Date columns take every day the range touches."""
    date_columns = {c.name for t in all_tables() for c in t.columns if c.type == "Date"}
    assert "day" in date_columns
    rollup_panels = 0
    for uid, panel in _panels():
        for column in re.findall(r"\$__timeFilter\((\w+)\)", panel.sql):
            assert column not in date_columns, f"{uid} / {panel.title}: {column}"
        if re.search(r"\b(touchpoints_daily|karma_daily)\b", panel.sql):
            rollup_panels += 1
            assert date_filter("day") in panel.sql, f"{uid} / {panel.title}"
    assert rollup_panels >= 7
    assert date_filter("day") == (
        "day >= toDate($__fromTime, 'UTC') AND day <= toDate($__toTime, 'UTC')"
    )
    expanded = expand(f"SELECT 1 WHERE {date_filter('day')}", RANGE, (), {})
    assert expanded.endswith(
        "day >= toDate(toDateTime(1704067200), 'UTC') "
        "AND day <= toDate(toDateTime(1706659200), 'UTC')"
    )


def test_money_sums_read_each_crm_event_once() -> None:
    """crm_events keeps a batch stored twice until a merge: sums of amount read FINAL."""
    money = 0
    for uid, panel in _panels():
        if "crm_events" in panel.sql and "sum(amount)" in panel.sql:
            money += 1
            reads = re.findall(r"FROM crm_events\b( FINAL)?", panel.sql)
            assert reads and all(reads), f"{uid} / {panel.title}"
    assert money >= 5


def test_roi_sides_are_filtered_alike() -> None:
    """Won value and cost of the ROI panels follow the same variables, in one currency
    (the won side's two parts, credited touches and untouched wins, and the cost)."""
    roi = next(d for d in all_dashboards() if d.uid == "oppchain-roi")
    panels = {p.title: p for p in roi.panels()}
    for title in (
        "ROI",
        "Won value vs cost (${currency})",
        "ROI by campaign (${model}, ${currency})",
    ):
        sql = panels[title].sql
        for variable in ("workspace", "platform", "campaign"):
            assert sql.count(f"IN (${{{variable}:singlequote}})") == 4, (title, variable)
        assert sql.count("currency = ${currency:singlequote}") == 3, title
        assert "contract_signed" not in sql, title


def test_dead_letter_panels_follow_the_workspace() -> None:
    dead = 0
    for uid, panel in _panels():
        for where in re.findall(
            r"FROM dead_letters\s+WHERE (.*?)(?:\n\S|\n\s*\w+ BY|$)", panel.sql, re.S
        ):
            dead += 1
            assert var_in("workspace", "workspace") in where, f"{uid} / {panel.title}"
    assert dead >= 4
    share = next(p for _, p in _panels() if p.title == "Dead-letter share")
    assert "FROM touchpoints" in share.sql and "FROM crm_events" in share.sql


def test_variables() -> None:
    for doc in documents():
        variables = {v["name"]: v for v in doc["templating"]["list"]}
        assert "workspace" in variables
        for v in variables.values():
            assert v["datasource"]["uid"] == DATASOURCE_UID
            assert v["type"] == "query" and v["query"].startswith("SELECT DISTINCT")
            if v["multi"]:
                assert v["includeAll"] and v["allValue"] == f"'{ALL}'"
    roi = next(d for d in documents() if d["uid"] == "oppchain-roi")
    names = [v["name"] for v in roi["templating"]["list"]]
    assert names == ["workspace", "platform", "campaign", "model", "currency"]
    single = {v["name"]: v for v in roi["templating"]["list"] if not v["multi"]}
    assert {name: v["current"]["value"] for name, v in single.items()} == {
        "model": "linear",
        "currency": "USD",
    }


def test_every_variable_filters_some_panel_of_its_dashboard() -> None:
    """A variable that no panel reads would look like a filter and change nothing."""
    for dashboard in all_dashboards():
        sql = "\n".join(p.sql for p in dashboard.panels())
        for variable in dashboard.variables:
            assert f"${{{variable.name}" in sql, (dashboard.uid, variable.name)


def test_provisioning_points_at_the_panels_datasource() -> None:
    ds = yaml.safe_load((PROVISIONING / "datasources" / "clickhouse.yaml").read_text())
    (source,) = ds["datasources"]
    assert source["uid"] == DATASOURCE_UID and source["type"] == DATASOURCE_TYPE
    assert source["secureJsonData"]["password"] == "${CLICKHOUSE_PASSWORD}"
    providers = yaml.safe_load((PROVISIONING / "dashboards" / "oppchain.yaml").read_text())
    (provider,) = providers["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"


RANGE = TimeRange(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 31, tzinfo=UTC))


def test_expand_time_macros_as_the_plugin_does() -> None:
    sql = (
        "SELECT $__timeInterval(t) AS time FROM x "
        "WHERE $__timeFilter(t) AND $__fromTime < $__toTime"
    )
    out = expand(sql, RANGE, (), {})
    assert "t >= toDateTime(1704067200) AND t <= toDateTime(1706659200)" in out
    assert "toStartOfInterval(toDateTime(t), INTERVAL 21600 second) AS time" in out
    assert "toDateTime(1704067200) < toDateTime(1706659200)" in out


def test_expand_variables_all_and_values() -> None:
    variables = (*STANDARD_VARIABLES, MODEL)
    where = var_in("workspace", "workspace")
    sql = f"SELECT 1 FROM t WHERE {where} AND model = ${{model:singlequote}}"
    everything = expand(sql, RANGE, variables, defaults(variables))
    assert everything.endswith(
        f"('{ALL}' IN ('{ALL}') OR workspace IN ('{ALL}')) AND model = 'linear'"
    )
    chosen = expand(sql, RANGE, variables, {"workspace": ["acme", "o'brien"], "model": ["x"]})
    assert "workspace IN ('acme','o\\'brien')" in chosen
    assert chosen.endswith("model = 'x'")


def test_expand_refuses_unknown_macros_and_variables() -> None:
    with pytest.raises(ExpandError):
        expand("SELECT $__unixEpochFilter(t)", RANGE, (), {})
    with pytest.raises(ExpandError):
        expand("SELECT ${nope}", RANGE, (), {})


def test_query_builder_layout() -> None:
    q = Query(("a", "count() AS n"), "t", where=("x = 1", "y = 2"), group_by=("a",), limit=5)
    assert (
        q.sql()
        == "SELECT a,\n       count() AS n\nFROM t\nWHERE x = 1\n  AND y = 2\nGROUP BY a\nLIMIT 5"
    )


def test_chart_axes_cover_the_data_and_units_read_well() -> None:
    from dashboards.charts import fmt, nice_ticks

    for low, high in ((0, 230_000), (0, 1), (-0.2, 0.5), (0, 0.21), (3, 3)):
        ticks = nice_ticks(low, high)
        assert ticks[0] <= low and ticks[-1] >= high and len(ticks) <= 7
    assert fmt(0.1875, "percentunit") == "18.8%"
    assert fmt(573797.33) == "573.8K"
    assert fmt(90000, "s") == "1.0 days"
    assert fmt(None) == "–"
