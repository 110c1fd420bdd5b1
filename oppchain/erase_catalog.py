"""The tables and columns that can hold a person's data, read from ``system.columns``,
and what each column names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Tables that are about erasures or the schema, never about a person.
SKIP_TABLES = frozenset({"schema_migrations", "erasures", "erased_events"})
OWNER_PERSON_COLUMNS = frozenset({"person_id", "from_person_id", "into_person_id", "merged_into"})


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str
    in_key: bool  # part of the sorting, primary or partition key: cannot be updated

    @property
    def is_string(self) -> bool:
        return _base(self.type) == "String"

    @property
    def is_string_array(self) -> bool:
        inner = re.fullmatch(r"Array\((.*)\)", self.type)
        return inner is not None and _base(inner.group(1)) == "String"


def _base(ch_type: str) -> str:
    while True:
        inner = re.fullmatch(r"(?:LowCardinality|Nullable)\((.*)\)", ch_type)
        if inner is None:
            return ch_type
        ch_type = inner.group(1)


@dataclass
class TableInfo:
    name: str
    columns: dict[str, ColumnInfo]

    @property
    def is_event_store(self) -> bool:
        return {"event_id", "event_type", "payload", "workspace"} <= set(self.columns)


def discover(client: Any) -> list[TableInfo]:
    """Every MergeTree-family table of the current database with its columns."""
    rows = client.query(
        "SELECT c.table, c.name, c.type, "
        "c.is_in_sorting_key OR c.is_in_primary_key OR c.is_in_partition_key "
        "FROM system.columns AS c INNER JOIN system.tables AS t "
        "ON c.database = t.database AND c.table = t.name "
        "WHERE c.database = currentDatabase() AND t.engine LIKE '%MergeTree' "
        "ORDER BY c.table, c.position"
    ).result_rows
    tables: dict[str, TableInfo] = {}
    for table, name, ch_type, in_key in rows:
        info = tables.setdefault(table, TableInfo(table, {}))
        info.columns[name] = ColumnInfo(name, ch_type, bool(in_key))
    return [t for name, t in sorted(tables.items()) if name not in SKIP_TABLES]


def column_role(column: ColumnInfo) -> str | None:
    """What a column names, by its name: person, person_ref, key, keys, message_key,
    event, contact, opportunity, payload; None when it names nobody."""
    name = column.name
    if column.is_string_array:
        if "key" in name:
            return "keys"
        if "person_id" in name:
            return "persons"
        if "event_id" in name:
            return "events"
        return None
    if not column.is_string:
        return None
    if name in OWNER_PERSON_COLUMNS:
        return "person"
    if name.endswith("person_id"):
        return "person_ref"
    if name == "message_key":
        return "message_key"
    if name in ("key_a", "key_b") or name.endswith("_key"):
        return "key"
    if name == "event_id" or name.endswith("_event_id"):
        return "event"
    if name in ("contact_id", "opportunity_id", "payload"):
        return name.split("_")[0]
    return None
