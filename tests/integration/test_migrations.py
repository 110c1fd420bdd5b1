"""Upgrading a database: migrations applied to existing data keep what analysts see."""

from __future__ import annotations

from datetime import UTC, datetime

from oppchain.settings import Settings
from sinks.clickhouse import close_embedded, connect
from sinks.migrations import MIGRATIONS, migrate
from streams.domain.rows import CREDIT_COLUMNS


def _at(day: int) -> datetime:
    return datetime(2024, 1, day, tzinfo=UTC)


# Rows as 0002's attribution_credits held them: touch 1 of o1 got no linear credit.
OLD_CREDITS = [
    ("w", "o1", "linear", 0, "e0", _at(1), "x", "", 0.5, 50.0, "USD", 3),
    ("w", "o1", "linear", 2, "e2", _at(3), "offline", "c", 0.5, 50.0, "USD", 3),
    ("w", "o1", "first_touch", 0, "e0", _at(1), "x", "", 1.0, 100.0, "USD", 3),
    ("w", "o2", "last_touch", 0, "f0", _at(2), "referral", "", 1.0, 7.5, "EUR", 1),
]


def test_credit_sets_migration_keeps_every_credit_row(settings: Settings) -> None:
    dsn = settings.resolved_dsn()
    client = connect(dsn)
    try:
        migrate(client, MIGRATIONS[:5])
        client.insert("attribution_credits", OLD_CREDITS, column_names=list(CREDIT_COLUMNS))
        assert migrate(client) == [m.id for m in MIGRATIONS[5:]]
        order = " ORDER BY opportunity_id, model, touch_index"
        got = client.query(f"SELECT * FROM attribution_credits{order}").result_rows
        naive = [(*r[:5], r[5].replace(tzinfo=None), *r[6:]) for r in OLD_CREDITS]
        assert got == sorted(naive, key=lambda r: (r[1], r[2], r[3]))
        sets = client.query(
            "SELECT opportunity_id, model, value, touch_event_ids, credit_fractions "
            "FROM attribution_credit_sets ORDER BY opportunity_id, model"
        ).result_rows
        assert sets == [
            ("o1", "first_touch", 100.0, ["e0"], [1.0]),
            ("o1", "linear", 100.0, ["e0", "", "e2"], [0.5, 0.0, 0.5]),
            ("o2", "last_touch", 7.5, ["f0"], [1.0]),
        ]
        tables = {r[0] for r in client.query("SHOW TABLES").result_rows}
        assert {"attribution_credits", "attribution_credits_latest"} <= tables
        engine = client.query(
            "SELECT engine FROM system.tables WHERE database = currentDatabase() "
            "AND name = 'attribution_credits'"
        ).result_rows
        assert engine == [("View",)]
        assert migrate(client) == []
    finally:
        close_embedded(dsn)


def test_ring_engagement_share_counts_a_twice_stored_event_once(settings: Settings) -> None:
    """A raw row stored twice (a worker that lost its partitions mid-write) counted
    twice in 0004's view; 0008's view counts each event once."""
    dsn = settings.resolved_dsn()
    client = connect(dsn)
    touch = ["workspace", "event_id", "occurred_at", "platform", "identity_key", "direction"]
    try:
        migrate(client, MIGRATIONS[:7])
        rows = [
            ("w", "e1", _at(1), "x", "x:ring", "inbound"),
            ("w", "e2", _at(2), "x", "x:fan", "inbound"),
        ]
        for row, ingested_at in ((rows[0], _at(5)), (rows[1], _at(6)), (rows[0], _at(7))):
            # the third insert is the second store of e1: same event, later ingested_at
            client.insert(
                "touchpoints", [[*row, ingested_at]], column_names=[*touch, "ingested_at"]
            )
        client.insert(
            "authenticity_flags",
            [["w", "reciprocity_ring", "x:us", "x:ring", True, _at(3)]],
            column_names=["workspace", "flag", "own_account", "subject_key", "flagged", "as_of"],
        )
        share = "SELECT inbound_touches, flagged_touches, flagged_share FROM ring_engagement_share"
        assert client.query(share).result_rows == [(3, 2, 0.6667)]
        assert migrate(client) == ["0008_ring_engagement_counts_each_event_once"]
        assert client.query(share).result_rows == [(2, 1, 0.5)]
    finally:
        close_embedded(dsn)
