"""Chains on the embedded stack match the generator's truth, across a restart."""

from __future__ import annotations

from typing import Any

import pytest

from oppchain.generator import generate
from oppchain.settings import Settings
from tests.integration.harness import produce, run_until, scalar

pytestmark = pytest.mark.integration


def _chains(client: Any) -> dict[str, tuple[list[str], str]]:
    rows = client.query(
        "SELECT opportunity_id, path, status FROM opportunity_chains_latest"
    ).result_rows
    return {r[0]: (list(r[1]), r[2]) for r in rows}


def test_chains_match_truth_across_a_restart(settings: Settings, clickhouse: Any) -> None:
    world = generate(11, 730, events=16000, bad_fraction=0.005)
    truth = world.truth["opportunities"]
    assert len(truth) >= 20
    half = len(world.events) // 2
    bad_first = sum(1 for b in world.truth["bad"] if b["line"] < half)
    # First half, then the worker stops; a new worker rebuilds state from
    # ClickHouse and processes the second half.
    produce(settings, world.events[:half])
    run_until(settings, half)
    produce(settings, world.events[half:])
    pipeline = run_until(settings, len(world.events) - half)
    assert pipeline.counters.duplicates_dropped == 0
    assert bad_first > 0

    chains = _chains(clickhouse)
    assert set(chains) == set(truth)
    wrong = {
        opp: (chains[opp][0], facts["channels"])
        for opp, facts in truth.items()
        if chains[opp][0] != facts["channels"] or chains[opp][1] != facts["status"]
    }
    assert not wrong, list(wrong.items())[:3]
    # Credits of the latest versions sum to each chain's value, per model.
    off = scalar(
        clickhouse,
        "SELECT count() FROM (SELECT c.opportunity_id, c.model, sum(c.credit_value) AS s, "
        "any(o.value) AS v FROM attribution_credits_latest AS c INNER JOIN "
        "opportunity_chains_latest AS o USING (workspace, opportunity_id) "
        "GROUP BY c.opportunity_id, c.model HAVING abs(s - v) > 0.01)",
    )
    assert off == 0
    # Every model's credits are there for every chain version written (once: a
    # flag change rewrites a version's authentic sets, and the last one stays).
    versions = scalar(
        clickhouse,
        "SELECT count() FROM (SELECT DISTINCT opportunity_id, version "
        "FROM opportunity_chains WHERE touch_count > 0)",
    )
    sets = scalar(clickhouse, "SELECT count() FROM attribution_credit_sets FINAL")
    assert sets == versions * 18
    # relationships_daily is filled inside ClickHouse: each person's latest row is
    # there with its day, and nothing else is.
    missing = scalar(
        clickhouse,
        "SELECT count() FROM relationships AS r FINAL LEFT ANTI JOIN relationships_daily AS d "
        "ON r.workspace = d.workspace AND r.person_id = d.person_id AND r.as_of = d.as_of "
        "AND d.day = toDate(r.as_of) AND r.score = d.score",
    )
    assert missing == 0 and scalar(clickhouse, "SELECT count() FROM relationships") > 0
    assert scalar(
        clickhouse, "SELECT uniqExact(workspace, person_id) FROM relationships_daily"
    ) == scalar(clickhouse, "SELECT uniqExact(workspace, person_id) FROM relationships")
    # computed_at is when the version was computed (processing time), never unset.
    assert (
        scalar(clickhouse, "SELECT countIf(computed_at < now() - 3600) FROM opportunity_chains")
        == 0
    )
    assert (
        scalar(
            clickhouse, "SELECT countIf(computed_at < now() - 3600) FROM attribution_credit_sets"
        )
        == 0
    )
