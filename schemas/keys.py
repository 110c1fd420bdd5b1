"""Identity keys: how a person is named in messages and in state.

A key is a short string: ``<platform>:<handle>`` for a social handle,
``crm:<contact_id>`` for a CRM contact, ``email:<hash>`` for a hashed email.
Handles are case-insensitive on every supported platform, so keys are
lower-cased; a leading ``@`` is dropped.
"""

from __future__ import annotations

from functools import lru_cache

from schemas.events import (
    AccountUpserted,
    ContactUpserted,
    CostRecorded,
    Envelope,
    IdentityLinked,
    Introduction,
    LeadCreated,
    OpportunityCreated,
    PersonRef,
    RevenueRecorded,
    SocialInteraction,
    normalize_platform,
    plain,
)


@lru_cache(maxsize=1 << 16)
def handle_key(platform: str, handle: str) -> str:
    return f"{platform}:{handle.strip().lstrip('@').lower()}"


def contact_key(contact_id: str) -> str:
    return f"crm:{contact_id}"


def email_key(email_hash: str) -> str:
    return f"email:{email_hash}"


def normalized_key(key: str) -> str:
    """A key as a person may type it (``X:@Ann``, ``twitter:ann``) as it is stored
    (``x:ann``); CRM ids and email hashes are kept as given."""
    kind, sep, value = key.partition(":")
    kind = kind.strip().lower()
    if not sep or kind in ("crm", "email"):
        return key if not sep else f"{kind}:{value}"
    platform = normalize_platform(kind)
    return handle_key(platform if isinstance(platform, str) else kind, value)


def ref_keys(ref: PersonRef) -> list[str]:
    """Every identity key a reference names, strongest first."""
    keys = []
    if ref.contact_id:
        keys.append(contact_key(ref.contact_id))
    if ref.platform is not None and ref.handle:
        keys.append(handle_key(plain(ref.platform), ref.handle))
    if ref.email_hash:
        keys.append(email_key(ref.email_hash))
    return keys


def subject_key(event: Envelope) -> str:
    """The message key: the identity key of the person (or thing) an event is about."""
    if isinstance(event, SocialInteraction):
        return handle_key(plain(event.platform), event.handle or event.own_account)
    if isinstance(event, Introduction):
        return ref_keys(event.person)[0]
    if isinstance(event, IdentityLinked):
        return ref_keys(event.a)[0]
    person = getattr(event, "person", None)
    if isinstance(person, PersonRef):
        return ref_keys(person)[0]
    if isinstance(event, ContactUpserted | LeadCreated | OpportunityCreated):
        return contact_key(event.contact_id)
    contact_id = getattr(event, "contact_id", None)
    if isinstance(contact_id, str):
        return contact_key(contact_id)
    if isinstance(event, AccountUpserted | RevenueRecorded):
        return f"account:{event.account_id}"
    opportunity_id = getattr(event, "opportunity_id", None)
    if isinstance(opportunity_id, str):
        return f"opportunity:{opportunity_id}"
    if isinstance(event, CostRecorded):
        return f"cost:{event.campaign or event.platform or 'all'}"
    return f"event:{event.event_id}"
