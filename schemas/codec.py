"""Bytes <-> events. Decoding is batched: one pydantic call validates many.

A message that cannot become an event is not an exception but a
``DecodeFailure`` carrying the reason (field path and message), so the caller
can dead-letter it and keep going.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from operator import itemgetter
from typing import Any

import orjson
from pydantic import ValidationError

from schemas.events import EVENT_ADAPTER, EVENTS_ADAPTER, Envelope, Event
from schemas.privacy import pseudonymize, redact_text

DEFAULT_MAX_BYTES = 64 * 1024
_validate_json = EVENT_ADAPTER.validator.validate_json  # skips TypeAdapter's wrapper


@dataclass(frozen=True, slots=True)
class DecodeFailure:
    index: int
    reason: str  # short class: malformed_json, oversized, invalid, not_an_object
    detail: str  # field path and message


def _describe(error: Any) -> str:
    """Field path and message; messages can repeat input (a union tag), and a path
    can hold a key the producer wrote, so emails are masked in both."""
    loc = ".".join(str(part) for part in error["loc"]) or "<root>"
    return redact_text(f"{loc}: {error['msg']}")


def _parse(
    payloads: Sequence[bytes | None], max_bytes: int, secret: bytes | None
) -> tuple[list[int], list[Any], list[DecodeFailure]]:
    indices: list[int] = []
    raws: list[Any] = []
    failures: list[DecodeFailure] = []
    for i, payload in enumerate(payloads):
        if payload is None:
            failures.append(DecodeFailure(i, "empty", "message has no value"))
            continue
        if len(payload) > max_bytes:
            failures.append(
                DecodeFailure(i, "oversized", f"{len(payload)} bytes > limit {max_bytes}")
            )
            continue
        try:
            raw = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            failures.append(DecodeFailure(i, "malformed_json", str(exc)[:300]))
            continue
        if not isinstance(raw, dict):
            failures.append(DecodeFailure(i, "not_an_object", f"top level is {type(raw).__name__}"))
            continue
        when = raw.get("occurred_at", "")
        if type(when) is not str:
            # pydantic would take a number as Unix time; seconds or milliseconds
            # cannot be told apart, so the contract takes ISO-8601 text only.
            detail = "occurred_at: must be an ISO-8601 string with a timezone"
            failures.append(DecodeFailure(i, "invalid", detail))
            continue
        if secret is not None:
            pseudonymize(raw, secret)
        indices.append(i)
        raws.append(raw)
    return indices, raws, failures


def _classify(errors: list[Any]) -> str:
    first = errors[0]
    if first["type"] in ("union_tag_invalid", "union_tag_not_found"):
        return "unknown_event_type"
    if tuple(first["loc"][-1:]) == ("schema_version",):
        return "unknown_schema_version"
    return "invalid"


def decode_batch(
    payloads: Sequence[bytes | None],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    secret: bytes | None = None,
) -> tuple[list[tuple[int, Event]], list[DecodeFailure]]:
    """Decode many messages; return (index, event) pairs and failures.

    With ``secret`` set, clear emails are hashed before validation, so a
    validated event never holds one.

    Most messages validate straight from JSON (``_direct``); the rest, and
    every failure, take the dict route (``decode_dicts``), so events and
    failure reasons are exactly those of the dict route.
    """
    decoded: list[tuple[int, Event]] = []
    rest: list[int] = []
    for i, payload in enumerate(payloads):
        event = _direct(payload, max_bytes)
        if event is None:
            rest.append(i)
        else:
            decoded.append((i, event))
    if not rest:
        return decoded, []
    slow, failures = decode_dicts([payloads[i] for i in rest], max_bytes=max_bytes, secret=secret)
    decoded.extend((rest[pos], event) for pos, event in slow)
    decoded.sort(key=itemgetter(0))
    return decoded, [replace(f, index=rest[f.index]) for f in failures]


def _direct(payload: bytes | None, max_bytes: int) -> Event | None:
    """The event, validated from JSON without a dict in between, or None if the
    message needs the dict route: it may hold an email to hash (``"email"``
    key; no escapes, so the key cannot be spelt otherwise) or it fails.

    Strict mode keeps the two routes equal: it takes ``occurred_at`` as text
    only (the dict route refuses numbers) and accepts no input that
    orjson + lax validation would read differently.
    """
    if payload is None or len(payload) > max_bytes or b"\\" in payload or b'"email"' in payload:
        return None
    try:
        event: Event = _validate_json(payload, strict=True)
    except ValidationError:
        return None
    return event


def decode_dicts(
    payloads: Sequence[bytes | None],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    secret: bytes | None = None,
) -> tuple[list[tuple[int, Event]], list[DecodeFailure]]:
    """The reference route: orjson to dicts, hash emails, validate the batch."""
    indices, raws, failures = _parse(payloads, max_bytes, secret)
    try:
        events = EVENTS_ADAPTER.validate_python(raws)
        return list(zip(indices, events, strict=True)), failures
    except ValidationError as exc:
        by_item: dict[int, list[Any]] = {}
        for error in exc.errors(include_url=False, include_input=False):
            position, *rest = error["loc"]
            by_item.setdefault(int(position), []).append({**error, "loc": tuple(rest)})
    good = [pos for pos in range(len(raws)) if pos not in by_item]
    events = EVENTS_ADAPTER.validate_python([raws[pos] for pos in good])
    for pos, errors in by_item.items():
        # The tag of a discriminated union is part of the location; drop it.
        for error in errors:
            if error["loc"] and error["loc"][0] == raws[pos].get("event_type"):
                error["loc"] = error["loc"][1:]
        detail = "; ".join(_describe(e) for e in errors[:5])
        failures.append(DecodeFailure(indices[pos], _classify(errors), detail[:1000]))
    failures.sort(key=lambda f: f.index)
    return [(indices[pos], ev) for pos, ev in zip(good, events, strict=True)], failures


def decode_one(payload: bytes, *, secret: bytes | None = None) -> Event:
    """Decode one message or raise ``ValueError`` with the reason."""
    decoded, failures = decode_batch([payload], secret=secret)
    if failures:
        raise ValueError(f"{failures[0].reason}: {failures[0].detail}")
    return decoded[0][1]


def encode(event: Envelope) -> bytes:
    return orjson.dumps(event.model_dump(mode="json", exclude_none=True))


def encode_dict(raw: dict[str, Any]) -> bytes:
    """Validate a plain dict as an event and encode its canonical form."""
    return encode(EVENT_ADAPTER.validate_python(raw))
