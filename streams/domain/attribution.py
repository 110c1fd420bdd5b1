"""Rule-based attribution: how an opportunity's value is shared by its touches.

Every model takes the touch times of one chain (sorted, oldest first) and
returns one fraction per touch; fractions are never negative and sum to 1, and
an empty chain gets no credit at all. Short chains are defined per model so
the sum stays 1 even when a shape cannot be drawn with so few touches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from streams.domain.config import DEFAULT_MODELS
from streams.domain.rows import Row, to_datetime, to_epoch
from streams.domain.touches import Touch

DAY = 86400


@dataclass(frozen=True)
class Milestones:
    """Times (epoch seconds) a chain's shaped models anchor on.

    ``conversion_at`` is where time decay measures ages from: the close for a
    closed opportunity, otherwise the end of the chain.
    """

    lead_created_at: int | None = None
    opportunity_created_at: int | None = None
    closed_at: int | None = None
    conversion_at: int | None = None


Model = Callable[[Sequence[int], Milestones, float], list[float]]


def first_touch_attribution(ats: Sequence[int], m: Milestones, half_life: float) -> list[float]:
    """All credit to the touch that opened the relationship."""
    return [1.0 if i == 0 else 0.0 for i in range(len(ats))]


def last_touch_attribution(ats: Sequence[int], m: Milestones, half_life: float) -> list[float]:
    """All credit to the last touch before the conversion."""
    n = len(ats)
    return [1.0 if i == n - 1 else 0.0 for i in range(n)]


def linear_attribution(ats: Sequence[int], m: Milestones, half_life: float) -> list[float]:
    """Equal shares: every touch counts the same."""
    return [1.0 / len(ats)] * len(ats)


def time_decay_attribution(ats: Sequence[int], m: Milestones, half_life: float) -> list[float]:
    """Weight ``2**(-age_days / half_life_days)``, age measured back from the conversion.

    A touch after the conversion time (not expected in a chain) counts as age 0.
    With no conversion time the last touch is the reference.
    """
    if not ats:
        return []
    ref = m.conversion_at if m.conversion_at is not None else ats[-1]
    ages = [max(0, ref - at) / DAY for at in ats]
    youngest = min(ages)  # weights relative to it: the same ratios, no underflow to 0
    weights = [2.0 ** (-(age - youngest) / half_life) for age in ages]
    total = sum(weights)
    return [w / total for w in weights]


def _ends(n: int, first: float, last: float, middle: float) -> list[float]:
    """Shapes that favour the ends; with two touches the middle share is absent,
    so first and last keep their ratio (j_shaped: 25/75), one touch takes all."""
    if n == 0:
        return []
    if n == 1:
        return [1.0]
    if n == 2:
        return [first / (first + last), last / (first + last)]
    return [first] + [middle / (n - 2)] * (n - 2) + [last]


def position_based_attribution(ats: Sequence[int], m: Milestones, half_life: float) -> list[float]:
    """U-shaped 40/20/40; one touch 100%, two touches 50/50."""
    return _ends(len(ats), 0.4, 0.4, 0.2)


def j_shaped_attribution(ats: Sequence[int], m: Milestones, half_life: float) -> list[float]:
    """60% last, 20% first, 20% middle; two touches 25/75."""
    return _ends(len(ats), 0.2, 0.6, 0.2)


def inverse_j_attribution(ats: Sequence[int], m: Milestones, half_life: float) -> list[float]:
    """60% first, 20% last, 20% middle; two touches 75/25."""
    return _ends(len(ats), 0.6, 0.2, 0.2)


def _role(ats: Sequence[int], at: int | None) -> int | None:
    """Index of the last touch at or before ``at``; 0 (the first touch) when the
    milestone precedes every touch; None when the milestone is unknown."""
    if at is None:
        return None
    idx = 0
    for i, t in enumerate(ats):
        if t > at:
            break
        idx = i
    return idx


def _shaped(n: int, roles: Sequence[int], role_share: float, rest_share: float) -> list[float]:
    out = [0.0] * n
    for idx in roles:
        out[idx] += role_share
    rest = [i for i in range(n) if i not in roles]
    if rest:
        for i in rest:
            out[i] += rest_share / len(rest)
        return out
    total = sum(out)
    return [f / total for f in out]


def _ft_lc_oc(ats: Sequence[int], m: Milestones) -> list[int]:
    """Touches in the FT, LC and OC roles.

    Fallbacks: no opportunity time -> the last touch; no lead (opportunity
    created directly) -> the OC touch; a milestone before every touch -> the
    first touch.
    """
    oc = _role(ats, m.opportunity_created_at)
    oc = len(ats) - 1 if oc is None else oc
    lc = _role(ats, m.lead_created_at)
    return [0, oc if lc is None else lc, oc]


def w_shaped_attribution(ats: Sequence[int], m: Milestones, half_life: float) -> list[float]:
    """30% each to the FT, LC and OC touches, 10% spread over the rest.

    A touch holding several roles sums their shares. With no touch outside the
    roles (e.g. two touches) the role shares are renormalised to 1.
    """
    if not ats:
        return []
    return _shaped(len(ats), _ft_lc_oc(ats, m), 0.3, 0.1)


def full_path_attribution(ats: Sequence[int], m: Milestones, half_life: float) -> list[float]:
    """Z-shaped: 22.5% each to the FT, LC, OC and CW touches, 10% over the rest.

    CW is the last touch at or before the close; an open opportunity has no
    close yet, so its CW role falls on the last touch. Fallbacks and
    renormalisation as in ``w_shaped_attribution``.
    """
    if not ats:
        return []
    cw = _role(ats, m.closed_at)
    roles = [*_ft_lc_oc(ats, m), len(ats) - 1 if cw is None else cw]
    return _shaped(len(ats), roles, 0.225, 0.1)


MODELS: dict[str, Model] = {
    "first_touch": first_touch_attribution,
    "last_touch": last_touch_attribution,
    "linear": linear_attribution,
    "time_decay": time_decay_attribution,
    "position_based": position_based_attribution,
    "w_shaped": w_shaped_attribution,
    "full_path": full_path_attribution,
    "j_shaped": j_shaped_attribution,
    "inverse_j": inverse_j_attribution,
}


def fractions(
    model: str,
    ats: Sequence[int],
    milestones: Milestones | None = None,
    *,
    half_life_days: float = 7.0,
    weights: Sequence[float] | None = None,
) -> list[float]:
    """Per-touch fractions of one model; empty chain -> []."""
    if not ats:
        return []
    out = MODELS[model](ats, milestones or Milestones(), half_life_days)
    return out if weights is None else apply_weights(out, weights)


def apply_weights(fractions: Sequence[float], weights: Sequence[float]) -> list[float]:
    """Discount touches by a weight in [0, 1] (e.g. authenticity) and renormalise.

    When every weighted touch is worth 0, nobody gets credit: all zeros.
    """
    if len(weights) != len(fractions):
        raise ValueError("one weight per touch")
    raw = [f * min(1.0, max(0.0, w)) for f, w in zip(fractions, weights, strict=True)]
    total = sum(raw)
    return [0.0] * len(raw) if total <= 0 else [r / total for r in raw]


def milestones_of(chain_row: Row, conversion_at: int | None = None) -> Milestones:
    closed = to_epoch(chain_row.get("closed_at"))
    return Milestones(
        lead_created_at=to_epoch(chain_row.get("lead_created_at")),
        opportunity_created_at=to_epoch(chain_row.get("opportunity_created_at")),
        closed_at=closed,
        conversion_at=conversion_at if conversion_at is not None else closed,
    )


def credit_sets(
    chain_row: Row,
    touches: Sequence[Touch],
    models: Sequence[str] = DEFAULT_MODELS,
    *,
    weights: Sequence[float] | None = None,
    half_life_days: float = 7.0,
    conversion_at: int | None = None,
) -> list[Row]:
    """One ``attribution_credit_sets`` row per model: the chain's touches as
    parallel arrays and each touch's fraction. An empty chain has no credit.

    A chain version costs one row per model, not one per touch and model: the
    per-touch rows are what ``expand_credit_sets`` (and the SQL view of the same
    name as the old table) derive from these.
    """
    if not touches:
        return []
    milestones = milestones_of(chain_row, conversion_at)
    ats = [t.at for t in touches]
    shared = {
        "workspace": chain_row["workspace"],
        "opportunity_id": chain_row["opportunity_id"],
        "version": chain_row["version"],
        "value": float(chain_row["value"]),
        "currency": chain_row["currency"],
        "touch_event_ids": [t.event_id for t in touches],
        "touch_times": [to_datetime(at) for at in ats],
        "channels": [t.channel for t in touches],
        "campaigns": [t.campaign or "" for t in touches],
    }
    return [
        {
            **shared,
            "model": model,
            "credit_fractions": fractions(
                model, ats, milestones, half_life_days=half_life_days, weights=weights
            ),
        }
        for model in models
    ]


def expand_credit_sets(sets: Sequence[Row]) -> list[Row]:
    """Per-touch credit rows, as the ``attribution_credits`` view shows them:
    touches with no credit under a model get no row."""
    rows: list[Row] = []
    for s in sets:
        value = s["value"]
        for i, share in enumerate(s["credit_fractions"]):
            if share > 0:
                rows.append(
                    {
                        "workspace": s["workspace"],
                        "opportunity_id": s["opportunity_id"],
                        "model": s["model"],
                        "touch_index": i,
                        "touch_event_id": s["touch_event_ids"][i],
                        "touched_at": s["touch_times"][i],
                        "channel": s["channels"][i],
                        "campaign": s["campaigns"][i],
                        "credit_fraction": share,
                        "credit_value": share * value,
                        "currency": s["currency"],
                        "version": s["version"],
                    }
                )
    return rows


def credit_rows(
    chain_row: Row, touches: Sequence[Touch], models: Sequence[str] = DEFAULT_MODELS, **options: Any
) -> list[Row]:
    """Per-touch credit rows of one chain for each model (``options`` as for
    ``credit_sets``)."""
    return expand_credit_sets(credit_sets(chain_row, touches, models, **options))
