"""Data-driven attribution: the Markov-chain removal effect over all journeys.

Paths (converting and not) become a transition graph from ``(start)`` through
channel states to ``(conversion)`` or ``(null)``. A channel's removal effect is
the share of conversion probability lost when every state holding it turns
into ``(null)``. Probabilities are solved exactly (a small linear system, no
simulation), so results are reproducible; the state count is tiny (channels,
or channel tuples for order k).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

START = ("(start)",)
CONVERSION = ("(conversion)",)
NULL = ("(null)",)
State = tuple[str, ...]


@dataclass(frozen=True)
class Path:
    """One journey's channels, how often it converted or not, and value won (in
    ``currency``: a journey that won in two currencies is two paths)."""

    channels: tuple[str, ...]
    conversions: float = 0.0
    nulls: float = 0.0
    value: float = 0.0
    currency: str = ""


@dataclass(frozen=True)
class ChannelCredit:
    channel: str
    removal_effect: float
    share: float
    conversions: float
    value_by_currency: dict[str, float]

    @property
    def value(self) -> float:
        """The value attributed when the paths won in one currency; NaN when they
        mix currencies (see ``value_by_currency``), so that a sum shows it."""
        values = list(self.value_by_currency.values())
        if len(values) > 1:
            return math.nan
        return values[0] if values else 0.0


def _states(channels: Sequence[str], order: int) -> list[State]:
    return [tuple(channels[max(0, i - order + 1) : i + 1]) for i in range(len(channels))]


def transition_probabilities(
    paths: Iterable[Path], order: int = 1
) -> dict[State, dict[State, float]]:
    """Row-normalised transition probabilities observed over all paths."""
    counts: dict[State, dict[State, float]] = {}
    for path in paths:
        weight = path.conversions + path.nulls
        if not path.channels or weight <= 0:
            continue
        seq = [START, *_states(path.channels, order)]
        for a, b in pairwise(seq):
            row = counts.setdefault(a, {})
            row[b] = row.get(b, 0.0) + weight
        last = counts.setdefault(seq[-1], {})
        for end, n in ((CONVERSION, path.conversions), (NULL, path.nulls)):
            if n > 0:
                last[end] = last.get(end, 0.0) + n
    return {
        s: {t: n / sum(row.values()) for t, n in row.items()} for s, row in counts.items() if row
    }


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (``a`` is changed in place)."""
    n = len(b)
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        if abs(a[pivot][col]) < 1e-15:
            raise ValueError("singular transition system")
        a[col], a[pivot] = a[pivot], a[col]
        b[col], b[pivot] = b[pivot], b[col]
        for r in range(col + 1, n):
            f = a[r][col] / a[col][col]
            if f:
                row, top = a[r], a[col]
                for c in range(col, n):
                    row[c] -= f * top[c]
                b[r] -= f * b[col]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (b[r] - sum(a[r][c] * x[c] for c in range(r + 1, n))) / a[r][r]
    return x


def conversion_probability(
    trans: dict[State, dict[State, float]], removed: str | None = None
) -> float:
    """P(reaching conversion from start); states holding ``removed`` lead to null."""
    states = [s for s in trans if s != START and (removed is None or removed not in s)]
    idx = {s: i for i, s in enumerate(states)}
    a = [[0.0] * len(states) for _ in states]
    b = [0.0] * len(states)
    for s, i in idx.items():
        a[i][i] += 1.0
        for t, p in trans[s].items():
            if t == CONVERSION:
                b[i] += p
            elif t in idx:
                a[i][idx[t]] -= p
    x = _solve(a, b) if states else []
    return sum(
        p * (1.0 if t == CONVERSION else x[idx[t]] if t in idx else 0.0)
        for t, p in trans.get(START, {}).items()
    )


def markov_attribution(paths: Iterable[Path], order: int = 1) -> dict[str, ChannelCredit]:
    """Removal effect, normalised share, and conversions and value per channel.

    Attributed conversions and value are the share times the totals over all
    paths, value per currency. With no conversion at all every channel gets zero.
    """
    if order < 1:
        raise ValueError("order must be at least 1")
    paths = list(paths)
    trans = transition_probabilities(paths, order)
    channels = sorted({c for p in paths if p.conversions + p.nulls > 0 for c in p.channels})
    base = conversion_probability(trans)
    effects = {
        c: max(0.0, 1.0 - conversion_probability(trans, c) / base) if base > 0 else 0.0
        for c in channels
    }
    total_effect = sum(effects.values())
    total_conv = sum(p.conversions for p in paths if p.channels)
    total_value: dict[str, float] = {}
    for p in paths:
        if p.channels and p.value:
            total_value[p.currency] = total_value.get(p.currency, 0.0) + p.value
    out: dict[str, ChannelCredit] = {}
    for c in channels:
        share = effects[c] / total_effect if total_effect > 0 else 0.0
        values = {currency: share * v for currency, v in sorted(total_value.items())}
        out[c] = ChannelCredit(c, effects[c], share, share * total_conv, values)
    return out
