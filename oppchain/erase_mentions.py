"""The identity keys an event names, and which of them belong to one person."""

from __future__ import annotations

from typing import Any

import orjson

from schemas.events import (
    ContactUpserted,
    Event,
    IdentityLinked,
    PersonRef,
    SocialInteraction,
    plain,
)
from schemas.keys import contact_key, email_key, handle_key, normalized_key, ref_keys


def mentioned_keys(event: Event) -> set[str]:
    """Every identity key an event names, in any role."""
    keys: set[str] = set()
    for refs in subject_refs(event):
        keys.update(refs)
    introducer = getattr(event, "introducer", None)
    if isinstance(introducer, PersonRef):
        keys.update(ref_keys(introducer))
    return keys


def subject_refs(event: Event) -> list[list[str]]:
    """Key groups of the persons an event is about (not introducers): each group
    names one person."""
    groups: list[list[str]] = []
    if isinstance(event, SocialInteraction) and event.handle:
        groups.append([handle_key(plain(event.platform), event.handle)])
    if isinstance(event, IdentityLinked):
        groups.extend([ref_keys(event.a), ref_keys(event.b)])
    person = getattr(event, "person", None)
    if isinstance(person, PersonRef):
        groups.append(ref_keys(person))
    contact_id = getattr(event, "contact_id", None)
    group = [contact_key(contact_id)] if isinstance(contact_id, str) and contact_id else []
    if isinstance(event, ContactUpserted):
        group.extend(handle_key(plain(h.platform), h.handle) for h in event.handles)
        if event.email_hash:
            group.append(email_key(event.email_hash))
    if group:
        groups.append(group)
    return groups


def payload_keys(payload: str) -> set[str] | None:
    """The identity keys a stored message names wherever they sit: a ``platform``
    with a ``handle``, a ``contact_id``, an ``email_hash``, in any object of it.
    None when it is not a JSON object (malformed, or cut at the stored length):
    then nothing can be told from its structure."""
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(doc, dict):
        return None
    keys: set[str] = set()
    stack: list[Any] = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        platform, handle = node.get("platform"), node.get("handle")
        if isinstance(platform, str) and isinstance(handle, str) and handle:
            keys.add(normalized_key(f"{platform}:{handle}"))
        for field, key in (("contact_id", contact_key), ("email_hash", email_key)):
            value = node.get(field)
            if isinstance(value, str) and value:
                keys.add(key(value))
        stack.extend(v for v in node.values() if isinstance(v, dict | list))
    return keys
