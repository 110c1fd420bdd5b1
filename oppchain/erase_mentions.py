"""The identity keys an event names, and which of them belong to one person."""

from __future__ import annotations

from schemas.events import (
    ContactUpserted,
    Event,
    IdentityLinked,
    PersonRef,
    SocialInteraction,
    plain,
)
from schemas.keys import contact_key, email_key, handle_key, ref_keys


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
