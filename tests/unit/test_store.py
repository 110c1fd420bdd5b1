"""Replay windows: consecutive days, at most a window's rows unless one day has more."""

from __future__ import annotations

from datetime import date

from streams.store import stored_events_sql, windows


def _d(day: int) -> date:
    return date(2024, 1, day)


def test_days_are_grouped_in_order_up_to_the_window() -> None:
    days = [(_d(1), 40), (_d(2), 50), (_d(4), 10), (_d(5), 300), (_d(6), 20), (_d(9), 80)]
    assert windows(days, 100) == [
        (_d(1), _d(4)),
        (_d(5), _d(5)),  # over the window alone: never split
        (_d(6), _d(9)),
    ]
    assert windows(days, 10**6) == [(_d(1), _d(9))]
    assert windows([], 100) == []


def test_a_window_reads_its_days_of_both_tables_in_event_time_order() -> None:
    sql = stored_events_sql(["a'b"], (_d(1), _d(4)))
    span = "toDate32(occurred_at) BETWEEN '2024-01-01' AND '2024-01-04'"
    assert sql.count(f"WHERE workspace IN ('a\\'b') AND {span}") == 2
    assert sql.endswith("ORDER BY occurred_at, event_id")
    assert "WHERE" not in stored_events_sql()
