"""One self-contained HTML page from panels and their query results.

No network: styles, charts (inline SVG from ``charts``) and the small script
that checks every chart rendered are all inline.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from dashboards import charts
from dashboards.model import Dashboard, Panel

TABLE_ROWS = 50


@dataclass(frozen=True)
class Result:
    panel: Panel
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    error: str = ""


class ShapeError(ValueError):
    """The result does not have the columns the panel type needs."""


def timeseries_shape(result: Result) -> dict[str, list[tuple[datetime, float]]]:
    """Long format (time, label..., value) or wide (time, value, value...) -> series."""
    if not result.rows or "time" not in result.columns:
        raise ShapeError("a time series needs a 'time' column and rows")
    t = result.columns.index("time")
    first = result.rows[0]
    labels = [i for i, v in enumerate(first) if i != t and isinstance(v, str)]
    numbers = [i for i, v in enumerate(first) if i != t and charts.is_number(v)]
    if not isinstance(first[t], datetime) or not numbers:
        raise ShapeError("a time series needs a datetime 'time' and a numeric column")
    series: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for row in result.rows:
        for n in numbers:
            name = " ".join(str(row[i]) for i in labels) if labels else result.columns[n]
            if labels and len(numbers) > 1:
                name += f" {result.columns[n]}"
            if row[n] is not None:
                series[name].append((row[t], float(row[n])))
    return dict(series)


def bar_shape(result: Result) -> tuple[list[str], dict[str, list[float]]]:
    """(category, value, value...) -> categories and one series per numeric column."""
    if not result.rows:
        raise ShapeError("a bar chart needs rows")
    first = result.rows[0]
    numbers = [i for i, v in enumerate(first) if i > 0 and charts.is_number(v)]
    if not numbers:
        raise ShapeError("a bar chart needs a category and a numeric column")
    categories = [str(row[0]) for row in result.rows]
    series = {result.columns[n]: [float(row[n] or 0.0) for row in result.rows] for n in numbers}
    return categories, series


def stat_value(result: Result) -> Any:
    if len(result.rows) != 1 or not result.columns:
        raise ShapeError("a stat needs exactly one row")
    return result.rows[0][0]


def _body(result: Result) -> tuple[str, str]:
    """(kind of figure, inner HTML)."""
    panel = result.panel
    if result.error:
        return "error", f'<p class="error">{escape(result.error)}</p>'
    try:
        if panel.kind == "stat":
            value = charts.fmt(stat_value(result), panel.unit)
            return "stat", f'<div class="stat" data-mark="stat">{escape(value)}</div>'
        if panel.kind == "timeseries":
            svg = charts.timeseries(
                timeseries_shape(result), panel.unit, result.title, columns=panel.width
            )
            return "chart", svg
        if panel.kind == "barchart":
            categories, series = bar_shape(result)
            return "chart", charts.bars(
                categories,
                series,
                panel.unit,
                result.title,
                stacked=panel.stacked,
                columns=panel.width,
            )
        return "table", _table(result)
    except ShapeError as exc:
        return "empty", f'<p class="empty">No data ({escape(str(exc))})</p>'


def _table(result: Result) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in result.columns)
    body = []
    for row in result.rows[:TABLE_ROWS]:
        cells = []
        for column, value in zip(result.columns, row, strict=True):
            unit = "percentunit" if column in ("share", "reciprocity", "roi") else "short"
            text = charts.fmt(value, unit)
            cls = ' class="num"' if charts.is_number(value) else ""
            cells.append(f"<td{cls}>{escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = len(result.rows) - TABLE_ROWS
    note = f'<p class="note">{more} more rows not shown</p>' if more > 0 else ""
    return (
        f'<div class="scroll"><table data-mark="table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>{note}"
    )


def figure(result: Result) -> str:
    kind, inner = _body(result)
    p = result.panel
    return (
        f'<figure class="panel {kind}" data-kind="{kind}" data-panel="{escape(p.kind)}" '
        f'style="grid-column: span {p.width}">'
        f'<figcaption title="{escape(p.description)}">{escape(result.title)}</figcaption>'
        f"{inner}</figure>"
    )


def section(dashboard: Dashboard, results: Sequence[Result]) -> str:
    by_panel = {id(r.panel): r for r in results}
    parts = [
        f'<section id="{escape(dashboard.uid)}"><h2>{escape(dashboard.title)}</h2>'
        f'<p class="lead">{escape(dashboard.description)}</p>'
    ]
    for row in dashboard.rows:
        parts.append(f'<h3>{escape(row.title)}</h3><div class="grid">')
        parts.extend(figure(by_panel[id(p)]) for p in row.panels if id(p) in by_panel)
        parts.append("</div>")
    parts.append("</section>")
    return "".join(parts)


_STYLE = """
:root { color-scheme: dark; }
body { margin: 0; background: #111217; color: #ccccdc;
  font: 14px/1.4 Inter, "Helvetica Neue", Arial, sans-serif; }
