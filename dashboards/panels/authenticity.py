"""Authenticity: vanity numbers against the value that relationships bring."""

from __future__ import annotations

from dashboards.model import Panel, Row
from dashboards.panels import filters as f
from dashboards.sql import Query, time_bucket, time_filter, union_all

VANITY = "action IN ('like', 'follow')"


def vanity_vs_value() -> Row:
    growth = Panel(
        "Follower growth vs opportunities",
        "timeseries",
        Query(
            ("time", "series", "sum(n) AS value"),
            union_all(
                Query(
                    (
                        f"{time_bucket('day')} AS time",
                        "'net new followers' AS series",
                        "toInt64(sumIf(touches, action = 'follow')) "
                        "- sumIf(touches, action = 'unfollow') AS n",
                    ),
                    "touchpoints_daily",
                    where=("direction = 'inbound'", *f.rollup("day")),
                    group_by=("time",),
                ),
                Query(
                    (
                        f"{time_bucket('opportunity_created_at')} AS time",
                        "'opportunities x 10' AS series",
                        "toInt64(count() * 10) AS n",
                    ),
                    "opportunity_chains_latest",
                    where=f.chains(),
                    group_by=("time",),
                ),
            ),
            group_by=("time", "series"),
            order_by=("time", "series"),
        ),
        "Followers go up; do opportunities? (Opportunities scaled x10 to share the axis.)",
        width=24,
    )
    by_platform = Panel(
        "Vanity vs value by platform",
        "barchart",
        Query(
            (
                "toString(platform) AS platform_",
                "countIf(" + VANITY + ") AS likes_and_follows",
                "uniqExactIf(person_id, event_type IN ('introduction', 'meeting') "
                "OR action IN ('dm', 'reply')) AS conversations",
            ),
            "touchpoints",
            where=("platform != ''", *f.touches()),
            group_by=("platform_",),
            order_by=("likes_and_follows DESC",),
        ),
        "Likes and follows next to the people we actually talked with.",
        width=12,
        height=9,
    )
    value = Panel(
        "Value per platform of first touch",
        "table",
        Query(
            (
                "channel",
                "engaged_people",
                "opportunities",
                "won_value",
                "if(engaged_people > 0, 100 * opportunities / engaged_people, NULL) "
                "AS opportunities_per_100_people",
            ),
            f"({_engaged().sql()}) AS engaged LEFT JOIN ({_opened().sql()}) AS opened "
            "USING (channel)",
            order_by=("won_value DESC", "channel"),
        ),
        "Opportunities whose chain began on the platform, per hundred people engaged there.",
        width=12,
        height=9,
    )
    return Row("Vanity vs value", (growth, by_platform, value))


def _engaged() -> Query:
    return Query(
        ("toString(channel) AS channel", "uniqExact(person_id) AS engaged_people"),
        "touchpoints",
        where=("platform != ''", "channel = platform", *f.touches()),
        group_by=("channel",),
    )


def _opened() -> Query:
    return Query(
        (
            "path[1] AS channel",
            "count() AS opportunities",
            f"round(sumIf(value, status = 'won' AND {f.IN_CURRENCY}), 2) AS won_value",
        ),
        "opportunity_chains_latest",
        where=("touch_count > 0", *f.chains()),
        group_by=("channel",),
    )


def engagement_quality() -> Row:
    vanity_only = Panel(
        "Vanity-only share",
        "stat",
        Query(
            ("countIf(vanity_only) / count() AS vanity_only_share",),
            "("
            + Query(
                ("person_id", "countIf(NOT (" + VANITY + ")) = 0 AS vanity_only"),
                "touchpoints",
                where=("direction = 'inbound'", "person_id != ''", *f.touches()),
                group_by=("person_id",),
            ).sql()
            + ")",
        ),
        "People whose only engagement was likes and follows: worth $0 until a conversation.",
        unit="percentunit",
        width=6,
        height=6,
    )
    broadcast = Panel(
        "Broadcast share of our acts",
        "stat",
        Query(
            ("countIf(action = 'post') / count() AS broadcast_share",),
            "touchpoints",
            where=("direction = 'outbound'", *f.touches()),
        ),
        "Posts to nobody in particular against acts towards people: push-only misses the point.",
        unit="percentunit",
        width=6,
        height=6,
    )
    reciprocal = Panel(
        "Like-for-like pairs",
        "stat",
        Query(
            ("countIf(likes_in > 0 AND likes_out > 0 AND talks = 0) / count() AS like_for_like",),
            "("
            + Query(
                (
                    "person_id",
                    "countIf(action = 'like' AND direction = 'inbound') AS likes_in",
                    "countIf(action = 'like' AND direction = 'outbound') AS likes_out",
                    "countIf(action IN ('dm', 'reply', 'mention') OR event_type != "
                    "'social_interaction') AS talks",
                ),
                "touchpoints",
                where=("person_id != ''", time_filter("occurred_at"), f.WORKSPACE, f.PLATFORM),
                group_by=("person_id",),
            ).sql()
            + ")",
        ),
        "People who trade likes with us and never talk: the pattern of like-for-like groups.",
        unit="percentunit",
        width=6,
        height=6,
    )
    actions = Panel(
        "Inbound engagement by action",
        "barchart",
        Query(
            ("toString(action) AS action_", "sum(touches) AS acts"),
            "touchpoints_daily",
            where=("direction = 'inbound'", *f.rollup("day")),
            group_by=("action_",),
            order_by=("acts DESC",),
        ),
        "What people do towards us.",
        width=6,
        height=6,
    )
    return Row("Engagement quality", (vanity_only, broadcast, reciprocal, actions))


def flags() -> Row:
    ring_share = Panel(
        "Ring and pod share of inbound engagement",
        "stat",
        Query(
            ("sum(flagged_touches) / sum(inbound_touches) AS ring_share",),
            "ring_engagement_share",
            where=(f.WORKSPACE,),
        ),
        "Inbound engagement from flagged reciprocity rings and engagement pods (whole "
        "history: not limited by the time picker). Worth $0.",
        unit="percentunit",
        width=6,
        height=8,
    )
    authentic = Panel(
        "Won value by channel: linear vs authentic (${currency})",
        "barchart",
        Query(
            (
                "toString(channel) AS channel",
                "sumIf(credit_value, model = 'linear') AS linear",
                "sumIf(credit_value, model = 'linear_authentic') AS linear_authentic",
            ),
            "attribution_credits_latest",
            where=(f.WON_CHAINS, f.CURRENCY, *f.credits()),
            group_by=("channel",),
            order_by=("linear DESC",),
        ),
        "Linear attribution with and without the discount on touches from rings and pods.",
        width=10,
        height=8,
    )
    groups = Panel(
        "Flagged rings, pods and broadcast-only accounts",
        "table",
        Query(
            (
                "toString(flag) AS flag_",
                "own_account",
                "group_id",
                "max(group_size) AS members",
                "sum(acts) AS acts",
                "max(last_at) AS last_at_",
            ),
            "authenticity_flags_latest",
            where=(time_filter("last_at"), f.WORKSPACE),
            group_by=("flag_", "own_account", "group_id"),
            order_by=("acts DESC", "group_id"),
            limit=30,
        ),
        "Flags in force: who trades likes or moves as a pod, and own accounts that only broadcast.",
        width=8,
        height=8,
    )
    return Row("Rings, pods and broadcast", (ring_share, authentic, groups))
