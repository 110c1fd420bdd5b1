"""Expands macros and variables the way Grafana and the ClickHouse plugin do.

Used by the report (to run the same SQL without Grafana) and by the tests (to
prove every panel's SQL runs). Macros follow the plugin's documented output:
``$__timeFilter(c)`` -> ``c >= toDateTime(<from>) AND c <= toDateTime(<to>)``,
``$__fromTime``/``$__toTime`` -> ``toDateTime(<epoch>)``, ``$__timeInterval(c)``
-> ``toStartOfInterval(toDateTime(c), INTERVAL <n> second)``. Variables use
Grafana's ``singlequote`` format; "All" on a variable with a custom all-value
inserts that value unformatted, as Grafana does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from dashboards.model import Variable
from dashboards.sql import ALL

# Grafana's interval steps (rangeutil): the auto interval rounds to one of these.
_STEPS = (1, 5, 10, 15, 30, 60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200)
_DAY = 86400
_WEEK = 7 * _DAY

_TIME_FILTER = re.compile(r"\$__timeFilter\(([^()]*)\)")
_TIME_INTERVAL = re.compile(r"\$__timeInterval\(([^()]*)\)")
_VARIABLE = re.compile(
    r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z]+))?\}|\$([A-Za-z_][A-Za-z0-9_]*)"
)


class ExpandError(ValueError):
    """A macro or variable the expander (and so Grafana) would not resolve."""


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime
    max_points: int = 120

    @property
    def from_epoch(self) -> int:
        return int(self.start.timestamp())

    @property
    def to_epoch(self) -> int:
        return int(self.end.timestamp())

    def interval_seconds(self) -> int:
        """Range / max points, rounded up to a step Grafana would pick."""
        raw = max(1, (self.to_epoch - self.from_epoch) // self.max_points)
        for step in _STEPS:
            if raw <= step:
                return step
        if raw <= _DAY:
            return _DAY
        return _WEEK * -(-raw // _WEEK)


Selection = Sequence[str] | None
"""Chosen values of a variable; None means "All"."""


def quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _format(variable: Variable, chosen: Selection, fmt: str | None) -> str:
    if chosen is None:
        if not variable.multi:
            raise ExpandError(f"${variable.name} has no All option")
        return f"'{ALL}'"
    if fmt not in (None, "singlequote"):
        raise ExpandError(f"format {fmt!r} of ${variable.name} is not used by oppchain")
    if fmt is None:
        return ",".join(chosen)
    return ",".join(quote(v) for v in chosen)


def expand(
    sql: str,
    time_range: TimeRange,
    variables: Sequence[Variable],
    chosen: Mapping[str, Selection],
) -> str:
    """The SQL Grafana would send for this time range and these variable values."""
    start, end = time_range.from_epoch, time_range.to_epoch
    text = _TIME_FILTER.sub(
        lambda m: f"{m[1]} >= toDateTime({start}) AND {m[1]} <= toDateTime({end})", sql
    )
    step = time_range.interval_seconds()
    text = _TIME_INTERVAL.sub(
        lambda m: f"toStartOfInterval(toDateTime({m[1]}), INTERVAL {step} second)", text
    )
    text = text.replace("$__fromTime", f"toDateTime({start})")
    text = text.replace("$__toTime", f"toDateTime({end})")
    text = text.replace("$__interval_s", str(step))
    if "$__" in text:
        raise ExpandError("unknown macro: " + text[text.index("$__") :][:40])
    by_name = {v.name: v for v in variables}

    def substitute(match: re.Match[str]) -> str:
        name = match[1] or match[3]
        variable = by_name.get(name)
        if variable is None:
            raise ExpandError(f"${name} is not a variable of this dashboard")
        selection = chosen.get(name, None if variable.multi else [variable.default or ""])
        return _format(variable, selection, match[2])

    return _VARIABLE.sub(substitute, text)


def defaults(variables: Sequence[Variable]) -> dict[str, Selection]:
    """What a dashboard opens with: "All", and the default of single-value variables."""
    return {v.name: None if v.multi else [v.default or ""] for v in variables}
