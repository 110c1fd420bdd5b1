"""A small ClickHouse query builder: the foundation SDK has none.

Queries are plain strings for Grafana's ClickHouse plugin, so the builder only
has to get three things right everywhere: the time picker goes through the
plugin's macros, variables are always single-quoted, and "All" is one custom
value that turns a filter off instead of listing every value.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

ALL = "__all"
"""Custom all-value of every multi-value variable (Grafana inserts it unformatted)."""


def time_filter(column: str) -> str:
    return f"$__timeFilter({column})"


def date_filter(column: str) -> str:
    """The time picker on a ``Date`` column (the daily rollups): every UTC day the
    range touches, the first and last (partial) days included.

    ``$__timeFilter(day)`` compares the day's midnight with the range's start, so it
    drops the first day whenever the range starts after midnight. The plugin's
    ``$__fromTime``/``$__toTime`` are the range's ends as ``DateTime``; the rollups'
    days are UTC days (``toDate`` of a UTC column), hence ``'UTC'``.
    """
    return f"{column} >= toDate($__fromTime, 'UTC') AND {column} <= toDate($__toTime, 'UTC')"


def time_bucket(column: str) -> str:
    return f"$__timeInterval({column})"


def var(name: str) -> str:
    return f"${{{name}:singlequote}}"


def var_in(column: str, name: str) -> str:
    """``column`` is one of the chosen values, or anything when "All" is chosen."""
    return f"('{ALL}' IN ({var(name)}) OR {column} IN ({var(name)}))"


def var_eq(column: str, name: str) -> str:
    return f"{column} = {var(name)}"


@dataclass(frozen=True)
class Query:
    """SELECT ... FROM ... [WHERE] [GROUP BY] [ORDER BY] [LIMIT], one clause per line."""

    columns: tuple[str, ...]
    source: str
    where: tuple[str, ...] = ()
    group_by: tuple[str, ...] = ()
    having: tuple[str, ...] = ()
    order_by: tuple[str, ...] = ()
    limit: int | None = None

    def filter(self, *conditions: str) -> Query:
        return replace(self, where=(*self.where, *conditions))

    def sql(self) -> str:
        lines = ["SELECT " + ",\n       ".join(self.columns), f"FROM {self.source}"]
        if self.where:
            lines.append("WHERE " + "\n  AND ".join(self.where))
        if self.group_by:
            lines.append("GROUP BY " + ", ".join(self.group_by))
        if self.having:
            lines.append("HAVING " + " AND ".join(self.having))
        if self.order_by:
            lines.append("ORDER BY " + ", ".join(self.order_by))
        if self.limit is not None:
            lines.append(f"LIMIT {self.limit}")
        return "\n".join(lines)


def subquery(query: Query, alias: str) -> str:
    inner = query.sql().replace("\n", "\n    ")
    return f"(\n    {inner}\n) AS {alias}"


def var_any(array: str, name: str) -> str:
    """``array`` holds one of the chosen values, or anything when "All" is chosen."""
    return f"('{ALL}' IN ({var(name)}) OR hasAny({array}, [{var(name)}]))"


def union_all(*queries: Query) -> str:
    """A FROM source made of several queries (long-format series from several tables)."""
    parts = [q.sql().replace("\n", "\n    ") for q in queries]
    return "(\n    " + "\n    UNION ALL\n    ".join(parts) + "\n)"


def cross_join(left: Query, left_alias: str, right: Query, right_alias: str) -> str:
    """Two one-row aggregates side by side, for ratios of different tables."""
    return f"({left.sql()}) AS {left_alias} CROSS JOIN ({right.sql()}) AS {right_alias}"
