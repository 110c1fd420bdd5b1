"""Data-driven attribution runs: paths from state, removal effects to ClickHouse."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from oppchain.settings import Settings
from sinks.writer import ClickHouseSink
from streams.domain.markov import Path, markov_attribution
from streams.processor import Processor
from streams.store import replay


def markov_rows(
    paths_by_workspace: dict[str, list[Path]], order: int, run_at: datetime | None = None
) -> list[dict[str, Any]]:
    run_at = run_at or datetime.now(UTC)
    run_id = uuid.uuid4().hex
    rows: list[dict[str, Any]] = []
    for workspace, paths in sorted(paths_by_workspace.items()):
        if not paths:
            continue
        credits = markov_attribution(paths, order)
        converting = sum(1 for p in paths if p.conversions > 0)
        for channel, credit in sorted(credits.items()):
            rows.append(
                {
                    "run_id": run_id,
                    "run_at": run_at,
                    "workspace": workspace,
                    "model": f"markov_order_{order}",
                    "channel": channel,
                    "removal_effect": credit.removal_effect,
                    "share": credit.share,
                    "conversions": credit.conversions,
                    "credit_value": credit.value,
                    "credit_currencies": list(credit.value_by_currency),
                    "credit_values": list(credit.value_by_currency.values()),
                    "paths_total": len(paths),
                    "paths_converting": converting,
                }
            )
    return rows


def run_markov(
    settings: Settings, sink: ClickHouseSink, paths_by_workspace: dict[str, list[Path]]
) -> int:
    rows = markov_rows(paths_by_workspace, settings.markov_order)
    if rows:
        sink.write({"channel_attribution": rows})
    return len(rows)


def run_markov_from_sql(settings: Settings, sink: ClickHouseSink) -> int:
    """Rebuild every workspace's state from the stored events, then run."""
    processor = Processor(settings)
    replay(processor, sink.query)
    return run_markov(settings, sink, processor.markov_paths())
