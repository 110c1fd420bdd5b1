"""Every panel's SQL, expanded as Grafana would, runs on ClickHouse with generator data.

Each panel must return the columns its type needs (a stat one row, a time series a
``time`` column and a number, a bar chart a category and a number), non-empty,
with "All" selected everywhere; specific variable values must run too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import oppchain.generator
from dashboards.expand import TimeRange, defaults, expand
from dashboards.html import Result, bar_shape, stat_value, timeseries_shape
from dashboards.main import all_dashboards
from oppchain.settings import Settings
from sinks.migrations import table
from sinks.writer import ClickHouseSink
from streams.ingest import Record
from streams.markov_job import markov_rows
from streams.processor import Processor

pytestmark = pytest.mark.integration

CHUNK = 5000


def load_world(client: Any, events: int = 20000) -> None:
    """Generator data through the real batch processor and sink, without Kafka."""
    world = oppchain.generator.generate(5, 730, events=events, bad_fraction=0.01)
    records = [Record("oppchain.social", 0, i, None, line) for i, line in enumerate(world.events)]
    processor = Processor(Settings())
    sink = ClickHouseSink(lambda: client)
    for start in range(0, len(records), CHUNK):
        sink.write(processor.process(records[start : start + CHUNK]).rows)
    rows = markov_rows(processor.markov_paths(), Settings().markov_order)
    client.insert_arrow("channel_attribution", table("channel_attribution").to_arrow(rows))


def whole_range() -> TimeRange:
    return TimeRange(datetime(2023, 1, 1, tzinfo=UTC), datetime.now(UTC) + timedelta(hours=1))


def check_shape(result: Result) -> None:
    kind = result.panel.kind
    if kind == "stat":
        assert stat_value(result) is not None
    elif kind == "timeseries":
        assert timeseries_shape(result)
    elif kind == "barchart":
        categories, series = bar_shape(result)
        assert categories and series
    else:
        assert result.columns and result.rows


def test_every_panel_runs_and_returns_what_its_type_needs(clickhouse: Any) -> None:
    load_world(clickhouse)
    time_range = whole_range()
    problems: list[str] = []
    checked = 0
    for dashboard in all_dashboards():
        chosen = defaults(dashboard.variables)
        for variable in dashboard.variables:
            sql = expand(variable.query.sql(), time_range, dashboard.variables, chosen)
            values = clickhouse.query(sql).result_rows
            if not values:
                problems.append(f"{dashboard.uid} ${variable.name}: no values")
        for panel in dashboard.panels():
            sql = expand(panel.sql, time_range, dashboard.variables, chosen)
            try:
                answer = clickhouse.query(sql)
                result = Result(
                    panel,
                    panel.title,
                    tuple(answer.column_names),
                    tuple(tuple(r) for r in answer.result_rows),
                )
                check_shape(result)
                checked += 1
            except Exception as exc:
                problems.append(f"{dashboard.uid} / {panel.title}: {str(exc)[:300]}")
    assert not problems, "\n".join(problems)
    assert checked == sum(len(d.panels()) for d in all_dashboards())


def test_panels_run_with_chosen_variable_values(clickhouse: Any) -> None:
    load_world(clickhouse, events=5000)
    time_range = TimeRange(datetime(2024, 6, 1, tzinfo=UTC), datetime.now(UTC))
    chosen: dict[str, list[str] | None] = {
        "workspace": ["acme", "globex"],
        "platform": ["linkedin"],
        "campaign": None,
        "model": ["time_decay"],
    }
    non_empty = 0
    for dashboard in all_dashboards():
        for panel in dashboard.panels():
            sql = expand(panel.sql, time_range, dashboard.variables, chosen)
            rows = clickhouse.query(sql).result_rows
            non_empty += bool(rows)
    assert non_empty > 30


# Exact values on a few hand-made rows, in a range that starts at noon on 1 March 2024.
START = datetime(2024, 3, 1, 12, tzinfo=UTC)
SMALL_RANGE = TimeRange(START, datetime(2024, 3, 10, tzinfo=UTC))


def panel_rows(
    client: Any, uid: str, title: str, **chosen: list[str] | None
) -> list[tuple[Any, ...]]:
    """Rows of one panel's SQL as Grafana would send it ("All" unless ``chosen``)."""
    dashboard = next(d for d in all_dashboards() if d.uid == uid)
    panel = next(p for p in dashboard.panels() if p.title == title)
    sql = expand(
        panel.sql, SMALL_RANGE, dashboard.variables, defaults(dashboard.variables) | chosen
    )
    return [tuple(r) for r in client.query(sql).result_rows]


