"""Pseudonymisation: clear emails are replaced by a salted hash at ingest.

The salt is per workspace, derived from one secret (HMAC), so the same email
hashes alike within a workspace (identity stitching works) but not across
workspaces, and nobody without the secret can test a guessed address.
"""

from __future__ import annotations

import hmac
import re
from functools import lru_cache
from typing import Any

from schemas.events import EMAIL_PATTERN
from schemas.placeholders import PLACEHOLDERS, is_placeholder

_PERSON_FIELDS = ("person", "introducer", "a", "b")
# Bounded repeats keep the scan linear on long hostile input.
_EMAIL_RE = re.compile(
    rb"[A-Za-z0-9._%+-]{1,64}(?:@|\\u0040)[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}"
    rb"\.[A-Za-z]{2,24}"
)  # "\u0040" is "@" as JSON may escape it
_IS_EMAIL = re.compile(EMAIL_PATTERN)


@lru_cache(maxsize=1024)
def workspace_salt(secret: bytes, workspace: str) -> bytes:
    return hmac.digest(secret, b"workspace-salt:" + workspace.encode(), "sha256")


# Mailboxes that name nobody (``null@null.com``, ``noreply@...``): hashed, they would
# look like one real address shared by everybody who left the field so.
_PLACEHOLDER_MAILBOXES = PLACEHOLDERS | {
    "noemail", "no-email", "noreply", "no-reply", "donotreply", "do-not-reply", "test", "email",
}  # fmt: skip
BLOCKED_EMAIL_HASH = "0" * 64  # all zeros: a blocked value to identity stitching


def hash_email(secret: bytes, workspace: str, email: str) -> str:
    """The keyed hash of an address, or ``BLOCKED_EMAIL_HASH`` for a placeholder one
    (hashing hides the text, so the check comes first)."""
    normalized = email.strip().lower()
    if is_placeholder(normalized.partition("@")[0], _PLACEHOLDER_MAILBOXES):
        return BLOCKED_EMAIL_HASH
    # One-shot ``hmac.digest`` and a cached salt: hashing is on the ingest hot path.
    return hmac.digest(workspace_salt(secret, workspace), normalized.encode(), "sha256").hex()


def _hash_in(obj: dict[str, Any], secret: bytes, workspace: str) -> None:
    """Hash an email only when it is one: "n/a" or "" would hash alike for
    everybody and stitch them into one person. Anything else stays ``email``,
    which validation refuses."""
    email = obj.get("email")
    if isinstance(email, str) and len(email) <= 320 and _IS_EMAIL.match(email.strip()):
        obj["email_hash"] = hash_email(secret, workspace, email)
        del obj["email"]


def mask_emails(raw: dict[str, Any]) -> bool:
    """Mask the email fields of an event dict that has no workspace to hash them
    with, in place; whether any was there."""
    masked = False
    for obj in (raw, *(raw.get(name) for name in _PERSON_FIELDS)):
        if isinstance(obj, dict) and isinstance(obj.get("email"), str):
            obj["email"] = "<email redacted>"
            masked = True
    return masked


def pseudonymize(raw: dict[str, Any], secret: bytes) -> dict[str, Any]:
    """Replace every clear email in a decoded event dict, in place."""
    workspace = raw.get("workspace")
    if not isinstance(workspace, str):
        return raw
    _hash_in(raw, secret, workspace)
    for name in _PERSON_FIELDS:
        ref = raw.get(name)
        if isinstance(ref, dict):
            _hash_in(ref, secret, workspace)
    return raw


def redact_emails(payload: bytes) -> bytes:
    """Mask anything that looks like an email in bytes kept for inspection."""
    if b"@" not in payload and b"\\u0040" not in payload:
        return payload
    return _EMAIL_RE.sub(b"<email redacted>", payload)


def redact_text(text: str) -> str:
    return redact_emails(text.encode()).decode("utf-8", "replace")
