"""Invariants of every rule-based model, over generated chains."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.domain.attribution import MODELS, Milestones, apply_weights, credit_rows, fractions
from streams.domain.config import DEFAULT_MODELS
from streams.domain.touches import Touch

DAY = 86400
times = st.lists(st.integers(0, 400 * DAY), min_size=0, max_size=40).map(sorted)
moment = st.none() | st.integers(0, 400 * DAY)


@settings(max_examples=300, deadline=None)
@given(ats=times, lc=moment, oc=moment, cw=moment, conv=moment, half_life=st.floats(0.1, 90))
def test_fractions_sum_to_one_and_are_not_negative(
    ats: list[int],
    lc: int | None,
    oc: int | None,
    cw: int | None,
    conv: int | None,
    half_life: float,
) -> None:
    m = Milestones(lc, oc, cw, conv)
    for model in MODELS:
        shares = fractions(model, ats, m, half_life_days=half_life)
        assert len(shares) == len(ats)
        assert all(s >= 0 for s in shares)
        if ats:
            assert sum(shares) == pytest.approx(1.0, abs=1e-9), model


@settings(max_examples=200, deadline=None)
@given(
    ats=times.filter(bool),
    value=st.floats(0, 1e12, allow_nan=False),
    weights=st.data(),
)
def test_credit_values_sum_to_the_value(
    ats: list[int], value: float, weights: st.DataObject
) -> None:
    touches = [
        Touch(at, f"e{i}", "x", None, "like", "inbound", None, None) for i, at in enumerate(ats)
    ]
    row = {
        "workspace": "w",
        "opportunity_id": "o",
        "value": value,
        "currency": "EUR",
        "version": 3,
        "lead_created_at": None,
        "opportunity_created_at": None,
        "closed_at": None,
    }
    rows = credit_rows(row, touches, DEFAULT_MODELS)
    for model in DEFAULT_MODELS:
        total = sum(r["credit_value"] for r in rows if r["model"] == model)
        assert total == pytest.approx(value, rel=1e-9, abs=1e-6)
    assert all(r["credit_value"] >= 0 for r in rows)
    w = weights.draw(st.lists(st.floats(0, 1), min_size=len(ats), max_size=len(ats)))
    weighted = credit_rows(row, touches, DEFAULT_MODELS, weights=w)
    for model in DEFAULT_MODELS:
        model_rows = [r for r in weighted if r["model"] == model]
        total = sum(r["credit_value"] for r in model_rows)
        assert total == pytest.approx(value, rel=1e-9, abs=1e-6) or not model_rows


def test_empty_chain_gets_no_credit() -> None:
    for model in MODELS:
        assert fractions(model, []) == []
    row = {"workspace": "w", "opportunity_id": "o", "value": 10.0, "currency": "USD", "version": 1}
    assert credit_rows(row, [], DEFAULT_MODELS) == []


def test_weights_discount_and_renormalise() -> None:
    assert apply_weights([0.5, 0.5], [1.0, 0.0]) == [1.0, 0.0]
    assert apply_weights([0.25, 0.75], [0.5, 0.5]) == pytest.approx([0.25, 0.75])
    assert apply_weights([0.5, 0.5], [0.0, 0.0]) == [0.0, 0.0]
    with pytest.raises(ValueError):
        apply_weights([1.0], [1.0, 1.0])


def test_time_decay_halves_weight_per_half_life() -> None:
    shares = fractions("time_decay", [0, 7 * DAY], Milestones(conversion_at=7 * DAY))
    assert shares == pytest.approx([1 / 3, 2 / 3])
    shares = fractions(
        "time_decay", [0, 7 * DAY], Milestones(conversion_at=7 * DAY), half_life_days=3.5
    )
    assert shares == pytest.approx([0.2, 0.8])


def test_short_chains_are_defined() -> None:
    m = Milestones()
    for model in MODELS:
        assert fractions(model, [5], m) == [1.0]
    assert fractions("position_based", [1, 2]) == [0.5, 0.5]
    assert fractions("j_shaped", [1, 2]) == pytest.approx([0.25, 0.75])
    assert fractions("inverse_j", [1, 2]) == pytest.approx([0.75, 0.25])
