"""Analyst role and workspace row policies: the DDL text (chdb cannot run it)."""

from __future__ import annotations

import re
from pathlib import Path

from sinks.access import (
    ALL_ROWS,
    IDENTIFIER_COLUMNS,
    POLICY,
    ROLE,
    access_statements,
    apply_access,
    is_identifier,
    member_statements,
    spec_relations,
)
from sinks.clickhouse import close_embedded, connect

DEAD_LETTERS_GOLDEN = [
    "GRANT SELECT(`dead_at`, `reason`, `source_topic`, `source_partition`, `source_offset`, "
    "`event_id`, `workspace`, `payload_bytes`) ON `oppchain`.`dead_letters` TO oppchain_analyst",
    "CREATE ROW POLICY OR REPLACE oppchain_workspace_rows ON `oppchain`.`dead_letters` FOR SELECT "
    "USING workspace IN (SELECT workspace FROM `oppchain`.workspace_members "
    "WHERE user = currentUser()) AS PERMISSIVE TO oppchain_analyst",
    "CREATE ROW POLICY OR REPLACE oppchain_all_rows ON `oppchain`.`dead_letters` FOR SELECT "
    "USING 1 AS PERMISSIVE TO ALL EXCEPT oppchain_analyst",
]


def _for(statements: list[str], relation: str) -> list[str]:
    return [s for s in statements if f"`oppchain`.`{relation}` " in s]


def test_golden_dead_letters() -> None:
    assert _for(access_statements("oppchain"), "dead_letters") == DEAD_LETTERS_GOLDEN


def test_role_profile_and_members_come_first() -> None:
    statements = access_statements("oppchain")
    assert statements[0] == f"CREATE ROLE IF NOT EXISTS {ROLE}"
    assert "readonly = 1" in statements[1] and statements[1].endswith(f"TO {ROLE}")
    assert statements[2].startswith("CREATE TABLE IF NOT EXISTS `oppchain`.workspace_members")
    assert statements[3] == f"REVOKE ALL ON `oppchain`.* FROM {ROLE}"


def test_every_table_granted_without_identifiers_and_fenced_by_workspace() -> None:
    relations = spec_relations()
    assert {"touchpoints", "crm_events", "identity_merges", "erasures"} <= set(relations)
    statements = access_statements("oppchain")
    for name, columns in relations.items():
        mine = _for(statements, name)
        grants = [s for s in mine if s.startswith("GRANT SELECT(")]
        allowed = [c for c in columns if not is_identifier(c)]
        assert len(grants) == (1 if allowed else 0), name
        if grants:
            granted = re.findall(r"`([^`]+)`", grants[0].split(" ON ")[0])
            assert granted == allowed, name
            assert not set(granted) & IDENTIFIER_COLUMNS, name
        policies = [s for s in mine if s.startswith("CREATE ROW POLICY")]
        if "workspace" in columns:
            assert [p.split()[5] for p in policies] == [POLICY, ALL_ROWS], name
        else:
            assert policies == [], name
    hidden = {c for cols in relations.values() for c in cols if is_identifier(c)}
    assert {"identity_key", "payload", "keys_moved", "message_key", "contact_id"} <= hidden
    assert "person_id" not in hidden and "workspace" not in hidden


def test_new_columns_follow_the_rules() -> None:
    statements = access_statements("db", {"future": ["workspace", "x", "partner_key", "payload"]})
    (grant,) = [s for s in statements if "`db`.`future`" in s and s.startswith("GRANT")]
    assert grant == f"GRANT SELECT(`workspace`, `x`) ON `db`.`future` TO {ROLE}"


def test_member_statements() -> None:
    assert member_statements("db", "ann", ["b", "a", "a"]) == [
        f"GRANT {ROLE} TO `ann`",
        f"SET DEFAULT ROLE {ROLE} TO `ann`",
        "INSERT INTO `db`.workspace_members (user, workspace) VALUES ('ann', 'a'), ('ann', 'b')",
    ]


def test_chdb_is_skipped(tmp_path: Path) -> None:
    dsn = f"chdb://{tmp_path / 'ch'}"
    client = connect(dsn)
    try:
        assert apply_access(client, "default") == []
        tables = client.query("SELECT count() FROM system.tables WHERE database = 'default'")
        assert tables.result_rows == [(0,)]
    finally:
        close_embedded(dsn)
