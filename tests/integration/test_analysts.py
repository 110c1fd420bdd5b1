"""Every query of docs/analysts.md runs on a generated world; truth checks where known."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from oppchain.generator import generate
from oppchain.settings import Settings
from oppchain.summary import social_roi
from sinks.writer import ClickHouseSink
from streams.ingest import Record
from streams.markov_job import run_markov
from streams.processor import Processor

pytestmark = pytest.mark.integration

COOKBOOK = Path(__file__).resolve().parents[2] / "docs" / "analysts.md"
_QUESTION = re.compile(r"^### (\d+)\. (.+?)\n+```sql\n(.*?)```", re.M | re.S)


def cookbook() -> list[tuple[int, str, str]]:
    return [(int(n), q, sql) for n, q, sql in _QUESTION.findall(COOKBOOK.read_text())]


def test_cookbook_has_at_least_twelve_questions() -> None:
    numbers = [n for n, _, _ in cookbook()]
    assert len(numbers) >= 12 and numbers == list(range(1, len(numbers) + 1))


def _load(client: Any) -> Any:
    world = generate(11, days=730, events=60_000)
    processor = Processor(Settings())
    sink = ClickHouseSink(lambda: client)
    records = [Record("oppchain.social", 0, i, None, line) for i, line in enumerate(world.events)]
    for i in range(0, len(records), 5000):
        sink.write(processor.process(records[i : i + 5000]).rows)
    run_markov(Settings(), sink, processor.markov_paths())
    return world


def _within(found: float, expected: float, rel: float) -> bool:
    return abs(found - expected) <= rel * abs(expected)


def test_every_cookbook_query_runs_and_agrees_with_truth(clickhouse: Any) -> None:
    world = _load(clickhouse)
    truth = world.truth
    answers: dict[int, list[tuple[Any, ...]]] = {}
    for number, question, sql in cookbook():
        answers[number] = clickhouse.query(sql).result_rows
        assert answers[number] or number in (3, 15), f"{number}. {question}: no rows"

    opps = Counter((o["workspace"], o["kind"]) for o in truth["opportunities"].values())
    by_kind: Counter[tuple[str, str]] = Counter()
    for ws, kind, _currency, n, *_ in answers[1]:
        by_kind[ws, kind] += n
    assert by_kind == opps

    for ws, gives, asks, explicit_gives, explicit_asks, _ in answers[4]:
        assert explicit_gives == truth["gives"][ws]["explicit"]
        assert explicit_asks == truth["asks"][ws]["explicit"]
        assert gives >= explicit_gives and asks >= explicit_asks

    found = {(ws, own, m) for ws, own, m in answers[6]}
    rings = {
        (ws, g["own_account"], m)
        for ws, gs in truth["rings"].items()
        for g in gs
        for m in g["members"]
    }
    assert len(found & rings) >= 0.9 * len(found) and len(found & rings) >= 0.9 * len(rings)

    broadcast = {(ws, own) for ws, own, _ in answers[8]}
    assert broadcast == {(ws, k) for ws, ks in truth["broadcast_only_accounts"].items() for k in ks}

    assert all(0 < share < 0.5 for *_, share in answers[9])

    [(one_in_n,)] = answers[13]
    assert _within(one_in_n, truth["conversion_one_in"], 0.1)

    ltv = {(a, c): (v, n) for a, c, v, n in answers[16]}
    for account, rev in truth["revenue"].items():
        value, events = ltv[account, rev["currency"]]
        assert value == pytest.approx(rev["amount"], abs=0.02) and events == rev["events"]

    assert {ws: cost for ws, cost in answers[17]} == pytest.approx(
        {ws: c["total"] for ws, c in truth["cost"].items()}, abs=0.05
    )

    raw = clickhouse.query("SELECT count() FROM touchpoints").result_rows[0][0]
    rolled = clickhouse.query("SELECT sum(touches) FROM touchpoints_daily").result_rows[0][0]
    assert rolled == raw

    won = sum(1 for o in truth["opportunities"].values() if o["status"] == "won")
    assert sum(row[2] for row in answers[15]) == won

    # Each workspace's run splits its value over channels by their shares, in every
    # currency it won in (the generator's workspaces win in several).
    won_in = {(o["workspace"], o["currency"]) for o in truth["opportunities"].values()}
    by_currency: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for ws, _channel, share, _conversions, currency, value in answers[21]:
        by_currency.setdefault((ws, currency), []).append((share, value))
    assert set(by_currency) <= won_in and len({c for _, c in by_currency}) > 1
    for key, rows in by_currency.items():
        assert sum(share for share, _ in rows) == pytest.approx(1.0, abs=1e-3), key
        total = sum(value for _, value in rows)
        for share, value in rows:  # shares are shown to 4 decimals
            assert value == pytest.approx(share * total, abs=1e-4 * total), key

    report = "\n".join(social_roi(clickhouse))
    print(report)
    for line in (
        "opportunities by kind",
        "top relationships",
        "give/ask",
        "rings and pods",
        "1 in",
    ):
        assert line in report
