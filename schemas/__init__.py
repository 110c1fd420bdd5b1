"""oppchain's event contract: models, codec and the published JSON Schemas."""

from schemas.codec import DecodeFailure, decode_batch, decode_one, encode, encode_dict
from schemas.events import (
    ALL_TYPES,
    EVENT_ADAPTER,
    EVENT_TYPES,
    SCHEMA_VERSION,
    Envelope,
    Event,
    family_of,
)
from schemas.keys import subject_key

__all__ = [
    "ALL_TYPES",
    "EVENT_ADAPTER",
    "EVENT_TYPES",
    "SCHEMA_VERSION",
    "DecodeFailure",
    "Envelope",
    "Event",
    "decode_batch",
    "decode_one",
    "encode",
    "encode_dict",
    "family_of",
    "subject_key",
]
