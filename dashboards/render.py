"""Typed model -> Grafana dashboard JSON (schemaVersion 39, ClickHouse plugin v4 targets)."""

from __future__ import annotations

import json
from typing import Any

from dashboards.defaults import DATASOURCE, PLUGIN_VERSION, SCHEMA_VERSION, field_defaults
from dashboards.model import Dashboard, Panel, Variable
from dashboards.sql import ALL

GRID_WIDTH = 24

# ClickHouse plugin v4: format 0 = time series, 1 = table; queryType names the editor mode.
_FORMAT = {"timeseries": 0, "stat": 1, "barchart": 1, "table": 1}
_QUERY_TYPE = {"timeseries": "timeseries", "stat": "table", "barchart": "table", "table": "table"}


def _options(panel: Panel) -> dict[str, Any]:
    legend = {"calcs": [], "displayMode": "list", "placement": "bottom", "showLegend": True}
    tooltip = {"mode": "multi", "sort": "desc"}
    if panel.kind == "stat":
        return {
            "colorMode": "value",
            "graphMode": "none",
            "justifyMode": "auto",
            "orientation": "auto",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "textMode": "auto",
        }
    if panel.kind == "timeseries":
        return {"legend": legend, "tooltip": tooltip}
    if panel.kind == "barchart":
        return {
            "barWidth": 0.8,
            "groupWidth": 0.7,
            "legend": legend,
            "orientation": "horizontal",
            "showValue": "auto",
            "stacking": "normal" if panel.stacked else "none",
            "tooltip": tooltip,
            "xTickLabelRotation": 0,
        }
    return {"cellHeight": "sm", "showHeader": True, "footer": {"show": False}}


def _custom(panel: Panel) -> dict[str, Any]:
    if panel.kind == "timeseries":
        return {
            "drawStyle": "line",
            "fillOpacity": 20 if panel.stacked else 10,
            "lineWidth": 2,
            "showPoints": "never",
            "spanNulls": True,
            "stacking": {"group": "A", "mode": "normal" if panel.stacked else "none"},
        }
    if panel.kind == "barchart":
        return {"fillOpacity": 80, "lineWidth": 1}
    if panel.kind == "table":
        return {"align": "auto", "cellOptions": {"type": "auto"}}
    return {}


def panel_json(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    defaults = field_defaults(panel.unit)
    custom = _custom(panel)
    if custom:
        defaults["custom"] = custom
    return {
        "datasource": dict(DATASOURCE),
        "description": panel.description,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "gridPos": {"h": panel.height, "w": panel.width, "x": x, "y": y},
        "id": panel_id,
        "options": _options(panel),
        "pluginVersion": PLUGIN_VERSION,
        "targets": [
            {
                "datasource": dict(DATASOURCE),
                "editorType": "sql",
                "format": _FORMAT[panel.kind],
                "pluginVersion": PLUGIN_VERSION,
                "queryType": _QUERY_TYPE[panel.kind],
                "rawSql": panel.sql,
                "refId": "A",
            }
        ],
        "title": panel.title,
        "type": panel.kind,
    }


def variable_json(variable: Variable) -> dict[str, Any]:
    if variable.multi:
        current = {"selected": True, "text": ["All"], "value": ["$__all"]}
    else:
        current = {"selected": True, "text": variable.default, "value": variable.default}
    return {
        "allValue": f"'{ALL}'" if variable.multi else None,
        "current": current,
        "datasource": dict(DATASOURCE),
        "definition": variable.query.sql(),
        "hide": 0,
        "includeAll": variable.multi,
        "label": variable.label,
        "multi": variable.multi,
        "name": variable.name,
        "options": [],
        "query": variable.query.sql(),
        "refresh": 2,
        "regex": "",
        "skipUrlSync": False,
        "sort": 1,
        "type": "query",
    }


def dashboard_json(dashboard: Dashboard) -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    next_id = 1
    y = 0
    for row in dashboard.rows:
        panels.append(
            {
                "collapsed": False,
                "gridPos": {"h": 1, "w": GRID_WIDTH, "x": 0, "y": y},
                "id": next_id,
                "panels": [],
                "title": row.title,
                "type": "row",
            }
        )
        next_id += 1
        y += 1
        x = 0
        line_height = 0
        for panel in row.panels:
            if x + panel.width > GRID_WIDTH:
                y += line_height
                x, line_height = 0, 0
            panels.append(panel_json(panel, next_id, x, y))
            next_id += 1
            x += panel.width
            line_height = max(line_height, panel.height)
        y += line_height
    return {
        "annotations": {"list": []},
        "description": dashboard.description,
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [
            {
                "asDropdown": True,
                "icon": "external link",
                "includeVars": True,
                "keepTime": True,
                "tags": ["oppchain"],
                "title": "oppchain",
                "type": "dashboards",
            }
        ],
        "panels": panels,
        "refresh": "",
        "schemaVersion": SCHEMA_VERSION,
        "tags": list(dashboard.tags),
        "templating": {"list": [variable_json(v) for v in dashboard.variables]},
        "time": {"from": dashboard.time_from, "to": "now"},
        "timepicker": {},
        "timezone": "utc",
        "title": dashboard.title,
        "uid": dashboard.uid,
        "version": 1,
        "weekStart": "",
    }


def dumps(document: dict[str, Any]) -> str:
    """Deterministic text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