header { padding: 16px 24px; border-bottom: 1px solid #2c3235; }
header h1 { margin: 0 0 4px; font-size: 20px; color: #fff; }
nav a { color: #6e9fff; margin-right: 16px; text-decoration: none; }
main { padding: 8px 24px 40px; }
h2 { color: #fff; margin: 28px 0 2px; font-size: 18px; }
h3 { font-size: 13px; text-transform: uppercase; letter-spacing: .06em; color: #8e8e8e;
  margin: 16px 0 6px; }
.lead { margin: 0 0 8px; color: #9fa7b3; }
.grid { display: grid; grid-template-columns: repeat(24, 1fr); gap: 8px; }
figure.panel { margin: 0; background: #181b1f; border: 1px solid #2c3235; border-radius: 4px;
  padding: 8px 10px; min-width: 0; }
figcaption { font-weight: 500; color: #fff; margin-bottom: 6px; }
figure svg { width: 100%; height: auto; display: block; }
.stat { font-size: 30px; font-weight: 600; color: #73bf69; padding: 8px 0 4px; }
.scroll { max-height: 360px; overflow: auto; }
table { border-collapse: collapse; width: 100%; font-size: 12px; }
th { position: sticky; top: 0; background: #22252b; text-align: left; }
th, td { padding: 3px 6px; border-bottom: 1px solid #2c3235; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.empty, .error, .note { color: #9fa7b3; font-style: italic; }
.error { color: #f2495c; }
footer { padding: 16px 24px; color: #6c737e; font-size: 12px; }
"""

# Marks each figure rendered once the browser has laid out a visible mark.
_SCRIPT = """
(function () {
  "use strict";
  function check() {
    var figures = document.querySelectorAll("figure.panel");
    var done = 0;
    figures.forEach(function (fig) {
      var marks = fig.querySelectorAll("[data-mark]");
      var visible = Array.prototype.some.call(marks, function (m) {
        var box = m.getBoundingClientRect();
        return box.width > 0 && box.height > 0;
      });
      if (visible) { fig.setAttribute("data-rendered", "true"); done += 1; }
      else { fig.setAttribute("data-rendered", "false"); }
    });
    document.body.setAttribute("data-rendered", done + "/" + figures.length);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", check);
  } else { check(); }
})();
"""


def page(title: str, subtitle: str, sections: Sequence[tuple[Dashboard, Sequence[Result]]]) -> str:
    nav = "".join(f'<a href="#{escape(d.uid)}">{escape(d.title)}</a>' for d, _ in sections)
    body = "".join(section(d, results) for d, results in sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f'<body><header><h1>{escape(title)}</h1><p class="lead">{escape(subtitle)}</p>'
        f"<nav>{nav}</nav></header><main>{body}</main>"
        "<footer>Rendered by oppchain from the same panel definitions as the Grafana "
        "dashboards in dashboards/json.</footer>"
        f"<script>{_SCRIPT}</script></body></html>\n"
    )
