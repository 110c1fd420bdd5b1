"""WHERE conditions every section reuses, so a variable means the same everywhere."""

from __future__ import annotations

from dashboards.sql import date_filter, time_filter, var, var_any, var_eq, var_in
from sinks.tables.relationship_views import WON_CHAINS as WON_CHAINS  # re-exported

WORKSPACE = var_in("workspace", "workspace")
PLATFORM = var_in("platform", "platform")
CAMPAIGN = var_in("campaign", "campaign")
CHANNEL_IS_PLATFORM = var_in("channel", "platform")
PATH_HAS_PLATFORM = var_any("path", "platform")

CURRENCY = var_eq("currency", "currency")
IN_CURRENCY = f"currency = {var('currency')}"  # inside sumIf, beside other conditions

OPEN_OR_WON_CHAINS = (
    "(workspace, opportunity_id) IN (SELECT workspace, opportunity_id "
    "FROM opportunity_chains_latest WHERE status IN ('open', 'won'))"
)


def touches(column: str = "occurred_at") -> tuple[str, ...]:
    """Touchpoints in the time range, workspace, platform and campaign."""
    return (time_filter(column), WORKSPACE, PLATFORM, CAMPAIGN)


def rollup(column: str = "day") -> tuple[str, ...]:
    """Daily rollup rows (``touchpoints_daily``, ``karma_daily``) of every day the time
    range touches, first and last included, in workspace, platform and campaign."""
    return (date_filter(column), WORKSPACE, PLATFORM, CAMPAIGN)


def crm(column: str = "occurred_at") -> tuple[str, ...]:
    """CRM events in the time range and workspace (platform and campaign only on costs)."""
    return (time_filter(column), WORKSPACE)


def chains(column: str = "opportunity_created_at") -> tuple[str, ...]:
    return (time_filter(column), WORKSPACE, PATH_HAS_PLATFORM)


def credits(column: str = "touched_at") -> tuple[str, ...]:
    return (time_filter(column), WORKSPACE, CHANNEL_IS_PLATFORM, CAMPAIGN)
