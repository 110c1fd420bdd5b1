"""Ordered, recorded, idempotent migrations. A migration only lists operations.

Each operation is a table or view from the registry (its CREATE is derived
from the spec), a drop, a backfill, a settings change of an existing table, or a
raw statement. Applied ids are recorded in
``schema_migrations``; running ``migrate`` twice does nothing the second time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sinks.spec import (
    AddColumn,
    AlterSettings,
    Backfill,
    Column,
    Comment,
    Drop,
    Table,
    View,
    quote,
)
from sinks.tables import chains, ingest, privacy, relationships
from sinks.tables.common import deduplicated

Operation = Table | View | Drop | Backfill | AlterSettings | AddColumn | Comment | str

MIGRATIONS_TABLE = Table(
    name="schema_migrations",
    comment="Migrations applied to this database, in order.",
    columns=(
        Column("id", "String", "Migration id, NNNN_description"),
        Column("checksum", "String", "sha256 of the statements applied"),
        Column("applied_at", "DateTime64(3, 'UTC')", "When it was applied"),
    ),
    engine="ReplacingMergeTree(applied_at)",
    order_by="id",
)


@dataclass(frozen=True)
class Migration:
    id: str
    operations: tuple[Operation, ...]

    def statements(self) -> list[str]:
        return [statement(op) for op in self.operations]

    def checksum(self) -> str:
        return hashlib.sha256("\n;\n".join(self.statements()).encode()).hexdigest()


# Tables 0001-0008 created without ``non_replicated_deduplication_window``: on a
# single server (chdb) they kept a retried insert (same insert_deduplication_token)
# twice, materialized-view targets included. 0009 gives them the window; every table
# created since carries it in its spec. Only the ledger below is left as it is: it
# is written once per migration, without retries, and read with FINAL.
DEDUPLICATED_BY_0009 = (
    "identity_merges",
    "identity_refusals",
    "opportunity_chains",
    "channel_attribution",
    "relationships",
    "relationships_daily",
    "karma_ledger",
    "authenticity_flags",
    "touchpoints_daily",
    "karma_daily",
    "erasures",
    "erased_events",
    "ingest_duplicates",
    "attribution_credit_sets",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration("0001_ingest", ingest.TABLES),
    Migration("0002_identity_chains_attribution", (*chains.TABLES, *chains.VIEWS)),
    Migration("0003_relationships_karma_authenticity", relationships.TABLES),
    Migration(
        "0004_rollups_and_analyst_views",
        (
            *(r.table() for r in relationships.ROLLUPS),
            *(r.view() for r in relationships.ROLLUPS),
            *relationships.VIEWS_0004,
        ),
    ),
    Migration("0005_privacy_and_duplicates", (*privacy.TABLES, ingest.INGEST_DUPLICATES)),
    Migration("0006_attribution_credit_sets", chains.CREDIT_SETS_MIGRATION),
    Migration("0007_relationships_daily_in_clickhouse", (relationships.RELATIONSHIPS_DAILY_MV,)),
    Migration(
        "0008_ring_engagement_counts_each_event_once",
        (Drop("VIEW", "ring_engagement_share"), relationships.RING_ENGAGEMENT_SHARE_0008),
    ),
    Migration(
        "0009_retried_inserts_deduplicated_everywhere_flagged_handles_once",
        (
            *(AlterSettings(name, deduplicated()) for name in DEDUPLICATED_BY_0009),
            Drop("VIEW", "ring_engagement_share"),
            relationships.RING_ENGAGEMENT_SHARE,
        ),
    ),
    Migration(
        "0010_first_channel_of_the_live_person",
        (
            AddColumn("relationships", relationships.FIRST_CHANNEL, after="channels"),
            # Views list their columns when created: made again to show the new one.
            Drop("VIEW", "relationships_latest"),
            relationships.RELATIONSHIPS_LATEST,
            Drop("VIEW", "one_in_n_by_channel"),
            relationships.ONE_IN_N_BY_CHANNEL,
        ),
    ),
    Migration(
        "0011_authentic_credits_restated_under_their_version",
        (Drop("VIEW", "attribution_credits"), chains.CREDIT_HISTORY),
    ),
    Migration(
        "0012_karma_opportunity_value_per_currency",
        (
            AddColumn(
                "karma_ledger", relationships.OPPORTUNITY_CURRENCIES, "opportunity_value_after"
            ),
            AddColumn("karma_ledger", relationships.OPPORTUNITY_VALUES, "opportunity_currencies"),
            relationships.OPPORTUNITY_VALUE_AFTER_0012,
            relationships.KARMA_DAILY_COMMENT_0012,
            Drop("VIEW", "karma_returns"),
            Drop("VIEW", "karma_ledger_latest"),
            relationships.KARMA_LEDGER_LATEST,
            relationships.KARMA_RETURNS,
        ),
    ),
    Migration(
        "0013_funnel_nested_money_per_currency_engagement_social_only",
        (
            *(Drop("VIEW", v.name) for v in relationships.VIEWS_0013),
            *relationships.VIEWS_0013,
            *ingest.TOUCHPOINTS_COMMENTS_0013,
        ),
    ),
    Migration(
        "0014_markov_value_per_currency",
        (*chains.MARKOV_VALUE_PER_CURRENCY_0014, chains.CHANNEL_ATTRIBUTION_LATEST),
    ),
    Migration("0015_erasure_acks", (privacy.ERASURE_ACKS,)),
)


def statement(op: Operation) -> str:
    if isinstance(op, str):
        return op
    if isinstance(op, Table | View):
        return op.create_sql()
    return op.sql()


def applied(client: Any) -> dict[str, str]:
    client.command(MIGRATIONS_TABLE.create_sql())
    rows = client.query("SELECT id, checksum FROM schema_migrations FINAL").result_rows
    return {row[0]: row[1] for row in rows}


class ChangedMigration(ValueError):
    """An applied migration's statements differ from the ones it was applied with."""


