"""``decode_batch`` validates most messages straight from JSON; it must give
exactly what the reference dict route (``decode_dicts``) gives: same events,
same failures, same reasons and details, for good and bad messages alike."""

from __future__ import annotations

import random

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from oppchain.generator import generate
from schemas.codec import _direct, decode_batch, decode_dicts, encode


def _sample(lines: list[bytes], per_type: int = 40) -> list[bytes]:
    """Up to ``per_type`` messages of each event type, some with clear emails."""
    kept: dict[str, list[bytes]] = {}
    for line in lines:
        group = kept.setdefault(orjson.loads(line)["event_type"], [])
        if len(group) < per_type:
            group.append(line)
    return [line for group in kept.values() for line in group]


LINES = _sample(generate(3, 730, events=10000, workspaces=6).events)


def _mutations(line: bytes, rng: random.Random) -> list[bytes]:
    raw = orjson.loads(line)
    person = {"email": "Bob@Example.org", "handle": "bob", "platform": "x"}
    swaps: list[dict[str, object]] = [
        {"occurred_at": 1700000000},
        {"occurred_at": "2024-01-01T00:00:00"},
        {"schema_version": 2},
        {"schema_version": 1.0},
        {"event_type": "teleport"},
        {"workspace": "bad space"},
        {"platform": "Twitter"},
        {"campaign": "email"},
        {"campaign": "tab\there é \u2028"},
        {"amount": "5"},
        {"amount": True},
        {"email": "a@b.example"},
        {"person": person},
        {"extra": 1},
    ]
    out = [orjson.dumps({**raw, **rng.choice(swaps)}) for _ in range(3)]
    for name in ("person", "introducer", "a", "b"):  # clear emails to be hashed
        if isinstance(raw.get(name), dict):
            out.append(orjson.dumps({**raw, name: {**raw[name], "email": "Eve@Example.com "}}))
    out.append(orjson.dumps({k: v for k, v in raw.items() if k != rng.choice(list(raw))}))
    out += [
        line[:-1] + b',"event_id":"dup"}',
        line[:-1] + b',"occurred_at":12}',
        line[:-1] + b',"amount":123456789012345678901234567890}',
        line[:-1] + b',"duration_minutes":1e400}',
        line[:-1] + b',"campaign":NaN}',
        line.replace(b'":"', b'": "', 1),
        line.replace(b":", b" : "),
        b"\xef\xbb\xbf" + line,
        line + b" x",
        line[: len(line) // 2],
        line.replace(b'"', b'"\xff', 1),
        line.replace(b'","', b'\\u0041","', 1),
        b"[" + line + b"]",
    ]
    return out


def _poison(rng: random.Random) -> list[bytes]:
    return [
        rng.randbytes(rng.randint(1, 400)),
        b'{"event_id":"' + b"x" * 200_000 + b'"}',
        b'{"a":' * 3000 + b"1" + b"}" * 3000,
        b"",
        b"null",
    ]


def _assert_same(payloads: list[bytes], secret: bytes | None) -> None:
    fast, fast_failures = decode_batch(payloads, secret=secret)
    slow, slow_failures = decode_dicts(payloads, secret=secret)
    assert fast_failures == slow_failures
    assert [i for i, _ in fast] == [i for i, _ in slow]
    for (_, a), (_, b) in zip(fast, slow, strict=True):
        assert a == b
        assert encode(a) == encode(b)


def test_both_routes_agree_on_generated_and_broken_messages() -> None:
    rng = random.Random(11)
    payloads = list(LINES)
    for line in LINES[::2]:
        payloads += _mutations(line, rng)
    payloads += _poison(rng)
    rng.shuffle(payloads)
    for secret in (b"k", None):
        _assert_same(payloads, secret)


FIELDS = sorted({k for line in LINES for k in orjson.loads(line)} | {"email", "person", "extra"})
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats()
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(LINES), st.sampled_from(FIELDS), json_values)
def test_both_routes_agree_on_any_changed_field(line: bytes, name: str, value: object) -> None:
    payload = orjson.dumps({**orjson.loads(line), name: value})
    _assert_same([LINES[0], payload], b"k")


def test_messages_without_emails_take_the_route_straight_from_json() -> None:
    """The dict route costs about twice as much: every valid message with no clear
    email (and no escape) must validate straight from JSON, every event type."""
    plain = [line for line in LINES if b'"email"' not in line and b"\\" not in line]
    types = {orjson.loads(line)["event_type"] for line in plain}
    assert len(types) >= 14
    assert [line for line in plain if _direct(line, 64 * 1024) is None] == []
