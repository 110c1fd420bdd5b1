"""Inline SVG charts for the static report, drawn here so the page needs no network.

Each chart is one ``<svg>`` with ``data-mark`` on every drawn mark; the page's
script counts them to mark a chart rendered. ``<title>`` elements give native
tooltips without any script.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime
from html import escape
from typing import Any

from dashboards.defaults import PALETTE

UNIT_PX = 48
"""Chart width per grid column, so text keeps one size whatever the panel width."""
AXIS = "#8e8e8e"
GRID = "#2c3235"
TEXT = "#ccccdc"


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def fmt(value: Any, unit: str = "short") -> str:
    """Grafana-like display of a value in a unit."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if not is_number(value):
        return str(value)
    if unit == "percentunit":
        return f"{value * 100:.1f}%"
    if unit == "s":
        return _duration(float(value))
    if unit == "d":
        return f"{value:.0f} days"
    return compact(float(value))


def compact(value: float) -> str:
    magnitude = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if magnitude >= limit:
            return f"{value / limit:.1f}{suffix}"
    if value == int(value):
        return str(int(value))
    return f"{value:.2f}" if magnitude < 10 else f"{value:.1f}"


def _duration(seconds: float) -> str:
    for size, name in ((365 * 86400, "years"), (86400, "days"), (3600, "hours"), (60, "min")):
        if abs(seconds) >= size:
            return f"{seconds / size:.1f} {name}"
    return f"{seconds:.0f} s"


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    start = math.floor(low / step) * step
    ticks = [round(start, 10)]
    while ticks[-1] < high:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _svg(width: int, height: int, body: list[str], label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(label)}" preserveAspectRatio="xMidYMid meet">'
        + "".join(body)
        + "</svg>"
    )


def _legend(names: Sequence[str], y: int, width: int) -> tuple[list[str], int]:
    """Legend entries, wrapped into lines; returns the parts and the height used."""
    parts, x, lines = [], 10, 1
    for i, name in enumerate(names):
        step = 24 + 7 * len(name)
        if x + step > width - 10 and x > 10:
            x, lines = 10, lines + 1
        color = PALETTE[i % len(PALETTE)]
        line_y = y + 16 * (lines - 1)
        parts.append(f'<rect x="{x}" y="{line_y - 9}" width="10" height="10" fill="{color}"/>')
        parts.append(
            f'<text x="{x + 14}" y="{line_y}" fill="{TEXT}" font-size="11">{escape(name)}</text>'
        )
        x += step
    return parts, 16 * lines


def timeseries(
    series: dict[str, list[tuple[datetime, float]]], unit: str, label: str, columns: int = 12
) -> str:
    """Lines over time; ``series`` maps a name to (time, value) points."""
    width = columns * UNIT_PX
    left, right, top, bottom = 56, width - 12, 12, 200
    points = [p for values in series.values() for p in values]
    times = [p[0].timestamp() for p in points]
    t0, t1 = min(times), max(times)
    if t1 == t0:
        t0, t1 = t0 - 86400, t1 + 86400
    ticks = nice_ticks(min(0.0, *(p[1] for p in points)), max(p[1] for p in points))
    v0, v1 = ticks[0], ticks[-1]

    def x(t: datetime) -> float:
        return left + (t.timestamp() - t0) / (t1 - t0) * (right - left)

    def y(v: float) -> float:
        return bottom - (v - v0) / (v1 - v0) * (bottom - top)

    body = []
    for tick in ticks:
        body.append(
            f'<line x1="{left}" x2="{right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            f'stroke="{GRID}"/><text x="{left - 6}" y="{y(tick) + 4:.1f}" fill="{AXIS}" '
            f'font-size="10" text-anchor="end">{escape(fmt(tick, unit))}</text>'
        )
    for i in range(4):
        t = t0 + (t1 - t0) * i / 3
        when = datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d")
        anchor = ("start", "middle", "middle", "end")[i]
        tx = left + (right - left) * i / 3
        body.append(
            f'<text x="{tx:.1f}" y="{bottom + 16}" fill="{AXIS}" font-size="10" '
            f'text-anchor="{anchor}">{when}</text>'
        )
    for i, (name, values) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        values = sorted(values)
        coords = " ".join(f"{x(at):.1f},{y(v):.1f}" for at, v in values)
        if len(values) > 1:
            body.append(
                f'<polyline data-mark="line" points="{coords}" fill="none" stroke="{color}" '
                f'stroke-width="2"><title>{escape(name)}</title></polyline>'
            )
        for at, v in values if len(values) <= 40 else []:
            body.append(
                f'<circle data-mark="point" cx="{x(at):.1f}" cy="{y(v):.1f}" r="3" '
                f'fill="{color}"><title>{escape(name)} {at:%Y-%m-%d}: '
                f"{escape(fmt(v, unit))}</title></circle>"
            )
    legend, used = _legend(list(series), bottom + 36, width)
    return _svg(width, bottom + 24 + used, body + legend, label)


