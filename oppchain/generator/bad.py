"""Bad events: what a careless producer sends, each kind with the reason it must fail."""

from __future__ import annotations

import random
from typing import Any

import orjson

from oppchain.generator.emit import Event

# kind -> the ``DecodeFailure.reason`` that ``schemas.codec.decode_batch`` gives it
REASONS: dict[str, str] = {
    "malformed_json": "malformed_json",
    "unknown_event_type": "unknown_event_type",
    "unknown_schema_version": "unknown_schema_version",
    "missing_field": "invalid",
    "extra_field": "invalid",
    "wrong_type": "invalid",
    "naive_timestamp": "invalid",
    "oversized": "oversized",
}
KINDS = tuple(REASONS)
OVERSIZE = 70 * 1024  # above the 64 KiB limit


def kinds_for(rng: random.Random, count: int) -> list[str]:
    """An even, shuffled mix of every kind."""
    kinds = [KINDS[i % len(KINDS)] for i in range(count)]
    rng.shuffle(kinds)
    return kinds


def bad_event(kind: str, template: Event, event_id: str) -> bytes:
    """A bad copy of a valid event; ``event_id`` keeps it apart from the original."""
    raw: dict[str, Any] = dict(template)
    raw["event_id"] = event_id
    if kind == "malformed_json":
        payload = orjson.dumps(raw)
        return payload[: len(payload) // 2]
    if kind == "unknown_event_type":
        raw["event_type"] = "page_viewed"
    elif kind == "unknown_schema_version":
        raw["schema_version"] = 2
    elif kind == "missing_field":
        del raw["source"]
    elif kind == "extra_field":
        raw["sentiment"] = "positive"
    elif kind == "wrong_type":
        raw["source"] = 42
    elif kind == "naive_timestamp":
        raw["occurred_at"] = str(raw["occurred_at"]).removesuffix("Z")
    elif kind == "oversized":
        raw["content_ref"] = "x" * OVERSIZE
    else:
        raise ValueError(f"unknown bad kind {kind!r}")
    return orjson.dumps(raw)


def place(
    rng: random.Random, total: int, bad: int, valid: list[bytes], fallback: Event
) -> tuple[list[bytes], list[dict[str, Any]]]:
    """Interleave ``bad`` bad lines among the valid events; return lines and bad records.

    A bad line is a broken copy of the valid event just before it.
    """
    if not bad:
        return list(valid), []
    positions = sorted(rng.sample(range(total), bad))
    kinds = kinds_for(rng, bad)
    lines: list[bytes] = []
    records: list[dict[str, Any]] = []
    next_valid = 0
    k = 0
    for line in range(total):
        if k < bad and positions[k] == line:
            kind = kinds[k]
            if next_valid:
                template = orjson.loads(valid[next_valid - 1])
            else:
                template = orjson.loads(valid[0]) if valid else fallback
            event_id = f"{template['workspace']}-bad-{k + 1:07d}"
            lines.append(bad_event(kind, template, event_id))
            records.append(
                {
                    "line": line,
                    "kind": kind,
                    "reason": REASONS[kind],
                    "event_id": event_id,
                    "workspace": template["workspace"],
                    "copy_of": template["event_id"],
                }
            )
            k += 1
            continue
        lines.append(valid[next_valid])
        next_valid += 1
    return lines, records
