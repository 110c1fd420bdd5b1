"""What ``send_raw`` puts on Kafka: no clear email, whatever the bytes are."""

from __future__ import annotations

import orjson
import pytest

from oppchain.producer import raw_payload
from schemas.codec import decode_batch
from schemas.privacy import hash_email

SECRET = b"s3cret"


def test_an_event_with_a_clear_email_is_sent_hashed_as_the_pipeline_would() -> None:
    clear = orjson.dumps(
        {
            "schema_version": 1,
            "event_id": "e1",
            "event_type": "contact_upserted",
            "workspace": "acme",
            "occurred_at": "2026-01-02T03:04:05Z",
            "source": "crm",
            "contact_id": "c1",
            "email": "Alice@Example.com ",
        }
    )
    sent, raw = raw_payload(clear, SECRET)
    assert b"@" not in sent
    assert raw is not None and raw["email_hash"] == hash_email(SECRET, "acme", "alice@example.com")
    ((_, from_sent),) = decode_batch([sent], secret=SECRET)[0]
    ((_, from_clear),) = decode_batch([clear], secret=SECRET)[0]
    assert from_sent == from_clear


def test_an_object_without_an_email_is_sent_byte_for_byte() -> None:
    line = b'{"workspace": "acme",  "note": "a@b", "event_type": "nope"}'
    assert raw_payload(line, SECRET) == (line, orjson.loads(line))


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b'{"broken": "bob@example.com"', b'{"broken": "<email redacted>"'),
        (b'["bob@example.com", 1]', b'["<email redacted>", 1]'),
        (b'{"email": "bob@example.com"}', b'{"email":"<email redacted>"}'),  # no workspace
        (b'{"person": {"email": "bob@corp"}}', b'{"person":{"email":"<email redacted>"}}'),
        (b'{"note": "bob\\u0040example.com"', b'{"note": "<email redacted>"'),
    ],
)
def test_bytes_that_cannot_be_hashed_have_emails_masked(line: bytes, expected: bytes) -> None:
    assert raw_payload(line, SECRET)[0] == expected


@pytest.mark.parametrize("email", [b"bob\\u0040example.com", b"bob@corp"])
def test_an_email_the_bytes_spell_otherwise_is_hashed_before_sending(email: bytes) -> None:
    """JSON may escape "@"; an address needs no dotted domain: both are emails."""
    line = b'{"workspace": "acme", "event_type": "meeting", "person": {"email": "' + email + b'"}}'
    sent, raw = raw_payload(line, SECRET)
    assert b"bob" not in sent and raw is not None
    clear = orjson.loads(line)["person"]["email"]
    assert orjson.loads(sent)["person"]["email_hash"] == hash_email(SECRET, "acme", clear)
