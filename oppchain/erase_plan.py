"""What goes: the DELETE and blanking conditions per table, from the column-name rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from oppchain.erase_catalog import TableInfo, column_role
from oppchain.erase_scope import MESSAGE_POSITION, Subject
from oppchain.erase_sql import NEEDLES_PER_CALL, sql_in
from sinks.spec import quote


def _workspaces(table: TableInfo, workspace: str) -> str:
    """A dead letter that could not be read has no workspace (''), yet its payload
    may name the person: tables with such payloads are searched there too."""
    unreadable = any(column_role(c) == "payload" for c in table.columns.values())
    if unreadable and not table.is_event_store:
        return f"workspace IN ({quote(workspace)}, '')"
    return f"workspace = {quote(workspace)}"


_POSITION = f"({', '.join(MESSAGE_POSITION)})"


def _tuples(positions: set[tuple[str, int, int]]) -> str:
    return "(" + ", ".join(f"({quote(t)}, {p}, {o})" for t, p, o in sorted(positions)) + ")"


@dataclass
class TablePlan:
    table: str
    delete_where: str  # empty: nothing to delete
    blank: list[tuple[str, str]]  # (column, WHERE) of references to blank


def plan(tables: Sequence[TableInfo], subject: Subject) -> list[TablePlan]:
    """The DELETE and UPDATE conditions per table, from the column-name rules."""
    values: dict[str, set[str]] = {
        "person": subject.person_ids,
        "persons": subject.person_ids,
        "key": subject.keys,
        "keys": subject.keys,
        "message_key": subject.message_keys(),
        "event": subject.events,
        "events": subject.events,
        "contact": subject.contacts,
        "opportunity": subject.opportunities,
    }
    ws = subject.workspace
    plans = []
    for table in tables:
        scoped = "workspace" in table.columns
        parts: list[str] = []
        blank: list[tuple[str, str]] = []
        for column in table.columns.values():
            role = column_role(column)
            if role is None or column.name == "workspace":
                continue
            if not scoped and role not in ("event", "events", "message_key"):
                continue  # without a workspace only globally unique names are safe
            name = f"`{column.name}`"
            if role == "payload":
                needles = subject.needles()
                if table.is_event_store or not needles:
                    continue  # event stores: their event_id decides
                mentions = subject.mentions.get(table.name)
                if mentions is not None:  # the messages read and found to name them
                    if mentions:
                        parts.append(f"{_POSITION} IN {_tuples(mentions)}")
                    continue
                for start in range(0, len(needles), NEEDLES_PER_CALL):
                    chunk = ", ".join(quote(n) for n in needles[start : start + NEEDLES_PER_CALL])
                    parts.append(f"multiSearchAnyCaseInsensitiveUTF8({name}, [{chunk}])")
                continue
            wanted = values["person" if role == "person_ref" else role]
            if not wanted:
                continue
            if role in ("keys", "persons", "events"):
                parts.append(f"hasAny({name}, [{', '.join(quote(v) for v in sorted(wanted))}])")
            elif role == "person_ref" and not column.in_key:
                where = f"workspace = {quote(ws)} AND {name} IN {sql_in(wanted)}"
                blank.append((column.name, where))
            else:
                parts.append(f"{name} IN {sql_in(wanted)}")
        where = ""
        if parts:
            where = ("(" + " OR ".join(parts) + ")") if len(parts) > 1 else parts[0]
            if scoped:
                where = f"{_workspaces(table, ws)} AND {where}"
        if where or blank:
            plans.append(TablePlan(table.name, where, blank))
    return plans
