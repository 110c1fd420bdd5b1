"""Settings of the domain logic, one frozen object handed in by the runtime."""

from __future__ import annotations

from dataclasses import dataclass, field

from streams.domain.identity import IdentityLimits

DEFAULT_MODELS = (
    "first_touch",
    "last_touch",
    "linear",
    "time_decay",
    "position_based",
    "w_shaped",
    "full_path",
    "j_shaped",
    "inverse_j",
)


@dataclass(frozen=True)
class DomainConfig:
    """``path_lookback_days`` is long by default: relationships take years."""

    limits: IdentityLimits = field(default_factory=IdentityLimits)
    max_steps: int = 200
    path_lookback_days: int = 730
    half_life_days: float = 7.0
    models: tuple[str, ...] = DEFAULT_MODELS
