"""Touchpoints: the events that count as a contact between us and a person.

A ``Touch`` is a small immutable tuple, since every journey holds up to a few
hundred of them and a workspace holds millions of journeys. Repeated strings
(channels, actions) are interned so each touch only points at them.
"""

from __future__ import annotations

import sys
from typing import NamedTuple

from schemas.events import (
    Action,
    EmailExchanged,
    Envelope,
    HelpGiven,
    Introduction,
    Meeting,
    SocialInteraction,
    plain,
)
from schemas.keys import handle_key, ref_keys
from streams.domain.identity import IdentityGraph

TOUCH_TYPES = (SocialInteraction, Introduction, Meeting, EmailExchanged, HelpGiven)
_NOT_TOUCHES = frozenset({Action.post, Action.unfollow})
INTRODUCTION = "introduction"


class Touch(NamedTuple):
    at: int
    event_id: str
    channel: str
    campaign: str | None
    action: str
    direction: str | None
    intent: str | None
    introducer: str | None


def _i(value: str | None) -> str | None:
    return None if value is None else sys.intern(value)


def epoch(event: Envelope) -> int:
    return int(event.occurred_at.timestamp())


def touch_subject_keys(event: Envelope) -> list[str]:
    """The identity keys of the person a touch event is with (empty if none)."""
    if isinstance(event, SocialInteraction):
        if event.handle is None or event.action in _NOT_TOUCHES:
            return []
        return [handle_key(plain(event.platform), event.handle)]
    if isinstance(event, Introduction | Meeting | EmailExchanged | HelpGiven):
        return ref_keys(event.person)
    return []


def touch_from_event(event: Envelope, graph: IdentityGraph) -> Touch | None:
    """The touch an event makes, or None when it is not a touch.

    Broadcast posts touch nobody and an unfollow is not a contact; every other
    social act with a handle counts in both directions, as do the relationship
    events. For an introduction the touch belongs to the introduced person and
    carries the introducer's person id (resolved again through merges later).
    """
    if not touch_subject_keys(event):
        return None
    at = epoch(event)
    if isinstance(event, SocialInteraction):
        return Touch(
            at,
            event.event_id,
            plain(event.platform),
            _i(event.campaign),
            plain(event.action),
            plain(event.direction),
            None if event.intent is None else plain(event.intent),
            None,
        )
    if isinstance(event, Introduction):
        keys = ref_keys(event.introducer)
        introducer = graph.person_of(graph.limits.named(keys)) if keys else None
        return Touch(
            at, event.event_id, "referral", _i(event.campaign), INTRODUCTION, None, None, introducer
        )
    if isinstance(event, Meeting):
        return Touch(at, event.event_id, "offline", _i(event.campaign), "meeting", None, None, None)
    if isinstance(event, EmailExchanged):
        intent = None if event.intent is None else plain(event.intent)
        return Touch(
            at,
            event.event_id,
            "email",
            _i(event.campaign),
            "email_exchanged",
            plain(event.direction),
            intent,
            None,
        )
    if isinstance(event, HelpGiven):
        return Touch(
            at,
            event.event_id,
            "direct",
            _i(event.campaign),
            "help_given",
            plain(event.direction),
            "give",
            None,
        )
    return None
