"""Shared defaults of every dashboard: the datasource, the variables, the look."""

from __future__ import annotations

from typing import Any

from dashboards.model import Variable
from dashboards.sql import Query, var_in

DATASOURCE_UID = "oppchain-clickhouse"
DATASOURCE_TYPE = "grafana-clickhouse-datasource"
DATASOURCE: dict[str, str] = {"type": DATASOURCE_TYPE, "uid": DATASOURCE_UID}
PLUGIN_VERSION = "4.10.1"
SCHEMA_VERSION = 39
FOLDER_UID = "oppchain"
FOLDER_TITLE = "oppchain"

SOCIAL_CHANNELS = ("x", "linkedin", "instagram", "facebook", "youtube", "tiktok", "mastodon")
"""Channels that are social platforms (the rest: offline, referral, email, direct)."""

WORKSPACE = Variable(
    "workspace",
    "Workspace",
    Query(("DISTINCT workspace",), "touchpoints", order_by=("workspace",)),
)
PLATFORM = Variable(
    "platform",
    "Platform",
    Query(
        ("DISTINCT platform",),
        "touchpoints",
        where=("platform != ''", var_in("workspace", "workspace")),
        order_by=("platform",),
    ),
)
CAMPAIGN = Variable(
    "campaign",
    "Campaign",
    Query(
        ("DISTINCT campaign",),
        "crm_events",
        where=("campaign != ''", var_in("workspace", "workspace")),
        order_by=("campaign",),
    ),
)
MODEL = Variable(
    "model",
    "Attribution model",
    Query(("DISTINCT model",), "attribution_credit_sets", order_by=("model",)),
    multi=False,
    default="linear",
)

CURRENCY = Variable(
    "currency",
    "Currency",
    Query(
        ("DISTINCT toString(currency) AS currency",),
        "opportunity_chains",
        where=(var_in("workspace", "workspace"),),
        order_by=("currency",),
    ),
    multi=False,
    default="USD",
)
"""Money is shown one currency at a time: a workspace's accounts pay in theirs."""

STANDARD_VARIABLES = (WORKSPACE, PLATFORM, CAMPAIGN)

# Grafana's classic palette, so the report looks like the dashboards.
PALETTE = (
    "#7eb26d",
    "#eab839",
    "#6ed0e0",
    "#ef843c",
    "#e24d42",
    "#1f78c1",
    "#ba43a9",
    "#705da0",
    "#508642",
    "#cca300",
)


def field_defaults(unit: str) -> dict[str, Any]:
    return {
        "color": {"mode": "palette-classic"},
        "mappings": [],
        "thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": None}]},
        "unit": unit,
    }
