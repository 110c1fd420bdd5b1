"""Tables as data: one definition gives the DDL, the Arrow schema and the docs.

Each column list is written once, here. The CREATE statement, the Arrow
schema used for columnar inserts and the analyst docs are all derived from it,
so they cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, cast

import pyarrow as pa


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    comment: str
    default: str | None = None  # a DEFAULT expression; such columns are not inserted

    @property
    def inserted(self) -> bool:
        return self.default is None


@dataclass(frozen=True)
class Table:
    name: str
    comment: str
    columns: tuple[Column, ...]
    engine: str
    order_by: str
    partition_by: str | None = None
    ttl: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    def column_names(self) -> list[str]:
        return [c.name for c in self.columns if c.inserted]

    def create_sql(self, database: str | None = None) -> str:
        name = f"{database}.{self.name}" if database else self.name
        cols = []
        for c in self.columns:
            default = f" DEFAULT {c.default}" if c.default else ""
            cols.append(f"    `{c.name}` {c.type}{default} COMMENT {quote(c.comment)}")
        parts = [f"CREATE TABLE IF NOT EXISTS {name}\n(\n" + ",\n".join(cols) + "\n)"]
        parts.append(f"ENGINE = {self.engine}")
        if self.partition_by:
            parts.append(f"PARTITION BY {self.partition_by}")
        parts.append(f"ORDER BY {self.order_by}")
        if self.ttl:
            parts.append(f"TTL {self.ttl}")
        if self.settings:
            parts.append(
                "SETTINGS " + ", ".join(f"{k} = {v}" for k, v in sorted(self.settings.items()))
            )
        parts.append(f"COMMENT {quote(self.comment)}")
        return "\n".join(parts)

    def arrow_schema(self) -> pa.Schema:
        return pa.schema([(c.name, arrow_type(c.type)) for c in self.columns if c.inserted])

    def to_arrow(self, rows: list[dict[str, Any]] | list[tuple[Any, ...]]) -> pa.Table:
        """Rows as dicts, or as tuples in column order (cheaper to build)."""
        schema = self.arrow_schema()
        if rows and isinstance(rows[0], tuple):
            columns = list(zip(*rows, strict=True))
            arrays = [pa.array(col, type=f.type) for col, f in zip(columns, schema, strict=True)]
            return pa.Table.from_arrays(arrays, schema=schema)
        # List columns whose rows share list objects (a chain's touch arrays, the
        # same for every model) are built from each distinct list once.
        dicts = cast(list[dict[str, Any]], rows)
        shared: dict[str, list[list[Any]]] = {}
        for f in schema:
            if pa.types.is_list(f.type):
                values = [r.get(f.name) for r in dicts]
                if _mostly_shared(values):
                    shared[f.name] = cast(list[list[Any]], values)
        if not shared:
            return pa.Table.from_pylist(dicts, schema=schema)
        rest = pa.schema([f for f in schema if f.name not in shared])
        table = pa.Table.from_pylist(dicts, schema=rest)
        arrays = [
            _list_column(shared[f.name], f.type) if f.name in shared else table.column(f.name)
            for f in schema
        ]
        return pa.Table.from_arrays(arrays, schema=schema)


def _mostly_shared(values: list[Any]) -> bool:
    """True for lists only (else from_pylist says what is wrong), at most half distinct."""
    if not values or not all(type(v) is list for v in values):
        return False
    return len({id(v) for v in values}) * 2 <= len(values)


def _list_column(values: list[list[Any]], list_type: pa.ListType) -> pa.Array:
    """A list column whose rows often share one list object (a chain's touch arrays,
    repeated for every model): each distinct list is converted once, then the
    pieces are joined, instead of converting every row's elements again."""
    converted: dict[int, pa.Array] = {}  # by id: every list is alive in ``values``
    pieces, offsets = [], [0]
    for value in values:
        array = converted.get(id(value))
        if array is None:
            array = converted[id(value)] = pa.array(value, type=list_type.value_type)
        pieces.append(array)
        offsets.append(offsets[-1] + len(value))
    flat = pa.concat_arrays(pieces)
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), flat, type=list_type)


@dataclass(frozen=True)
class View:
    name: str
    comment: str
    select: str
    materialized_to: str | None = None  # target table of a materialized view

    def create_sql(self) -> str:
        if self.materialized_to:
            head = f"CREATE MATERIALIZED VIEW IF NOT EXISTS {self.name} TO {self.materialized_to}"
        else:
            head = f"CREATE VIEW IF NOT EXISTS {self.name}"
        return f"{head}\nAS {self.select.strip()}\nCOMMENT {quote(self.comment)}"


