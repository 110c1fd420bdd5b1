"""Shared worlds and helpers for the generator tests, each world built once per session."""

from __future__ import annotations

from functools import cache
from typing import Any

from oppchain.generator import World, generate
from schemas.codec import DecodeFailure, decode_batch
from schemas.events import (
    Action,
    EmailExchanged,
    Envelope,
    HelpGiven,
    Introduction,
    Meeting,
    SocialInteraction,
)
from schemas.keys import handle_key, ref_keys

SECRET = b"generator-test-secret"
TOUCH_CHANNELS = {
    Introduction: "referral",
    Meeting: "offline",
    EmailExchanged: "email",
    HelpGiven: "direct",
}

Decoded = tuple[list[tuple[int, Any]], list[DecodeFailure]]


@cache
def world() -> World:
    return generate(11, events=20_000, bad_fraction=0.02, late_fraction=0.02)


@cache
def decoded() -> Decoded:
    return decode_batch(world().events, secret=SECRET)


def touch(event: Envelope) -> tuple[str, str] | None:
    """(identity key, channel) of a touch, as the pipeline defines touches."""
    if isinstance(event, SocialInteraction):
        if event.handle is None or event.action in (Action.post, Action.unfollow):
            return None
        return handle_key(event.platform.value, event.handle), event.platform.value
    channel = TOUCH_CHANNELS.get(type(event))
    if channel is None:
        return None
    return ref_keys(event.person)[0], channel  # type: ignore[attr-defined]