def one(client: Any, uid: str, title: str, **chosen: list[str] | None) -> Any:
    ((value,),) = panel_rows(client, uid, title, **chosen)
    return value


def series_totals(rows: list[tuple[Any, ...]]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for _, series, value in rows:
        totals[series] = round(totals.get(series, 0) + value, 6)
    return totals


def insert(client: Any, table_name: str, columns: str, *rows: str) -> None:
    client.command(f"INSERT INTO {table_name} ({columns}) VALUES " + ", ".join(rows))


CRM = (
    "workspace, event_id, event_type, occurred_at, amount, currency, platform, campaign, "
    "ingested_at"
)


def crm_batch(ingested_at: str) -> tuple[str, ...]:
    """A CRM batch; stored twice it differs only in ingested_at (a rebalance window)."""
    return (
        f"('acme', 'cost-1', 'cost_recorded', '2024-03-02 10:00:00', 100, 'USD', 'linkedin', "
        f"'spring', '{ingested_at}')",
        f"('acme', 'rev-1', 'revenue_recorded', '2024-03-04 10:00:00', 250, 'USD', '', '', "
        f"'{ingested_at}')",
        f"('acme', 'won-1', 'contract_signed', '2024-03-05 10:00:00', 500, 'USD', '', '', "
        f"'{ingested_at}')",
    )


def load_money(client: Any) -> None:
    """Two costs (one of them stored twice), revenue stored twice, and chains: won ones
    credited to a spring (linkedin) and an autumn (x) touch, one won without touches,
    one lost and one open."""
    client.command("SYSTEM STOP MERGES crm_events")
    insert(client, "crm_events", CRM, *crm_batch("2024-03-05 11:00:00"))
    insert(client, "crm_events", CRM, *crm_batch("2024-03-05 11:05:00"))
    insert(
        client,
        "crm_events",
        CRM,
        "('acme', 'cost-2', 'cost_recorded', '2024-03-03 10:00:00', 50, 'USD', 'x', 'autumn', "
        "'2024-03-05 11:00:00')",
        "('acme', 'cost-3', 'cost_recorded', '2024-03-03 11:00:00', 7000, 'EUR', 'x', 'autumn', "
        "'2024-03-05 11:00:00')",
    )
    stored = client.query("SELECT count() FROM crm_events WHERE event_id = 'cost-1'")
    assert stored.result_rows == [(2,)], "the batch must be stored twice, unmerged"
    chains = (
        # id, status, value, currency, closed_at, touch_count, path
        ("opp-1", "won", 500, "USD", "'2024-03-05 10:00:00'", 1, "['linkedin']"),
        ("opp-2", "won", 300, "USD", "'2024-03-06 10:00:00'", 1, "['x']"),
        ("opp-3", "won", 70, "USD", "'2024-03-07 10:00:00'", 0, "[]"),
        ("opp-4", "lost", 1000, "USD", "'2024-03-07 10:00:00'", 1, "['linkedin']"),
        ("opp-5", "open", 40, "USD", "NULL", 1, "['x']"),
        ("opp-6", "won", 9000, "EUR", "'2024-03-06 12:00:00'", 1, "['x']"),
    )
    insert(
        client,
        "opportunity_chains",
        "workspace, opportunity_id, person_id, kind, value, currency, status, "
        "opportunity_created_at, closed_at, path, touch_count, version, computed_at",
        *(
            f"('acme', '{oid}', 'p-{oid}', 'monetary', {value}, '{currency}', '{status}', "
            f"'2024-03-02 00:00:00', {closed}, {path}, {touches}, 1, '2024-03-08 00:00:00')"
            for oid, status, value, currency, closed, touches, path in chains
        ),
    )
    credited = (
        ("opp-1", 500, "USD", "linkedin", "spring"),
        ("opp-2", 300, "USD", "x", "autumn"),
        ("opp-4", 1000, "USD", "linkedin", "spring"),
        ("opp-5", 40, "USD", "x", "autumn"),
        ("opp-6", 9000, "EUR", "x", "autumn"),
    )
    insert(
        client,
        "attribution_credit_sets",
        "workspace, opportunity_id, model, version, value, currency, touch_event_ids, "
        "touch_times, channels, campaigns, credit_fractions",
        *(
            f"('acme', '{oid}', 'linear', 1, {value}, '{currency}', ['t-{oid}'], "
            f"['2024-03-01 13:00:00'], ['{channel}'], ['{campaign}'], [1.0])"
            for oid, value, currency, channel, campaign in credited
        ),
    )


def test_money_panels_count_a_crm_event_stored_twice_once(clickhouse: Any) -> None:
    load_money(clickhouse)
    roi = "oppchain-roi"
    assert one(clickhouse, roi, "Cost (${currency})") == 150
    assert one(clickhouse, roi, "Revenue recorded (${currency})") == 250
    assert one(clickhouse, roi, "Won value (${currency})") == 870
    assert one(clickhouse, roi, "ROI") == pytest.approx((870 - 150) / 150)
    assert sorted(panel_rows(clickhouse, roi, "Cost by platform (${currency})")) == [
        ("linkedin", 100),
        ("x", 50),
    ]
    assert series_totals(panel_rows(clickhouse, roi, "Won value vs cost (${currency})")) == {
        "cost": 150,
        "won value": 870,
    }
    assert sorted(panel_rows(clickhouse, roi, "ROI by campaign (${model}, ${currency})")) == [
        ("autumn", 50, 300, 5.0),
        ("spring", 100, 500, 4.0),
    ]


def test_roi_filters_won_value_and_cost_alike(clickhouse: Any) -> None:
    """One campaign (or platform): its cost against the won value credited to it."""
    load_money(clickhouse)
    roi = "oppchain-roi"
    assert one(clickhouse, roi, "ROI", campaign=["spring"]) == pytest.approx((500 - 100) / 100)
    assert one(clickhouse, roi, "ROI", platform=["x"]) == pytest.approx((300 - 50) / 50)
    assert one(clickhouse, roi, "ROI", campaign=["spring"], platform=["x"]) is None
    vs_cost = "Won value vs cost (${currency})"
    assert series_totals(panel_rows(clickhouse, roi, vs_cost, campaign=["spring"])) == {
        "cost": 100,
        "won value": 500,
    }
    by_campaign = "ROI by campaign (${model}, ${currency})"
    assert panel_rows(clickhouse, roi, by_campaign, campaign=["autumn"]) == [
        ("autumn", 50, 300, 5.0)
    ]
    # Euros on their own: the won deal against the cost spent in euros.
    assert one(clickhouse, roi, "Won value (${currency})", currency=["EUR"]) == 9000
    assert one(clickhouse, roi, "ROI", currency=["EUR"]) == pytest.approx((9000 - 7000) / 7000)


def test_credited_value_over_time_leaves_lost_chains_out(clickhouse: Any) -> None:
    load_money(clickhouse)
    rows = panel_rows(
        clickhouse,
        "oppchain-attribution",
        "Credited value over time by channel (${model}, ${currency})",
    )
    assert series_totals(rows) == {"linkedin": 500, "x": 340}  # won and open; not opp-4


TOUCH = (
    "workspace, event_id, event_type, occurred_at, platform, channel, direction, action, "
    "intent, person_id, ingested_at"
)


def test_rollup_panels_count_the_first_day_of_the_range(clickhouse: Any) -> None:
    """Touches in the morning of the range's first day (it starts at noon) count; the
    day before does not."""

    def touch(n: int, at: str, direction: str, action: str, intent: str) -> str:
        return (
            f"('acme', 't{n}', 'social_interaction', '{at}', 'x', 'x', '{direction}', "
            f"'{action}', '{intent}', 'p{n}', '{at}')"
        )

    insert(
        clickhouse,
        "touchpoints",
        TOUCH,
        touch(1, "2024-03-01 08:00:00", "outbound", "recommend", "give"),
        touch(2, "2024-03-01 09:00:00", "inbound", "like", "neutral"),
        touch(3, "2024-03-01 10:00:00", "inbound", "follow", "neutral"),
        touch(4, "2024-02-29 23:00:00", "outbound", "recommend", "give"),
        touch(5, "2024-02-29 23:30:00", "inbound", "like", "neutral"),
    )
    rel, auth = "oppchain-relationships", "oppchain-authenticity"
    assert one(clickhouse, rel, "Recommendations given") == 1
    assert one(clickhouse, rel, "Gives") == 1
    assert series_totals(panel_rows(clickhouse, rel, "Gives and asks")) == {"give": 1}
    assert sorted(panel_rows(clickhouse, auth, "Inbound engagement by action")) == [
        ("follow", 1),
        ("like", 1),
    ]
    growth = series_totals(panel_rows(clickhouse, auth, "Follower growth vs opportunities"))
    assert growth == {"net new followers": 1}


def test_dead_letter_panels_follow_the_workspace(clickhouse: Any) -> None:
    """A workspace's dead letters against its touchpoints and CRM events; unreadable
    ones (no workspace) only with "All"."""
    at = "2024-03-02 10:00:00"
    insert(
        clickhouse,
        "dead_letters",
        "dead_at, reason, source_topic, source_partition, source_offset, workspace",
        f"('{at}', 'invalid', 'oppchain.crm', 0, 1, 'acme')",
        f"('{at}', 'malformed_json', 'oppchain.social', 0, 2, '')",
        f"('{at}', 'invalid', 'oppchain.social', 0, 3, 'globex')",
    )
    insert(
        clickhouse,
        "touchpoints",
        "workspace, event_id, event_type, occurred_at, ingested_at",
        f"('acme', 't1', 'social_interaction', '{at}', '{at}')",
        f"('acme', 't2', 'social_interaction', '{at}', '{at}')",
        f"('globex', 't3', 'social_interaction', '{at}', '{at}')",
    )
    insert(
        clickhouse,
        "crm_events",
        "workspace, event_id, event_type, occurred_at, ingested_at",
        f"('acme', 'c1', 'lead_created', '{at}', '{at}')",
    )
    pipe, acme = "oppchain-pipeline", {"workspace": ["acme"]}
    assert panel_rows(clickhouse, pipe, "Dead letters by reason", **acme) == [("invalid", 1)]
    assert one(clickhouse, pipe, "Dead-letter share", **acme) == pytest.approx(1 / (1 + 2 + 1))
    assert len(panel_rows(clickhouse, pipe, "Latest dead letters", **acme)) == 1
    stored = series_totals(panel_rows(clickhouse, pipe, "Events stored per interval", **acme))
    assert stored == {"crm_events": 1, "dead_letters": 1, "touchpoints": 2}
    assert sorted(panel_rows(clickhouse, pipe, "Dead letters by reason")) == [
        ("invalid", 2),
        ("malformed_json", 1),
    ]
    assert one(clickhouse, pipe, "Dead-letter share") == pytest.approx(3 / (3 + 3 + 1))
    assert len(panel_rows(clickhouse, pipe, "Latest dead letters")) == 3