@dataclass(frozen=True)
class Drop:
    """Removes a table or view a later migration replaces."""

    kind: str  # TABLE or VIEW
    name: str

    def __post_init__(self) -> None:
        if self.kind not in ("TABLE", "VIEW"):
            raise ValueError(f"Drop kind must be TABLE or VIEW, not {self.kind!r}")

    def sql(self) -> str:
        return f"DROP {self.kind} IF EXISTS {self.name}"


@dataclass(frozen=True)
class Backfill:
    """Copies existing rows into a new table, once, when its migration is applied.

    ``source`` is the table it copies from: when a migration stopped after dropping
    it, running the migration again skips the copy (it was done)."""

    target: str
    columns: tuple[str, ...]
    select: str
    source: str = ""

    def sql(self) -> str:
        return f"INSERT INTO {self.target} ({', '.join(self.columns)})\n{self.select.strip()}"


@dataclass(frozen=True)
class AlterSettings:
    """Changes settings of a table an earlier migration created (the spec keeps the
    text that migration used; the settings it has now are the spec's plus these)."""

    table: str
    settings: dict[str, Any]

    def __post_init__(self) -> None:
        if not self.settings:
            raise ValueError(f"AlterSettings on {self.table}: no settings")
        ident = r"[A-Za-z_][A-Za-z0-9_]*"
        if not re.fullmatch(rf"(?:{ident}\.)?{ident}", self.table):
            raise ValueError(f"AlterSettings: not a table name: {self.table!r}")
        for key in self.settings:
            if not re.fullmatch(ident, key):
                raise ValueError(f"AlterSettings on {self.table}: not a setting name: {key!r}")

    def sql(self) -> str:
        pairs = ", ".join(f"{k} = {v}" for k, v in sorted(self.settings.items()))
        return f"ALTER TABLE {self.table} MODIFY SETTING {pairs}"


@dataclass(frozen=True)
class AddColumn:
    """Adds a column to a table an earlier migration created (rows stored before
    read the type's default)."""

    table: str
    column: Column
    after: str

    def __post_init__(self) -> None:
        if self.column.default is not None:
            raise ValueError(f"AddColumn on {self.table}: a DEFAULT column is not inserted")

    def sql(self) -> str:
        c = self.column
        return (
            f"ALTER TABLE {self.table} ADD COLUMN IF NOT EXISTS `{c.name}` {c.type} "
            f"COMMENT {quote(c.comment)} AFTER `{self.after}`"
        )


@dataclass(frozen=True)
class Comment:
    """Says again what a table (or, with ``column``, one of its columns) of an earlier
    migration holds: the spec keeps the text that migration used."""

    table: str
    comment: str
    column: str = ""

    def sql(self) -> str:
        what = f"COMMENT COLUMN `{self.column}`" if self.column else "MODIFY COMMENT"
        return f"ALTER TABLE {self.table} {what} {quote(self.comment)}"


def quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


_SCALARS: dict[str, pa.DataType] = {
    "String": pa.string(),
    "UInt8": pa.uint8(),
    "UInt16": pa.uint16(),
    "UInt32": pa.uint32(),
    "UInt64": pa.uint64(),
    "Int32": pa.int32(),
    "Int64": pa.int64(),
    "Float64": pa.float64(),
    "Bool": pa.bool_(),
    "Date": pa.date32(),
}


def arrow_type(ch_type: str) -> pa.DataType:
    """The Arrow type to send for a ClickHouse column type."""
    inner = re.fullmatch(r"(LowCardinality|Nullable|Array)\((.*)\)", ch_type)
    if inner:
        wrapper, arg = inner.groups()
        if wrapper == "Array":
            return pa.list_(arrow_type(arg))
        return arrow_type(arg)
    if ch_type.startswith("DateTime64"):
        return pa.timestamp("ms", tz="UTC")
    if ch_type.startswith("DateTime"):
        return pa.timestamp("s", tz="UTC")
    if ch_type.startswith("Map("):
        key, value = (s.strip() for s in ch_type[4:-1].split(",", 1))
        return pa.map_(arrow_type(key), arrow_type(value))
    return _SCALARS[ch_type]