def migrate(client: Any, migrations: Sequence[Migration] = MIGRATIONS) -> list[str]:
    """Apply pending migrations in order; return the ids applied now.

    Refuses (before applying anything) when an applied migration has changed since:
    the database would silently keep the old schema under the new name."""
    done = applied(client)
    changed = [m.id for m in migrations if m.id in done and done[m.id] != m.checksum()]
    if changed:
        raise ChangedMigration(
            f"applied migrations changed since: {', '.join(changed)}; "
            "an applied migration must keep its statements (add a new one instead)"
        )
    now: list[str] = []
    for migration in migrations:
        if migration.id in done:
            continue
        copied = copies_done(client, migration)
        for op in migration.operations:
            if not (copied and isinstance(op, Backfill)):
                client.command(statement(op))
        client.insert(
            "schema_migrations",
            [[migration.id, migration.checksum(), datetime.now(UTC)]],
            column_names=["id", "checksum", "applied_at"],
        )
        now.append(migration.id)
    return now


def is_table(client: Any, name: str, database: str | None = None) -> bool:
    """Whether ``name`` is a table (not a view, not missing) in ``database``."""
    db = quote(database) if database else "currentDatabase()"
    rows = client.query(
        f"SELECT engine FROM system.tables WHERE database = {db} AND name = {quote(name)}"
    ).result_rows
    return bool(rows) and not rows[0][0].endswith("View")


def copies_done(client: Any, migration: Migration, database: str | None = None) -> bool:
    """Whether a run of ``migration`` stopped after dropping a table it copies from
    (the copy was made then): running it again must not copy."""
    return any(
        isinstance(op, Backfill) and op.source and not is_table(client, op.source, database)
        for op in migration.operations
    )


def _current(kind: type[Table] | type[View]) -> list[Any]:
    """Tables (or views) as the migrations leave them: dropped ones are gone, a
    later definition of a name replaces the earlier one, and altered settings are
    merged into the table's."""
    found: dict[str, Any] = {}
    for migration in MIGRATIONS:
        for op in migration.operations:
            if isinstance(op, kind):
                found.pop(op.name, None)
                found[op.name] = op
            elif isinstance(op, Drop):
                found.pop(op.name, None)
            elif isinstance(op, AlterSettings) and isinstance(found.get(op.table), Table):
                was = found[op.table]
                found[op.table] = replace(was, settings={**was.settings, **op.settings})
            elif isinstance(op, AddColumn) and isinstance(found.get(op.table), Table):
                was = found[op.table]
                names = [c.name for c in was.columns]
                at = names.index(op.after) + 1
                columns = (*was.columns[:at], op.column, *was.columns[at:])
                found[op.table] = replace(was, columns=columns)
            elif isinstance(op, Comment) and isinstance(found.get(op.table), Table):
                was = found[op.table]
                if not op.column:
                    found[op.table] = replace(was, comment=op.comment)
                    continue
                columns = tuple(
                    replace(c, comment=op.comment) if c.name == op.column else c
                    for c in was.columns
                )
                found[op.table] = replace(was, columns=columns)
    return list(found.values())


def all_tables() -> list[Table]:
    tables: list[Table] = [MIGRATIONS_TABLE, *_current(Table)]
    return tables


def all_views() -> list[View]:
    views: list[View] = _current(View)
    return views


def table(name: str) -> Table:
    for candidate in all_tables():
        if candidate.name == name:
            return candidate
    raise KeyError(name)