def bars(
    categories: list[str],
    series: dict[str, list[float]],
    unit: str,
    label: str,
    stacked: bool = False,
    columns: int = 12,
) -> str:
    """Horizontal bars, grouped (or stacked) per category."""
    names = list(series)
    width = columns * UNIT_PX
    lane = 22 if stacked or len(names) == 1 else max(22, 4 * len(names) + 8)
    left, right, top = 110, width - 56, 8
    totals = [
        sum(series[n][i] for n in names) if stacked else max(series[n][i] for n in names)
        for i in range(len(categories))
    ]
    low = min(0.0, *(v for n in names for v in series[n]))
    high = max(max(totals), 0.0)
    ticks = nice_ticks(low, high if high > low else low + 1)
    v0, v1 = ticks[0], ticks[-1]

    def x(v: float) -> float:
        return left + (v - v0) / (v1 - v0) * (right - left)

    body = []
    for tick in ticks:
        body.append(
            f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top}" '
            f'y2="{top + lane * len(categories)}" stroke="{GRID}"/>'
        )
    for i, category in enumerate(categories):
        y0 = top + lane * i
        body.append(
            f'<text x="{left - 6}" y="{y0 + lane / 2 + 4:.1f}" fill="{TEXT}" font-size="11" '
            f'text-anchor="end">{escape(category[:20])}</text>'
        )
        offset = 0.0
        bar_h = (lane - 6) if stacked or len(names) == 1 else (lane - 6) / len(names)
        for j, name in enumerate(names):
            value = series[name][i]
            color = PALETTE[j % len(PALETTE)]
            start = offset if stacked else 0.0
            x_a, x_b = sorted((x(start), x(start + value)))
            by = y0 + 3 + (0 if stacked or len(names) == 1 else j * bar_h)
            body.append(
                f'<rect data-mark="bar" x="{x_a:.1f}" y="{by:.1f}" width="{max(x_b - x_a, 1):.1f}" '
                f'height="{bar_h:.1f}" fill="{color}"><title>{escape(category)} · '
                f"{escape(name)}: {escape(fmt(value, unit))}</title></rect>"
            )
            if stacked:
                offset += value
        total = totals[i] if stacked or len(names) == 1 else None
        if total is not None:
            body.append(
                f'<text x="{x(max(total, 0)) + 4:.1f}" y="{y0 + lane / 2 + 4:.1f}" '
                f'fill="{AXIS}" font-size="10">{escape(fmt(total, unit))}</text>'
            )
    base = top + lane * len(categories)
    for tick in ticks:
        body.append(
            f'<text x="{x(tick):.1f}" y="{base + 14}" fill="{AXIS}" font-size="10" '
            f'text-anchor="middle">{escape(fmt(tick, unit))}</text>'
        )
    used = 0
    if len(names) > 1:
        legend, used = _legend(names, base + 34, width)
        body += legend
    return _svg(width, base + 22 + used, body, label)
