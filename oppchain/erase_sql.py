"""Running the erasure's ClickHouse queries, whose id lists go into the statement text."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sinks.spec import quote

# Lists of ids go into the statement text: let long ones parse.
CLIENT_SETTINGS = {"max_query_size": 64 * 1024 * 1024}
NEEDLES_PER_CALL = 200  # multiSearchAny takes at most 255 needles


def sql_in(values: Iterable[str]) -> str:
    return "(" + ", ".join(quote(v) for v in sorted(values)) + ")"


def query_rows(client: Any, sql: str) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = client.query(sql, settings=CLIENT_SETTINGS).result_rows
    return rows
