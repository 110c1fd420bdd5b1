"""The synthetic-world generator: a valid contract, intended malformed lines, late touches."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from oppchain.generator import World
from tests.unit import generator_worlds
from tests.unit.generator_worlds import Decoded
from tests.unit.generator_worlds import touch as _touch


@pytest.fixture(scope="module")
def world() -> World:
    return generator_worlds.world()


@pytest.fixture(scope="module")
def decoded() -> Decoded:
    return generator_worlds.decoded()


def test_every_good_line_decodes(world: World, decoded: Any) -> None:
    events, failures = decoded
    bad_lines = {r["line"] for r in world.truth["bad"]}
    assert {f.index for f in failures} == bad_lines
    assert len(events) == world.truth["counts"]["valid"] == len(world.events) - len(bad_lines)
    by_type = Counter(event.event_type for _, event in events)
    assert dict(by_type) == world.truth["counts"]["by_event_type"]
    assert len({event.event_id for _, event in events}) == len(events)
    ids = {event.event_id for _, event in events} | {r["event_id"] for r in world.truth["bad"]}
    assert len(ids) == len(world.events)


def test_timestamps_are_utc_with_z(world: World) -> None:
    bad_lines = {r["line"] for r in world.truth["bad"]}
    for i, line in enumerate(world.events):
        if i not in bad_lines:
            stamp = orjson.loads(line)["occurred_at"]
            assert stamp.endswith("Z") and datetime.fromisoformat(stamp).tzinfo is not None


def test_bad_lines_fail_for_the_intended_reason(world: World, decoded: Any) -> None:
    _, failures = decoded
    reasons = {f.index: f.reason for f in failures}
    records = world.truth["bad"]
    assert len(records) == world.truth["counts"]["bad"] == 400
    for record in records:
        assert reasons[record["line"]] == record["reason"], record
    kinds = Counter(r["kind"] for r in records)
    assert kinds == world.truth["counts"]["bad_by_kind"]
    assert set(kinds) == {
        "malformed_json",
        "unknown_event_type",
        "unknown_schema_version",
        "missing_field",
        "extra_field",
        "wrong_type",
        "naive_timestamp",
        "oversized",
    }
    oversized = [r["line"] for r in records if r["kind"] == "oversized"]
    assert all(len(world.events[line]) > 64 * 1024 for line in oversized)


def test_late_touches_arrive_out_of_order(world: World, decoded: Any) -> None:
    events, _ = decoded
    late = set(world.truth["late"])
    touches = sum(1 for _, e in events if _touch(e) is not None)
    assert late and abs(len(late) - 0.02 * touches) <= 0.005 * touches + 2
    newest = datetime.min.replace(tzinfo=UTC)
    behind = set()
    for _, event in events:
        if event.occurred_at < newest:
            behind.add(event.event_id)
        newest = max(newest, event.occurred_at)
        if event.event_id in late:
            assert _touch(event) is not None
    assert behind <= late
    assert len(behind) > 0.5 * len(late)
