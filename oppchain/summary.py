"""What a run did, read back from ClickHouse (not from the process's own counters)."""

from __future__ import annotations

from typing import Any


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
        "SELECT model, channel, round(sum(credit_value), 2) AS value FROM "
        "attribution_credits_latest GROUP BY model, channel "
        "ORDER BY model, value DESC LIMIT 3 BY model"
    ).result_rows
    lines += _section(
        "top channels per attribution model (credited value):", top, "{:<16} {:<10} {}"
    )
    social = client.query(
        "SELECT countIf(path[1] NOT IN ('offline', 'referral', 'email', 'direct')), count() "
        "FROM opportunity_chains_latest WHERE touch_count > 0"
    ).result_rows
    if social and social[0][1]:
        share = social[0][0] / social[0][1]
        lines.append(f"opportunities with a social first touch: {share:.1%} of {social[0][1]}")
    return lines
