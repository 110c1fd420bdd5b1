"""Channel totals of first touch, last touch and linear agree with ChannelAttribution.

The snapshot files were produced by ChannelAttribution 2.2.5 ``heuristic_models``;
where the package is installed the comparison is also made live.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest

from streams.domain.attribution import fractions

DATA = Path(__file__).parent.parent / "data" / "attribution"
OURS_TO_THEIRS = {
    "first_touch": "first_touch",
    "last_touch": "last_touch",
    "linear": "linear_touch",
}


def _paths() -> list[tuple[list[str], float, float]]:
    with (DATA / "reference_paths.csv").open(newline="") as f:
        return [
            (
                r["path"].split(" > "),
                float(r["total_conversions"]),
                float(r["total_conversion_value"]),
            )
            for r in csv.DictReader(f)
        ]


def _our_totals(paths: list[tuple[list[str], float, float]]) -> dict[str, dict[str, float]]:
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for channels, conversions, value in paths:
        ats = list(range(len(channels)))
        for model, theirs in OURS_TO_THEIRS.items():
            for channel, share in zip(channels, fractions(model, ats), strict=True):
                totals[channel][f"{theirs}_conversions"] += share * conversions
                totals[channel][f"{theirs}_value"] += share * value
    return totals


def _compare(ours: dict[str, dict[str, float]], theirs: dict[str, dict[str, float]]) -> None:
    assert set(ours) == set(theirs)
    for channel, columns in theirs.items():
        for column, expected in columns.items():
            assert ours[channel][column] == pytest.approx(expected, rel=1e-6, abs=1e-4), (
                channel,
                column,
            )


def test_channel_totals_match_channelattribution_snapshot() -> None:
    with (DATA / "reference_heuristics.csv").open(newline="") as f:
        theirs = {
            r.pop("channel_name"): {k: float(v) for k, v in r.items()} for r in csv.DictReader(f)
        }
    _compare(_our_totals(_paths()), theirs)


def test_channel_totals_match_channelattribution_live() -> None:
    import pandas as pd
    from ChannelAttribution import heuristic_models

    paths = _paths()
    df = pd.DataFrame(
        [(" > ".join(c), n, v) for c, n, v in paths],
        columns=["path", "total_conversions", "total_conversion_value"],
    )
    out = heuristic_models(
        df, "path", "total_conversions", var_value="total_conversion_value", flg_pro=False
    )
    theirs = {
        r["channel_name"]: {k: float(v) for k, v in r.items() if k != "channel_name"}
        for r in out.to_dict("records")
    }
    _compare(_our_totals(paths), theirs)
