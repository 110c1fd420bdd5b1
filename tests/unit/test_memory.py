"""Compact state containers: seen ids, columns of touches, journeys kept exact."""

from __future__ import annotations

import random

from streams.domain.journeys import Journeys
from streams.domain.memory import Columns, HashTimes, Interner, SeenIds, deep_size
from streams.domain.touches import Touch


def touch(at: int, event_id: str, channel: str = "x", intro: str | None = None) -> Touch:
    return Touch(at, event_id, channel, None, "like", "inbound", None, intro)


def test_seen_ids_add_once_across_flushes() -> None:
    seen = SeenIds(["a", "b"])
    ids = [f"ev-{i}" for i in range(5000)]
    assert all(seen.add(i) for i in ids)
    assert not any(seen.add(i) for i in [*ids, "a", "b"])
    seen.flush()
    assert len(seen) == 5002 and "ev-17" in seen and "ev-x" not in seen
    assert {e for e in ("a", "zz", "ev-3") if e in seen} == {"a", "ev-3"}


def test_seen_ids_cost_about_eight_bytes_an_id() -> None:
    seen = SeenIds(f"workspace-{i:09d}" for i in range(20000))
    assert deep_size(seen) < 10 * 20000


def test_hash_times_keep_the_first_time_of_a_key_across_flushes() -> None:
    times = HashTimes()
    rng = random.Random(5)
    keys = list({rng.randrange(-(2**63), 2**63): None for _ in range(3000)})
    assert all(times.add(k, i) for i, k in enumerate(keys))
    assert not any(times.add(k, -1) for k in keys[::7])  # mapped already: kept as it was
    assert len(times) == len(keys) == 3000
    assert [times.get(k) for k in keys] == list(range(3000))
    assert times.get(12345) is None and sorted(times.times()) == list(range(3000))


def test_hash_times_cost_about_sixteen_bytes_an_entry() -> None:
    times = HashTimes()
    for i in range(20000):
        times.add(hash(f"post-{i}"), 1_700_000_000 + i)
    assert deep_size(times) < 20 * 20000


def test_columns_round_trip_any_ids() -> None:
    kinds: Interner[tuple[object, ...]] = Interner()
    rows = [touch(1, "ab"), touch(2, "abc", "y"), touch(2, "a\nb"), touch(9, "", intro="p_1")]
    cols = Columns(rows, kinds)
    assert cols.rows(Touch, kinds) == rows and cols.event_ids() == [t.event_id for t in rows]
    assert len(cols) == 4 and cols.count_until(2) == 3 and cols.last() == (9, "")
    later = cols.with_later([touch(10, "ab2")], kinds)
    assert later is not None and later.rows(Touch, kinds) == [*rows, touch(10, "ab2")]
    same = Columns([touch(1, "ev-001"), touch(2, "ev-002")], kinds)
    assert same.prefix == 5 and same.with_later([touch(3, "other")], kinds) is None
    assert cols.rows(Touch, kinds) == rows  # the original is left as it was


def test_columns_without_head_keep_the_rest_and_name_the_cut() -> None:
    kinds: Interner[tuple[object, ...]] = Interner()
    rows = [touch(i, f"ev-{i:03d}" if i % 3 else f"ev-{i}", f"c{i % 2}") for i in range(9)]
    cols = Columns(rows, kinds)
    for k in range(1, 10):
        rest, gone = cols.without_head(k)
        codes = kinds.codes([t[2:] for t in rows[:k]])  # known already: no new code
        assert gone == [(t.at, t.event_id, c) for t, c in zip(rows[:k], codes, strict=True)]
        assert rest.rows(Touch, kinds) == rows[k:] and rest.event_ids() == [
            t.event_id for t in rows[k:]
        ]
        grown = rest.with_later([touch(20, "ev-020")], kinds)
        assert grown is not None and grown.rows(Touch, kinds) == [*rows[k:], touch(20, "ev-020")]
    assert cols.rows(Touch, kinds) == rows


def test_journeys_same_whatever_the_arrival_order() -> None:
    touches = [touch(random.Random(i).randrange(100), f"e{i:03d}") for i in range(60)]
    expected = None
    for seed in range(5):
        order = touches[:]
        random.Random(seed).shuffle(order)
        j = Journeys(max_steps=20)
        for k in range(0, len(order), 7):
            j.add("p", order[k : k + 7] + order[:2])  # with repeats
        got = (j.get("p"), [j.count_until("p", end) for end in range(0, 101, 10)])
        assert expected is None or got == expected
        expected = got
    assert expected is not None and len(expected[0]) == 20 and expected[1][-1] == 60


def test_journeys_fed_in_order_past_the_cap_match_one_batch() -> None:
    touches = [touch(i // 2, f"e{i:03d}", f"c{i % 3}") for i in range(50)]
    one = Journeys(max_steps=12)
    one.add("p", touches)
    step = Journeys(max_steps=12)
    for k in range(0, 50, 3):
        fresh = step.add("p", touches[k : k + 3] + touches[:4])  # old, dropped ones again
        assert fresh == touches[k : k + 3] or k < 4
    assert step.get("p") == one.get("p") == tuple(touches[-12:])
    assert [step.count_until("p", e) for e in range(26)] == [
        one.count_until("p", e) for e in range(26)
    ]
