"""Column names of every row the domain emits; the one list sinks and DDL follow.

Rows are plain dicts keyed by these names. Times are timezone-aware UTC
datetimes; lists (``path``, ``keys_moved``) are lists of strings.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

Row = dict[str, Any]

TOUCH_PERSON_COLUMNS = ("workspace", "event_id", "touched_at", "person_id", "account_id")
IDENTITY_MERGE_COLUMNS = (
    "workspace",
    "merged_at",
    "from_person_id",
    "into_person_id",
    "keys_moved",
    "event_id",
    "reason",
)
IDENTITY_REFUSAL_COLUMNS = (
    "workspace",
    "refused_at",
    "event_id",
    "key_a",
    "key_b",
    "rule",
    "detail",
)
CHAIN_COLUMNS = (
    "workspace",
    "opportunity_id",
    "person_id",
    "account_id",
    "kind",
    "opportunity_type",
    "value",
    "currency",
    "status",
    "stage",
    "first_touch_at",
    "lead_created_at",
    "opportunity_created_at",
    "closed_at",
    "days_to_close",
    "path",
    "touch_count",
    "introducer_person_id",
    "version",
)
CREDIT_SET_COLUMNS = (
    "workspace",
    "opportunity_id",
    "model",
    "version",
    "value",
    "currency",
    "touch_event_ids",
    "touch_times",
    "channels",
    "campaigns",
    "credit_fractions",
)
CREDIT_COLUMNS = (  # the attribution_credits view: one row per credited touch
    "workspace",
    "opportunity_id",
    "model",
    "touch_index",
    "touch_event_id",
    "touched_at",
    "channel",
    "campaign",
    "credit_fraction",
    "credit_value",
    "currency",
    "version",
)


def to_datetime(epoch_seconds: int) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)


def opt_datetime(epoch_seconds: int | None) -> datetime | None:
    return None if epoch_seconds is None else to_datetime(epoch_seconds)


def to_epoch(value: datetime | int | float | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return int(value.timestamp())
    return int(value)
