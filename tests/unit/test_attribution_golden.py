"""Rule-based models against hand-worked chains kept as CSV files."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest

from streams.domain.attribution import credit_rows
from streams.domain.config import DEFAULT_MODELS
from streams.domain.touches import Touch

DATA = Path(__file__).parent.parent / "data" / "attribution"


def _read(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="") as f:
        return list(csv.DictReader(f))


def _epoch(text: str) -> int | None:
    return int(datetime.fromisoformat(text).timestamp()) if text else None


def _at(text: str) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


CHAINS = {row["chain_id"]: row for row in _read("chains.csv")}
TOUCHES: dict[str, list[Touch]] = defaultdict(list)
for _row in _read("touches.csv"):
    at = _epoch(_row["touched_at"])
    assert at is not None
    TOUCHES[_row["chain_id"]].append(
        Touch(
            at,
            f"{_row['chain_id']}-{_row['touch_index']}",
            _row["channel"],
            _row["campaign"] or None,
            "like",
            "inbound",
            None,
            None,
        )
    )
EXPECTED: dict[str, dict[tuple[str, int], tuple[float, float]]] = defaultdict(dict)
for _row in _read("expected_credits.csv"):
    EXPECTED[_row["chain_id"]][(_row["model"], int(_row["touch_index"]))] = (
        float(_row["credit_fraction"]),
        float(_row["credit_value"]),
    )


def _credits(chain_id: str) -> list[dict[str, object]]:
    c = CHAINS[chain_id]
    row = {
        "workspace": "golden",
        "opportunity_id": chain_id,
        "value": float(c["value"]),
        "currency": c["currency"],
        "lead_created_at": _at(c["lead_created_at"]),
        "opportunity_created_at": _at(c["opportunity_created_at"]),
        "closed_at": _at(c["closed_at"]),
        "version": 1,
    }
    return credit_rows(
        row,
        TOUCHES[chain_id],
        DEFAULT_MODELS,
        half_life_days=float(c["half_life_days"]),
        conversion_at=_epoch(c["conversion_at"]),
    )


@pytest.mark.parametrize("chain_id", sorted(CHAINS))
def test_golden_credits(chain_id: str) -> None:
    got = {(r["model"], r["touch_index"]): r for r in _credits(chain_id)}
    expected = EXPECTED[chain_id]
    assert set(got) == set(expected)
    for key, (fraction, value) in expected.items():
        assert round(float(got[key]["credit_value"]), 2) == pytest.approx(value, abs=0.006), key
        assert float(got[key]["credit_fraction"]) == pytest.approx(fraction, abs=6e-5), key


def test_golden_covers_every_model_and_chain_length() -> None:
    lengths = {len(TOUCHES[c]) for c in CHAINS}
    assert {0, 1, 2, 3} <= lengths and max(lengths) >= 5
    models = {m for exp in EXPECTED.values() for m, _ in exp}
    assert models == set(DEFAULT_MODELS)


def test_credit_rows_carry_chain_and_touch_columns() -> None:
    rows = [r for r in _credits("D") if r["model"] == "w_shaped"]
    assert [r["touch_index"] for r in rows] == [0, 1, 2, 3, 4]
    first = rows[0]
    assert first["touch_event_id"] == "D-0" and first["channel"] == "x"
    assert first["campaign"] == "a" and first["currency"] == "USD" and first["version"] == 1
    assert first["touched_at"] == datetime.fromisoformat("2024-01-01T00:00:00Z")
