"""Rows to Arrow: list columns shared between rows are converted once, same table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from sinks.migrations import table


def _credit_sets(chains: int, models: int, touches: int) -> list[dict[str, Any]]:
    rows = []
    for c in range(chains):
        n = touches + c % 3 - 1  # one chain in three has an empty path when touches == 1
        shared = {
            "workspace": "w",
            "opportunity_id": f"o{c}",
            "version": c,
            "value": 10.0 * c,
            "currency": "EUR",
            "touch_event_ids": [f"e{c}-{i}" for i in range(n)],
            "touch_times": [datetime(2025, 1, 1 + i % 28, tzinfo=UTC) for i in range(n)],
            "channels": [("x", "linkedin", "offline")[i % 3] for i in range(n)],
            "campaigns": [""] * n,
        }
        rows += [
            {**shared, "model": f"m{m}", "credit_fractions": [1.0 / n] * n if n else []}
            for m in range(models)
        ]
    return rows


def test_shared_list_columns_give_the_same_table_as_row_by_row() -> None:
    spec = table("attribution_credit_sets")
    for chains, models, touches in [(1, 1, 1), (5, 18, 1), (7, 9, 40), (3, 18, 200)]:
        rows = _credit_sets(chains, models, touches)
        expected = pa.Table.from_pylist(rows, schema=spec.arrow_schema())
        assert spec.to_arrow(rows).equals(expected)


def test_rows_without_shared_lists_and_no_rows() -> None:
    spec = table("attribution_credit_sets")
    rows = [{**r, "channels": list(r["channels"])} for r in _credit_sets(4, 2, 5)]
    assert spec.to_arrow(rows).equals(pa.Table.from_pylist(rows, schema=spec.arrow_schema()))
    assert spec.to_arrow([]).num_rows == 0
