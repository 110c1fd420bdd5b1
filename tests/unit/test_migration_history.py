"""Applied migrations never change: databases in the field recorded these checksums.

A change to a table or view that a past migration created belongs in a new migration
(0008 replaced 0004's ``ring_engagement_share`` this way, 0009 altered the settings of
the tables 0001-0008 created); this test fails when a shared definition changes under
an old migration.
"""

from __future__ import annotations

import re

from sinks.migrations import MIGRATIONS, MIGRATIONS_TABLE, all_tables
from sinks.spec import AlterSettings, Drop, Table

RECORDED = {
    "0001_ingest": "b42861b43e99fae3ab413378302c2a43ab538708500a1ee14d6fe30e5deae443",
    "0002_identity_chains_attribution": (
        "24be187f9efecd39f91af37b546be8f31d78b256010bd314d2072ef1c0e7c76e"
    ),
    "0003_relationships_karma_authenticity": (
        "c39e9c3be2cfbe1b95050aeb297822ae6aced408560cc7e2efc5176a53e2a6d8"
    ),
    "0004_rollups_and_analyst_views": (
        "1d05a323fb287a77d667af3b55cdc83d83b2b9c922ae9269ef867e0342e62dac"
    ),
    "0005_privacy_and_duplicates": (
        "0c2ffaf5036a9eaaff3b5549b7cd2f7e486fd2ecb52bb08a48bb8e704eb65af5"
    ),
    "0006_attribution_credit_sets": (
        "28dd7041f5fb290aea982ac6adefd01b9f771e785beef7eea5ab4e832f9adf98"
    ),
    "0007_relationships_daily_in_clickhouse": (
        "09ff2683b32734000c6f75848b0136fc0df2ba42735bd55b49f12a44464b0c50"
    ),
    "0008_ring_engagement_counts_each_event_once": (
        "482f8e16d996c472cf8893333136d32ad04a078b42bb763b47e26c977abe16ed"
    ),
    "0009_retried_inserts_deduplicated_everywhere_flagged_handles_once": (
        "71aa8721f8f3863c3df0449439f2600ea610f9d5721af37a3ac1a27ebed5a7ac"
    ),
    "0010_first_channel_of_the_live_person": (
        "80243718b8f2b4d98f76468ca5b8dbc44666a3bdcf111eb065eb90c343e218ac"
    ),
    "0011_authentic_credits_restated_under_their_version": (
        "7955f0183df1cab179e9f7cfd70b4c91aaebb29eecc9cb75be591a4a5ecd6b62"
    ),
    "0012_karma_opportunity_value_per_currency": (
        "28cb642b1d70b19433d20bfdd4b640d2a77d28ae13d9a68c036553e338449259"
    ),
    "0013_funnel_nested_money_per_currency_engagement_social_only": (
        "cbf902906f1cbcde050d742817df91c496e3e50a293b30d1f1f9c4a21e7aefd2"
    ),
    "0014_markov_value_per_currency": (
        "41f46faf5f646535c2385356a7ee48f88e4bceb8a24c31b4692542d26448ebe9"
    ),
    "0015_erasure_acks": "225c034fcb44976e7cbb608471f1550ccc0086b27dafd3615a39deee483fcbe9",
}

WINDOW = "non_replicated_deduplication_window"


def test_recorded_migrations_keep_their_checksums() -> None:
    current = {m.id: m.checksum() for m in MIGRATIONS}
    assert {k: current.get(k) for k in RECORDED} == RECORDED


def test_every_migration_is_recorded_here() -> None:
    assert [m.id for m in MIGRATIONS] == list(RECORDED)


def _merge_tree(table: Table) -> bool:
    return re.match(r"\w*MergeTree\b", table.engine) is not None


def test_every_table_written_to_deduplicates_a_retried_insert() -> None:
    """Without a window a non-replicated table ignores insert_deduplication_token
    (docs/decisions.md section 4): every MergeTree table but the migration ledger
    has one, as created or as altered by a later migration."""
    missing = [
        t.name
        for t in all_tables()
        if _merge_tree(t) and t.name != MIGRATIONS_TABLE.name and not t.settings.get(WINDOW)
    ]
    assert missing == []


def test_tables_created_from_0009_on_carry_the_window_in_their_spec() -> None:
    since = [m for m in MIGRATIONS if m.id >= "0009"]
    created = [op for m in since for op in m.operations if isinstance(op, Table)]
    assert [t.name for t in created if _merge_tree(t) and not t.settings.get(WINDOW)] == []


def test_settings_are_altered_on_tables_that_exist() -> None:
    existing: set[str] = {MIGRATIONS_TABLE.name}
    for migration in MIGRATIONS:
        for op in migration.operations:
            if isinstance(op, Table):
                existing.add(op.name)
            elif isinstance(op, Drop) and op.kind == "TABLE":
                existing.discard(op.name)
            elif isinstance(op, AlterSettings):
                assert op.table in existing, (migration.id, op.table)
