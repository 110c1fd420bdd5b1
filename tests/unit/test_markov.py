"""Markov removal effect: a hand-checked example and general invariants."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.domain.markov import (
    START,
    Path,
    conversion_probability,
    markov_attribution,
    transition_probabilities,
)

# The classic three-channel example: c1 > c2 > c3 converts, c1 and c2 > c3 do not.
# P(conv) = 2/3*1/2*1*1/2 + 1/3*1*1/2 = 1/3. Without c1: 1/3*1/2 = 1/6, effect 1/2;
# without c2 or c3 nothing converts, effect 1. Shares 0.2 / 0.4 / 0.4.
CLASSIC = [
    Path(("c1", "c2", "c3"), conversions=1, value=100.0),
    Path(("c1",), nulls=1),
    Path(("c2", "c3"), nulls=1),
]


def test_classic_example_removal_effects() -> None:
    trans = transition_probabilities(CLASSIC)
    assert trans[START] == pytest.approx({("c1",): 2 / 3, ("c2",): 1 / 3})
    assert conversion_probability(trans) == pytest.approx(1 / 3)
    out = markov_attribution(CLASSIC)
    assert {c: r.removal_effect for c, r in out.items()} == pytest.approx(
        {"c1": 0.5, "c2": 1.0, "c3": 1.0}
    )
    assert {c: r.share for c, r in out.items()} == pytest.approx({"c1": 0.2, "c2": 0.4, "c3": 0.4})
    assert {c: r.conversions for c, r in out.items()} == pytest.approx(
        {"c1": 0.2, "c2": 0.4, "c3": 0.4}
    )
    assert sum(r.value for r in out.values()) == pytest.approx(100.0)


def test_value_is_attributed_per_currency_and_never_summed_across() -> None:
    """The classic example with its conversion split in two currencies: the same
    transitions (counts add up), each currency's value split by the same shares."""
    split = [
        Path(("c1", "c2", "c3"), conversions=0.5, value=100.0, currency="USD"),
        Path(("c1", "c2", "c3"), conversions=0.5, value=80.0, currency="EUR"),
        *CLASSIC[1:],
    ]
    assert transition_probabilities(split) == transition_probabilities(CLASSIC)
    out = markov_attribution(split)
    assert {c: r.value_by_currency for c, r in out.items()} == {
        "c1": pytest.approx({"EUR": 16.0, "USD": 20.0}),
        "c2": pytest.approx({"EUR": 32.0, "USD": 40.0}),
        "c3": pytest.approx({"EUR": 32.0, "USD": 40.0}),
    }
    assert all(math.isnan(r.value) for r in out.values())
    assert markov_attribution(CLASSIC)["c2"].value_by_currency == pytest.approx({"": 40.0})


def test_loops_are_solved_exactly() -> None:
    # a > b > a converts, b alone does not: P = 1/2 * (1/2 * ... ) solved, not simulated.
    paths = [Path(("a", "b", "a"), conversions=1), Path(("b",), nulls=1)]
    trans = transition_probabilities(paths)
    # from a: 1/2 -> b, 1/2 -> conv; from b: 1/2 -> a, 1/2 -> null
    # x_a = 1/2 x_b + 1/2, x_b = 1/2 x_a  =>  x_a = 2/3, x_b = 1/3
    assert conversion_probability(trans) == pytest.approx(0.5 * 2 / 3 + 0.5 * 1 / 3)
    assert conversion_probability(trans, removed="b") == pytest.approx(0.5 * 0.5)


def test_no_conversion_gives_no_credit() -> None:
    out = markov_attribution([Path(("a", "b"), nulls=3)])
    assert all(r.share == 0 and r.conversions == 0 for r in out.values())


def test_order_must_be_positive() -> None:
    with pytest.raises(ValueError):
        markov_attribution(CLASSIC, order=0)


channels = st.lists(st.sampled_from("abcde"), min_size=1, max_size=6).map(tuple)
paths = st.lists(
    st.builds(Path, channels, st.integers(0, 3).map(float), st.integers(0, 3).map(float)),
    min_size=1,
    max_size=25,
)


@settings(max_examples=100, deadline=None)
@given(paths=paths, order=st.integers(1, 3))
def test_shares_sum_to_one(paths: list[Path], order: int) -> None:
    out = markov_attribution(paths, order=order)
    total_conv = sum(p.conversions for p in paths)
    assert all(0 <= r.removal_effect <= 1 + 1e-9 for r in out.values())
    if any(r.removal_effect > 0 for r in out.values()):
        assert sum(r.share for r in out.values()) == pytest.approx(1.0)
        assert sum(r.conversions for r in out.values()) == pytest.approx(total_conv)


def test_close_to_channelattribution_simulation() -> None:
    import pandas as pd
    from ChannelAttribution import markov_model

    paths = [
        Path(("a", "b", "c"), conversions=1, nulls=0),
        Path(("a", "c"), conversions=1, nulls=1),
        Path(("b",), conversions=0, nulls=2),
        Path(("c", "a"), conversions=2, nulls=0),
    ]
    df = pd.DataFrame(
        [(" > ".join(p.channels), p.conversions, p.nulls) for p in paths],
        columns=["path", "total_conversions", "total_null"],
    )
    res = markov_model(
        df,
        "path",
        "total_conversions",
        var_null="total_null",
        order=1,
        out_more=True,
        flg_pro=False,
        seed=1,
    )
    theirs = dict(
        zip(
            res["removal_effects"]["channel_name"],
            res["removal_effects"]["removal_effect"],
            strict=True,
        )
    )
    ours = markov_attribution(paths)
    for channel, effect in theirs.items():
        assert ours[channel].removal_effect == pytest.approx(effect, abs=0.03)
