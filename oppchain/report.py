"""``oppchain report``: the dashboards' panels, run on ClickHouse, as one HTML file.

The embedded default has no Grafana; this renders the same panel definitions
(``dashboards.main.all_dashboards``), with their macros and variables expanded
as Grafana would ("All" everywhere, the default model), over the whole range
of the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dashboards.expand import TimeRange, defaults, expand
from dashboards.html import Result, page
from dashboards.main import all_dashboards
from dashboards.model import Dashboard
from oppchain.settings import Settings

Section = tuple[Dashboard, list[Result]]


def data_range(client: Any, now: datetime | None = None) -> TimeRange:
    """From the first event's day to now (pipeline panels read processing time)."""
    now = now or datetime.now(UTC)
    first = client.query("SELECT min(occurred_at) FROM touchpoints").result_rows[0][0]
    if not isinstance(first, datetime) or first.year < 2000:
        first = now - timedelta(days=730)
    first = first.replace(tzinfo=UTC) if first.tzinfo is None else first
    start = first.replace(hour=0, minute=0, second=0, microsecond=0)
    return TimeRange(start, max(now, start + timedelta(days=1)) + timedelta(minutes=1))


def _utc(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def run_dashboard(client: Any, dashboard: Dashboard, time_range: TimeRange) -> list[Result]:
    chosen = defaults(dashboard.variables)
    results = []
    for panel in dashboard.panels():
        title = expand(panel.title, time_range, dashboard.variables, chosen)
        sql = expand(panel.sql, time_range, dashboard.variables, chosen)
        try:
            answer = client.query(sql)
        except Exception as exc:
            message = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else repr(exc)
            results.append(Result(panel, title, (), (), error=message))
            continue
        rows = tuple(tuple(_utc(v) for v in row) for row in answer.result_rows)
        results.append(Result(panel, title, tuple(answer.column_names), rows))
    return results


def run_all(
    client: Any, time_range: TimeRange, dashboards: Sequence[Dashboard] | None = None
) -> list[Section]:
    return [(d, run_dashboard(client, d, time_range)) for d in dashboards or all_dashboards()]


def render_report(client: Any, time_range: TimeRange | None = None) -> str:
    time_range = time_range or data_range(client)
    sections = run_all(client, time_range)
    subtitle = (
        f"{time_range.start:%Y-%m-%d} to {time_range.end:%Y-%m-%d %H:%M} UTC · "
        "all workspaces, platforms and campaigns · attribution model: linear"
    )
    return page("oppchain report", subtitle, sections)


def write_report(client: Any, path: Path) -> Path:
    """Render the report from ``client`` into ``path``; ``oppchain demo`` calls this."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(client), encoding="utf-8")
    return path


def cmd_report(settings: Settings, out: Path) -> int:
    from oppchain.cli_context import open_database

    dsn = settings.resolved_dsn()
    demo = settings.data_dir / "demo" / "clickhouse"
    if (
        not settings.clickhouse_dsn
        and not (settings.data_dir / "clickhouse").exists()
        and demo.exists()
    ):
        dsn = f"chdb://{demo.resolve()}"  # what 'oppchain demo' left behind
    client = open_database(dsn, migrated=True)
    path = write_report(client, out)
    print(f"report written to {path.resolve()}")
    return 0
