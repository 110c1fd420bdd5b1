"""Documented rules that fill in what producers may leave out.

Intent (give / ask / neutral), when the producer did not send one:

* outbound ``recommend`` (#followfriday), ``share`` and ``mention``: **give**
  (amplifying someone else), and outbound ``help_given``: **give**;
* inbound ``recommend``, ``share``, ``mention``, ``introduction`` and inbound
  ``help_given``: **give** (they give to us);
* outbound ``dm`` or ``email_exchanged`` inside a campaign: **ask** (a pitch);
* everything else: **neutral**.
"""

from __future__ import annotations

from schemas.events import (
    Action,
    Direction,
    EmailExchanged,
    HelpGiven,
    Intent,
    Introduction,
    Meeting,
    SocialInteraction,
)

_GIVING_ACTIONS = frozenset({Action.recommend, Action.share, Action.mention})

TouchEvent = SocialInteraction | Introduction | Meeting | EmailExchanged | HelpGiven


def infer_intent(event: TouchEvent) -> tuple[Intent, bool]:
    """The event's intent and whether it was inferred."""
    explicit = getattr(event, "intent", None)
    if explicit is not None:
        return explicit, False
    if isinstance(event, SocialInteraction):
        if event.action in _GIVING_ACTIONS:
            return Intent.give, True
        if event.action is Action.dm and event.direction is Direction.outbound and event.campaign:
            return Intent.ask, True
        return Intent.neutral, True
    if isinstance(event, HelpGiven | Introduction):
        return Intent.give, True
    if isinstance(event, EmailExchanged):
        pitch = event.direction is Direction.outbound and event.campaign
        return (Intent.ask if pitch else Intent.neutral), True
    return Intent.neutral, True


def channel_of(event: TouchEvent) -> str:
    """Attribution channel: the platform, or offline / referral / email / direct."""
    if isinstance(event, SocialInteraction):
        return event.platform.value
    if isinstance(event, Meeting):
        return "offline"
    if isinstance(event, Introduction):
        return "referral"
    if isinstance(event, EmailExchanged):
        return "email"
    return "direct"
