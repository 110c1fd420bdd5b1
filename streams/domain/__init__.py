"""Pure domain logic: identity stitching, journeys, chains and attribution.

Nothing here talks to Kafka or ClickHouse; the runtime hands in validated
events and writes the rows it gets back.
"""

from streams.domain.attribution import (
    MODELS,
    Milestones,
    apply_weights,
    credit_rows,
    credit_sets,
    expand_credit_sets,
    fractions,
)
from streams.domain.chains import Opportunity
from streams.domain.config import DEFAULT_MODELS, DomainConfig
from streams.domain.identity import IdentityGraph, IdentityLimits, LinkResult, Merge, Refusal
from streams.domain.journeys import Journeys
from streams.domain.markov import ChannelCredit, Path, markov_attribution
from streams.domain.outputs import Outputs
from streams.domain.rows import (
    CHAIN_COLUMNS,
    CREDIT_COLUMNS,
    CREDIT_SET_COLUMNS,
    IDENTITY_MERGE_COLUMNS,
    IDENTITY_REFUSAL_COLUMNS,
    TOUCH_PERSON_COLUMNS,
    Row,
)
from streams.domain.state import WorkspaceState
from streams.domain.touches import Touch, touch_from_event, touch_subject_keys

__all__ = [
    "CHAIN_COLUMNS",
    "CREDIT_COLUMNS",
    "CREDIT_SET_COLUMNS",
    "DEFAULT_MODELS",
    "IDENTITY_MERGE_COLUMNS",
    "IDENTITY_REFUSAL_COLUMNS",
    "MODELS",
    "TOUCH_PERSON_COLUMNS",
    "ChannelCredit",
    "DomainConfig",
    "IdentityGraph",
    "IdentityLimits",
    "Journeys",
    "LinkResult",
    "Merge",
    "Milestones",
    "Opportunity",
    "Outputs",
    "Path",
    "Refusal",
    "Row",
    "Touch",
    "WorkspaceState",
    "apply_weights",
    "credit_rows",
    "credit_sets",
    "expand_credit_sets",
    "fractions",
    "markov_attribution",
    "touch_from_event",
    "touch_subject_keys",
]
