"""The identity keys a stored message names, read from its structure."""

from __future__ import annotations

import orjson

from oppchain.erase_mentions import payload_keys


def test_keys_are_read_from_any_object_of_the_message() -> None:
    message = {
        "platform": "x",
        "handle": "@Bob",
        "own_account": "acme",
        "campaign": "alice",
        "person": {"platform": "LinkedIn", "handle": "carol", "email_hash": "e1"},
        "handles": [{"platform": "instagram", "handle": "dave"}, {"platform": "x"}],
        "contact_id": "C7",
    }
    assert payload_keys(orjson.dumps(message).decode()) == {
        "x:bob",
        "linkedin:carol",
        "email:e1",
        "instagram:dave",
        "crm:C7",
    }


def test_what_is_not_a_json_object_names_nothing_that_can_be_told() -> None:
    assert payload_keys('{"platform": "x", "handle": "bob", "note": "cut') is None
    assert payload_keys('["x", "bob"]') is None
    assert payload_keys("{}") == set()
