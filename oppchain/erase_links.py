"""Lookups in the identity tables: the persons holding some keys, the persons merged
with them, their keys, opportunities, and the keys an event named but the guard refused."""

from __future__ import annotations

from typing import Any

from oppchain.erase_sql import query_rows, sql_in
from sinks.spec import quote


def persons_of_keys(client: Any, ws: str, keys: set[str]) -> set[str]:
    if not keys:
        return set()
    found = query_rows(
        client,
        f"SELECT DISTINCT person_id FROM touchpoints WHERE workspace = {quote(ws)} "
        f"AND identity_key IN {sql_in(keys)} AND person_id != '' "
        f"UNION DISTINCT SELECT DISTINCT into_person_id FROM identity_merges "
        f"WHERE workspace = {quote(ws)} AND hasAny(keys_moved, [{', '.join(map(quote, keys))}])",
    )
    contacts = {k[4:] for k in keys if k.startswith("crm:")}
    if contacts:
        found += query_rows(
            client,
            f"SELECT DISTINCT person_id FROM crm_events WHERE workspace = {quote(ws)} "
            f"AND contact_id IN {sql_in(contacts)} AND person_id != ''",
        )
    return {r[0] for r in found}


def merge_closure(client: Any, ws: str, ids: set[str]) -> set[str]:
    ids = set(ids)
    while ids:
        rows = query_rows(
            client,
            f"SELECT from_person_id, into_person_id FROM identity_merges "
            f"WHERE workspace = {quote(ws)} AND (from_person_id IN {sql_in(ids)} "
            f"OR into_person_id IN {sql_in(ids)})",
        )
        grown = ids | {r[0] for r in rows} | {r[1] for r in rows}
        if grown == ids:
            break
        ids = grown
    return ids


def keys_of_persons(client: Any, ws: str, ids: set[str]) -> set[str]:
    if not ids:
        return set()
    rows = query_rows(
        client,
        f"SELECT DISTINCT identity_key FROM touchpoints WHERE workspace = {quote(ws)} "
        f"AND person_id IN {sql_in(ids)} AND identity_key != '' "
        f"UNION DISTINCT SELECT DISTINCT arrayJoin(keys_moved) FROM identity_merges "
        f"WHERE workspace = {quote(ws)} AND (from_person_id IN {sql_in(ids)} "
        f"OR into_person_id IN {sql_in(ids)}) "
        f"UNION DISTINCT SELECT DISTINCT concat('crm:', contact_id) FROM crm_events "
        f"WHERE workspace = {quote(ws)} AND person_id IN {sql_in(ids)} AND contact_id != ''",
    )
    return {r[0] for r in rows}


def opportunities_of_persons(client: Any, ws: str, ids: set[str]) -> set[str]:
    if not ids:
        return set()
    rows = query_rows(
        client,
        f"SELECT DISTINCT opportunity_id FROM opportunity_chains WHERE workspace = "
        f"{quote(ws)} AND person_id IN {sql_in(ids)}",
    )
    return {r[0] for r in rows}


def refused_in_events(client: Any, ws: str, event_ids: set[str]) -> dict[str, set[str]]:
    """Per event, the keys the identity guard refused to link to the others the event
    named: a placeholder (``blocked_value``: ``key_a``, which links to nothing) or the
    key that would have broken a limit (``key_b``, refused to ``key_a``'s person).
    Such a key is somebody else's, even though the event lists it."""
    if not event_ids:
        return {}
    rows = query_rows(
        client,
        f"SELECT event_id, key_a, key_b, rule FROM identity_refusals "
        f"WHERE workspace = {quote(ws)} AND event_id IN {sql_in(event_ids)}",
    )
    out: dict[str, set[str]] = {}
    for event_id, key_a, key_b, rule in rows:
        out.setdefault(event_id, set()).add(key_a if rule == "blocked_value" else key_b)
    return out
