"""The contract: every bad input becomes a failure with a reason, never an exception."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import decode_batch, decode_one, encode, subject_key
from schemas.export import SCHEMA_DIR, rendered
from schemas.privacy import hash_email

BASE = {
    "event_id": "e1",
    "event_type": "social_interaction",
    "schema_version": 1,
    "occurred_at": "2025-03-01T10:00:00+02:00",
    "source": "collector-x",
    "workspace": "acme",
    "platform": "twitter",
    "own_account": "acme",
    "handle": "@Alice",
    "direction": "inbound",
    "action": "follow",
}


_NOT_SOCIAL = dict.fromkeys(("platform", "own_account", "handle", "direction", "action"))


def crm(**changes: object) -> bytes:
    deal = {"opportunity_id": "o1", "contact_id": "c1", "kind": "monetary", "amount": 10.0}
    fields = {**_NOT_SOCIAL, **deal, "opportunity_type": "deal", **changes}
    return dumps(event_type="opportunity_created", **fields)


def meeting(**changes: object) -> bytes:
    fields = {**_NOT_SOCIAL, "person": {"contact_id": "c1"}, **changes}
    return dumps(event_type="meeting", **fields)


def dumps(**changes: object) -> bytes:
    raw = {**BASE, **changes}
    return orjson.dumps({k: v for k, v in raw.items() if v is not None})


def test_valid_event_is_normalised_to_utc_and_x() -> None:
    event = decode_one(dumps())
    assert event.occurred_at.isoformat() == "2025-03-01T08:00:00+00:00"
    assert event.platform.value == "x"  # type: ignore[union-attr]
    assert subject_key(event) == "x:alice"
    assert decode_one(encode(event)) == event


@pytest.mark.parametrize(
    ("payload", "reason", "detail"),
    [
        (b"{not json", "malformed_json", ""),
        (b"[1, 2]", "not_an_object", "list"),
        (dumps(event_type="poke"), "unknown_event_type", "poke"),
        (dumps(schema_version=2), "unknown_schema_version", "schema_version"),
        (dumps(handle=None), "invalid", "handle is required"),
        (dumps(extra_field=1), "invalid", "extra_field: Extra inputs are not permitted"),
        (dumps(direction=5), "invalid", "direction"),
        (dumps(occurred_at="2025-03-01T10:00:00"), "invalid", "occurred_at"),
        (dumps(occurred_at=1740816000), "invalid", "ISO-8601"),
        (dumps(occurred_at="1969-12-31T23:59:59Z"), "invalid", "from 1970 to 2099"),
        (dumps(occurred_at="2100-01-01T00:00:00Z"), "invalid", "from 1970 to 2099"),
        (dumps(occurred_at="1700000000"), "invalid", "ISO-8601"),  # seconds? milliseconds?
        (dumps(occurred_at="1700000000000"), "invalid", "ISO-8601"),
        (dumps(schema_version=True), "unknown_schema_version", "the number 1"),
        (dumps(handle="@"), "invalid", "handle"),  # "@" and " " make one key of everybody
        (dumps(handle=" @ "), "invalid", "handle"),
        (dumps(event_type="bob@example.com"), "unknown_event_type", "<email redacted>"),
        (crm(amount=True), "invalid", "amount"),
        (crm(amount="100"), "invalid", "amount"),
        (meeting(duration_minutes="30"), "invalid", "duration_minutes"),
        (meeting(duration_minutes=True), "invalid", "duration_minutes"),
        (meeting(person={"email": "n/a"}), "invalid", "person.email"),  # not hashed: refused
        (meeting(person={"email": ""}), "invalid", "person.email"),
        (dumps(workspace=""), "invalid", "workspace"),
        (b"x" * 70000, "oversized", "70000 bytes"),
    ],
)
def test_bad_input_becomes_a_reasoned_failure(payload: bytes, reason: str, detail: str) -> None:
    decoded, failures = decode_batch([dumps(), payload, dumps(event_id="e2")])
    assert [i for i, _ in decoded] == [0, 2]
    assert len(failures) == 1
    assert failures[0].index == 1
    assert failures[0].reason == reason
    assert detail in failures[0].detail


def test_emails_are_hashed_before_validation() -> None:
    raw = {
        **{k: BASE[k] for k in ("event_id", "occurred_at", "source", "workspace")},
        "event_type": "contact_upserted",
        "contact_id": "C1",
        "email": "Alice@Example.com ",
        "handles": [{"platform": "linkedin", "handle": "alice"}],
    }
    event = decode_one(orjson.dumps(raw), secret=b"s3cret")
    assert event.email is None  # type: ignore[union-attr]
    assert event.email_hash == hash_email(b"s3cret", "acme", "alice@example.com")  # type: ignore[union-attr]
    assert b"Alice" not in encode(event)
    assert hash_email(b"s3cret", "other", "alice@example.com") != event.email_hash  # type: ignore[union-attr]


def test_published_json_schemas_match_the_models() -> None:
    committed = {p.name: p.read_text() for p in SCHEMA_DIR.glob("*.json")}
    assert committed == rendered(), "run: python -m schemas.export"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_random_bytes_never_raise(payload: bytes) -> None:
    decoded, failures = decode_batch([payload])
    assert len(decoded) + len(failures) == 1


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([*sorted(BASE), "person", "email"]), json_values))
def test_random_objects_never_raise(raw: dict[str, object]) -> None:
    decoded, failures = decode_batch([orjson.dumps(raw)], secret=b"k")
    assert len(decoded) + len(failures) == 1


def test_deeply_nested_json_is_refused() -> None:
    payload = b"[" * 5000 + b"]" * 5000
    _, failures = decode_batch([payload])
    assert failures[0].reason in ("malformed_json", "not_an_object")


def test_every_published_type_requires_its_event_type() -> None:
    """The models default ``event_type``, yet a message without it is refused:
    the published schemas say so."""
    schemas = {name: orjson.loads(text) for name, text in rendered().items()}
    per_type = {n: s for n, s in schemas.items() if n != "event.json"}
    assert per_type and all("event_type" in s["required"] for s in per_type.values())
    without = {k: v for k, v in BASE.items() if k != "event_type"}
    [failure] = decode_batch([orjson.dumps(without)])[1]
    assert failure.reason == "unknown_event_type"
