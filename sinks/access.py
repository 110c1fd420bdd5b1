"""Access control for ClickHouse servers: a read-only analyst role and workspace rows.

* ``oppchain_analyst``: SELECT on every table and view, column by column, leaving
  out identifier columns (``IDENTIFIER_COLUMNS``, plus any column the erasure
  rules treat as naming a person by key: ``*_key``, arrays of keys, ``payload``).
  The column lists are derived from the table specs (and, on a live server, from
  ``system.columns`` for views), so a new column is granted - or withheld - by
  the same rules without editing this file. A settings profile makes the role
  read-only (``readonly = 1``).
* Row policies: an analyst sees the rows of the workspaces listed for their user
  in ``workspace_members``; every other user (the pipeline, admins) keeps all
  rows through a ``USING 1`` policy (ClickHouse hides every row from users with
  no policy once a table has one).

chdb has no users, grants or row policies: ``apply_access`` detects that and
does nothing; the DDL text is unit-tested instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sinks.spec import Table

log = logging.getLogger(__name__)

ROLE = "oppchain_analyst"
PROFILE = "oppchain_analyst_profile"
MEMBERS = "workspace_members"
POLICY = "oppchain_workspace_rows"
ALL_ROWS = "oppchain_all_rows"

# Columns analysts never read: they name a person directly (identity keys:
# handles, CRM contact ids, email hashes), hold a whole event (payload) or text
# copied from one (dead-letter detail), or are the Kafka key (workspace/key).
# person_id stays readable: a pseudonymous id analysts need to count and join.
# own_account stays readable: it is our own brand account, not a person.
IDENTIFIER_COLUMNS = frozenset(
    {
        "identity_key",
        "introducer_key",
        "subject_key",
        "key_a",
        "key_b",
        "keys_moved",
        "message_key",
        "payload",
        "contact_id",
        "detail",
    }
)


def is_identifier(column: str) -> bool:
    return (
        column in IDENTIFIER_COLUMNS
        or column.endswith("_key")
        or column.endswith("_keys")
        or "keys" in column
    )


def _ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def spec_relations() -> dict[str, list[str]]:
    """Columns of every table oppchain creates, from the specs."""
    from sinks.migrations import all_tables
    from sinks.tables import privacy

    tables: list[Table] = [*all_tables(), *privacy.TABLES]
    out: dict[str, list[str]] = {}
    for table in tables:
        out.setdefault(table.name, [c.name for c in table.columns])
    return out


def members_table_sql(database: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {_ident(database)}.{MEMBERS}\n"
        "(\n"
        "    `user` String COMMENT 'ClickHouse user name',\n"
        "    `workspace` String COMMENT 'Workspace the user may read'\n"
        ")\n"
        "ENGINE = ReplacingMergeTree\n"
        "ORDER BY (user, workspace)\n"
        "COMMENT 'Which workspaces each analyst user may read (row policies)'"
    )


def grant_sql(database: str, relation: str, columns: Sequence[str]) -> str | None:
    allowed = [c for c in columns if not is_identifier(c)]
    if not allowed:
        return None
    cols = ", ".join(_ident(c) for c in allowed)
    return f"GRANT SELECT({cols}) ON {_ident(database)}.{_ident(relation)} TO {ROLE}"


def policy_sql(database: str, relation: str) -> list[str]:
    target = f"{_ident(database)}.{_ident(relation)}"
    members = f"{_ident(database)}.{MEMBERS}"
    return [
        f"CREATE ROW POLICY OR REPLACE {POLICY} ON {target} FOR SELECT "
        f"USING workspace IN (SELECT workspace FROM {members} WHERE user = currentUser()) "
        f"AS PERMISSIVE TO {ROLE}",
        f"CREATE ROW POLICY OR REPLACE {ALL_ROWS} ON {target} FOR SELECT "
        f"USING 1 AS PERMISSIVE TO ALL EXCEPT {ROLE}",
    ]


def access_statements(
    database: str, relations: Mapping[str, Sequence[str]] | None = None
) -> list[str]:
    """Every statement, in order, for ``database``. ``relations`` maps table or
    view names to their columns (default: the table specs)."""
    relations = spec_relations() if relations is None else relations
    db = _ident(database)
    statements = [
        f"CREATE ROLE IF NOT EXISTS {ROLE}",
        f"CREATE SETTINGS PROFILE OR REPLACE {PROFILE} SETTINGS readonly = 1 TO {ROLE}",
        members_table_sql(database),
        # Re-applying starts clean, so a column that became an identifier loses its grant.
        f"REVOKE ALL ON {db}.* FROM {ROLE}",
        f"GRANT SELECT(`workspace`) ON {db}.{MEMBERS} TO {ROLE}",
        f"CREATE ROW POLICY OR REPLACE {POLICY} ON {db}.{MEMBERS} FOR SELECT "
        f"USING user = currentUser() AS PERMISSIVE TO {ROLE}",
        f"CREATE ROW POLICY OR REPLACE {ALL_ROWS} ON {db}.{MEMBERS} FOR SELECT "
        f"USING 1 AS PERMISSIVE TO ALL EXCEPT {ROLE}",
    ]
    for name in sorted(relations):
        if name == MEMBERS:
            continue
        columns = list(relations[name])
        grant = grant_sql(database, name, columns)
        if grant is not None:
            statements.append(grant)
        if "workspace" in columns:
            statements.extend(policy_sql(database, name))
    return statements


def member_statements(database: str, user: str, workspaces: Iterable[str]) -> list[str]:
    """Give an analyst user the role and their workspaces."""
    rows = ", ".join(f"({_quote(user)}, {_quote(w)})" for w in sorted(set(workspaces)))
    out = [f"GRANT {ROLE} TO {_ident(user)}", f"SET DEFAULT ROLE {ROLE} TO {_ident(user)}"]
    if rows:
        out.append(f"INSERT INTO {_ident(database)}.{MEMBERS} (user, workspace) VALUES {rows}")
    return out


def supports_access(client: Any) -> bool:
    """True on a server where this client may manage access (never under chdb)."""
    if type(client).__name__.lower().startswith("chdb") or "chdb" in repr(
        getattr(client, "_client", "")
    ):
        return False
    try:
        client.query("SHOW ACCESS")
    except Exception as exc:
        log.warning("access control not applied: %s", str(exc).splitlines()[0][:200])
        return False
    return True


def live_relations(client: Any, database: str) -> dict[str, list[str]]:
    """Columns of every table and view of ``database`` on the server (views included,
    so their identifier columns are withheld too)."""
    rows = client.query(
        "SELECT table, name FROM system.columns WHERE database = "
        f"{_quote(database)} ORDER BY table, position"
    ).result_rows
    out: dict[str, list[str]] = {}
    for table, name in rows:
        out.setdefault(table, []).append(name)
    return out


def apply_access(client: Any, database: str) -> list[str]:
    """Run the statements when the server supports access control; return those run."""
    if not supports_access(client):
        return []
    relations = {**spec_relations(), **live_relations(client, database)}
    statements = access_statements(database, relations)
    for statement in statements:
        client.command(statement)
    return statements
