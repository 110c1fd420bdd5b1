"""Keyed hashes that stand for erased values in the erasure record."""

from __future__ import annotations

import hashlib
import hmac

from schemas.privacy import workspace_salt


def keyed_hash(secret: bytes, workspace: str, kind: str, value: str) -> str:
    """HMAC-SHA256 of ``kind:value`` under the workspace salt (hex)."""
    salt = workspace_salt(secret, workspace)
    return hmac.new(salt, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def event_hash(secret: bytes, workspace: str, event_id: str) -> str:
    return keyed_hash(secret, workspace, "event", event_id)
