"""What a run did, read back from ClickHouse (not from the process's own counters)."""

from __future__ import annotations

from typing import Any

from sinks.tables.relationship_views import WON_CHAINS as WON


def _scalar(client: Any, sql: str) -> Any:
    return client.query(sql).result_rows[0][0]


def accounting(client: Any, produced: int) -> dict[str, Any]:
    """Counts that prove nothing was lost or doubled."""
    touch = _scalar(client, "SELECT uniqExact(event_id) FROM touchpoints")
    crm = _scalar(client, "SELECT uniqExact(event_id) FROM crm_events")
    dead = _scalar(
        client,
        "SELECT uniqExact(source_topic, source_partition, source_offset) FROM dead_letters",
    )
    rows = sum(
        _scalar(client, f"SELECT count() FROM {name}")
        for name in ("touchpoints", "crm_events", "dead_letters")
    )
    return {
        "produced": produced,
        "stored": touch + crm,
        "touchpoints": touch,
        "crm_events": crm,
        "dead_lettered": dead,
        "duplicate_rows": rows - (touch + crm + dead),
    }


def _section(title: str, rows: list[tuple[Any, ...]], fmt: str) -> list[str]:
    lines = [title]
    lines.extend("  " + fmt.format(*row) for row in rows)
    if not rows:
        lines.append("  (none)")
    return lines


def render_report(client: Any, summary: dict[str, Any]) -> str:
    lines = [
        "",
        "== oppchain run ==",
        f"produced {summary['produced']}  stored {summary['stored']} "
        f"(touchpoints {summary['touchpoints']}, crm events {summary['crm_events']})  "
        f"dead-lettered {summary['dead_lettered']}  "
        f"duplicates dropped {summary.get('duplicates_dropped', 0)}  "
        f"in {summary.get('seconds', 0)} s",
    ]
    balanced = summary["produced"] == summary["stored"] + summary["dead_lettered"]
    lines.append(
        "every event accounted for" if balanced else "MISMATCH: produced != stored + dead-lettered"
    )
    reasons = client.query(
        "SELECT reason, count() FROM dead_letters GROUP BY reason ORDER BY 2 DESC, 1"
    ).result_rows
    lines += _section("dead letters by reason:", reasons, "{:<24} {}")
    lines += extra_sections(client)
    return "\n".join(lines)


def extra_sections(client: Any) -> list[str]:
    """Chains, attribution and relationship sections, once those tables have rows."""
    lines: list[str] = []
    top = client.query(
        "SELECT model, channel, currency, round(sum(credit_value), 2) AS value FROM "
        f"attribution_credits_latest WHERE {WON} GROUP BY model, channel, currency "
        "ORDER BY model, value DESC LIMIT 3 BY model"
    ).result_rows
    by_model: dict[str, list[str]] = {}
    for model, channel, currency, value in top:
        by_model.setdefault(model, []).append(f"{channel} {value:,.0f} {currency}")
    lines.append("top channels per attribution model (value won; _authentic: rings and pods at 0):")
    width = max((len(m) for m in by_model), default=0)
    lines.extend(f"  {m:<{width}}  " + " | ".join(v) for m, v in by_model.items())
    lines += data_driven(client)
    social = client.query(
        "SELECT countIf(path[1] NOT IN ('offline', 'referral', 'email', 'direct')), count() "
        "FROM opportunity_chains_latest WHERE touch_count > 0"
    ).result_rows
    if social and social[0][1]:
        share = social[0][0] / social[0][1]
        lines.append(f"opportunities with a social first touch: {share:.1%} of {social[0][1]}")
    lines += social_roi(client)
    return lines


def data_driven(client: Any) -> list[str]:
    """The latest Markov run's top channels, by share of the conversions of every
    workspace (each workspace's run splits its own conversions)."""
    rows = client.query(
        "SELECT model, channel, sum(conversions) AS credited, "
        "sum(credited) OVER (PARTITION BY model) AS total FROM channel_attribution_latest "
        "GROUP BY model, channel ORDER BY model, credited DESC, channel LIMIT 3 BY model"
    ).result_rows
    by_model: dict[str, list[str]] = {}
    for model, channel, credited, total in rows:
        if total > 0:
            by_model.setdefault(model, []).append(f"{channel} {credited / total:.1%}")
    if not by_model:
        return []
    lines = ["data-driven attribution (removal effect; share of conversions):"]
    lines.extend(f"  {m}  " + " | ".join(v) for m, v in by_model.items())
    return lines


def social_roi(client: Any) -> list[str]:
    """The "social ROI" report: what the relationship side of social media returned."""
    lines = ["", "== social ROI =="]
    kinds = client.query(
        "SELECT kind, currency, sum(opportunities), sum(won), round(sum(total_value), 2) "
        "FROM opportunities_by_kind GROUP BY kind, currency ORDER BY kind, currency"
    ).result_rows
    title = "opportunities by kind (currency, count, won, value):"
    lines += _section(title, kinds, "{:<10} {} {} {} {}")
    top = client.query(
        "SELECT workspace, person_id, round(score, 1), touch_count, "
        "arrayStringConcat(channels, ',') FROM relationships_latest ORDER BY score DESC LIMIT 5"
    ).result_rows
    lines += _section("top relationships (score, touches, channels):", top, "{} {} {} {} {}")
    karma = client.query(
        "SELECT countIf(intent = 'give'), countIf(intent = 'ask'), "
        "countIf(intent = 'give' AND opportunities_after > 0), "
        "medianIf(days_to_opportunity, intent = 'give' AND days_to_opportunity IS NOT NULL) "
        "FROM karma_ledger_latest"
    ).result_rows
    if karma and karma[0][0] + karma[0][1]:
        gives, asks, followed, days = karma[0]
        ratio = gives / max(asks, 1)
        lines.append(
            f"give/ask: {gives} gives, {asks} asks (ratio {ratio:.1f}); "
            f"{followed} gives followed by an opportunity, median {days or 0:.0f} days later"
        )
    rings = client.query(
        "SELECT sum(flagged_touches), sum(inbound_touches) FROM ring_engagement_share"
    ).result_rows
    value = client.query(
        "SELECT round(sum(credit_value), 2) FROM attribution_credits_latest "
        f"WHERE model = 'linear' AND {WON} AND touch_event_id IN (SELECT event_id FROM touchpoints "
        "WHERE (workspace, identity_key) IN (SELECT workspace, subject_key FROM "
        "authenticity_flags_latest WHERE flag IN ('reciprocity_ring', 'engagement_pod')))"
    ).result_rows
    if rings and rings[0][1]:
        lines.append(
            f"engagement from rings and pods: {rings[0][0] / rings[0][1]:.1%} of inbound "
            f"touches; value they were credited (linear): {value[0][0] if value else 0}"
        )
    one = client.query(
        "SELECT (SELECT count() FROM relationships_latest), "
        "(SELECT count() FROM opportunity_chains_latest WHERE status = 'won')"
    ).result_rows
    if one and one[0][1]:
        lines.append(f"1 in {one[0][0] / one[0][1]:.0f} first touches became a contract won")
    return lines
