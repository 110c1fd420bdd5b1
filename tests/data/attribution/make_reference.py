"""Regenerate the ChannelAttribution reference files (needs channelattribution).

python tests/data/attribution/make_reference.py
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

HERE = Path(__file__).parent
CHANNELS = ["x", "linkedin", "email", "offline", "referral", "direct"]


def make_paths(seed: int = 7, n: int = 80) -> list[tuple[str, int, float]]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        path = " > ".join(rng.choice(CHANNELS) for _ in range(rng.randint(1, 7)))
        conversions = rng.choice([0, 1, 1, 2, 3])
        rows.append((path, conversions, round(conversions * rng.uniform(10, 5000), 2)))
    return rows


def main() -> None:
    import pandas as pd
    from ChannelAttribution import heuristic_models

    rows = make_paths()
    with (HERE / "reference_paths.csv").open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["path", "total_conversions", "total_conversion_value"])
        w.writerows(rows)
    df = pd.DataFrame(rows, columns=["path", "total_conversions", "total_conversion_value"])
    out = heuristic_models(
        df, "path", "total_conversions", var_value="total_conversion_value", flg_pro=False
    )
    out.sort_values("channel_name").to_csv(
        HERE / "reference_heuristics.csv", index=False, float_format="%.6f", lineterminator="\n"
    )


if __name__ == "__main__":
    main()
