"""Reconciliation: every message on the topics is stored, dead-lettered, a duplicate or
erased; a lost one shows as a gap and a non-zero exit."""

from __future__ import annotations

from typing import Any

import pytest

from oppchain.check import check, run_check
from oppchain.erase import erase
from oppchain.generator import generate
from oppchain.settings import Settings
from sinks.tables.privacy import TABLES as PRIVACY_TABLES
from tests.integration.harness import produce, run_until

pytestmark = pytest.mark.integration


def test_check_accounts_for_every_message(
    settings: Settings, clickhouse: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    for table in PRIVACY_TABLES:
        clickhouse.command(table.create_sql())
    world = generate(5, 365, events=2000, bad_fraction=0.02)
    bad = world.truth["counts"]["bad"]
    sent = produce(settings, world.events)
    run_until(settings, sent)

    def query(sql: str) -> Any:
        return clickhouse.query(sql).result_rows

    results = check(query, settings.brokers, settings.input_topics)
    assert [r.topic for r in results] == settings.input_topics
    assert all(r.ok and r.extra == 0 for r in results)
    assert sum(r.messages for r in results) == sent
    assert sum(r.stored for r in results) == sent - bad
    assert sum(r.dead_lettered for r in results) == bad
    assert run_check(settings, settings.brokers) == 0
    assert "ok: every message accounted for" in capsys.readouterr().out

    # Erased events are accounted for, not reported lost.
    workspace, person = query(
        "SELECT workspace, person_id FROM touchpoints WHERE person_id != '' "
        "GROUP BY workspace, person_id ORDER BY count() DESC, person_id LIMIT 1"
    )[0]
    report = erase(clickhouse, settings.secret_bytes(), workspace, person)
    assert report.events > 0
    results = check(query, settings.brokers, settings.input_topics)
    assert all(r.ok for r in results)
    assert sum(r.erased for r in results) == report.events
    assert sum(r.stored for r in results) == sent - bad - report.events

    # Rows lost behind the pipeline's back: a gap, with where to look, and exit 1.
    lost = query(
        "SELECT event_id, source_topic, source_partition, source_offset FROM touchpoints "
        "ORDER BY event_id LIMIT 3"
    )
    ids = ", ".join(f"'{r[0]}'" for r in lost)
    clickhouse.command(
        f"ALTER TABLE touchpoints DELETE WHERE event_id IN ({ids}) SETTINGS mutations_sync = 2"
    )
    results = check(query, settings.brokers, settings.input_topics)
    assert sum(r.gap for r in results) == 3
    gaps = {f"{r.topic}:{m}" for r in results for m in r.missing_sample}
    assert gaps == {f"{t}:{p}/{o}" for _, t, p, o in lost}
    assert run_check(settings, settings.brokers) == 1
    assert "3 messages unaccounted" in capsys.readouterr().out
