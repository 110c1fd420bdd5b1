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
    plain,
)

_GIVING_ACTIONS = frozenset({Action.recommend, Action.share, Action.mention})
# Enum members looked up once: ``Intent.give`` goes through a slow class descriptor.
_GIVE, _ASK, _NEUTRAL = Intent.give, Intent.ask, Intent.neutral
_DM, _OUTBOUND = Action.dm, Direction.outbound

TouchEvent = SocialInteraction | Introduction | Meeting | EmailExchanged | HelpGiven


def infer_intent(event: TouchEvent) -> tuple[Intent, bool]:
    """The event's intent and whether it was inferred."""
    # Not getattr with a default: pydantic's __getattr__ is slow for a missing name.
    explicit = vars(event).get("intent")
    if explicit is not None:
        return explicit, False
    if isinstance(event, SocialInteraction):
        if event.action in _GIVING_ACTIONS:
            return _GIVE, True
        if event.action is _DM and event.direction is _OUTBOUND and event.campaign:
            return _ASK, True
        return _NEUTRAL, True
    if isinstance(event, HelpGiven | Introduction):
        return _GIVE, True
    if isinstance(event, EmailExchanged):
        pitch = event.direction is _OUTBOUND and event.campaign
        return (_ASK if pitch else _NEUTRAL), True
    return _NEUTRAL, True


def channel_of(event: TouchEvent) -> str:
    """Attribution channel: the platform, or offline / referral / email / direct."""
    if isinstance(event, SocialInteraction):
        return plain(event.platform)
    if isinstance(event, Meeting):
        return "offline"
    if isinstance(event, Introduction):
        return "referral"
    if isinstance(event, EmailExchanged):
        return "email"
    return "direct"
