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
        "introducer": {"platform": "Twitter", "handle": "Erin "},  # the same network as x
        "contact_id": "C7",
    }
    assert payload_keys(orjson.dumps(message).decode()) == {
        "x:bob",
        "linkedin:carol",
        "email:e1",
        "instagram:dave",
        "x:erin",
        "crm:C7",
    }


def test_what_is_not_a_json_object_names_nothing_that_can_be_told() -> None:
    assert payload_keys('{"platform": "x", "handle": "bob", "note": "cut') is None
    assert payload_keys('["x", "bob"]') is None
    assert payload_keys("{}") == set()


def test_a_key_is_read_as_it_is_stored() -> None:
    from schemas.keys import normalized_key

    typed = ["x:ann", "X:@Ann", " twitter:ann ", "TWITTER:@ANN"]
    assert {normalized_key(k) for k in typed} == {"x:ann"}
    assert normalized_key("crm:C-7") == "crm:C-7"  # CRM ids keep their case
    assert normalized_key("Email:ab12") == "email:ab12"
    assert normalized_key("linkedin:Jo:Ann") == "linkedin:jo:ann"
