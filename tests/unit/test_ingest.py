"""Ingest rows: the fast social path and the generic path agree, column for column."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from oppchain.generator import generate
from oppchain.settings import Settings
from schemas.codec import decode_batch, encode
from schemas.events import ContactUpserted, CostRecorded
from sinks.tables.ingest import TOUCHPOINTS
from streams.ingest import (
    TOUCH_COLUMNS,
    Record,
    Valid,
    event_rows,
    social_touch_tuple,
    split,
    stored_payload,
    touchpoint_row,
)
from streams.processor import Processor


def _valid(lines: list[bytes]) -> list[Valid]:
    decoded, failures = decode_batch(lines, secret=b"k")
    assert not failures
    return [Valid(Record("t", 0, i, None, lines[i]), event) for i, event in decoded]


def test_fast_social_rows_equal_the_reference_rows() -> None:
    items = _valid(generate(3, 120, events=600).events)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    social = [i for i in items if i.event.event_type == "social_interaction"]
    assert len(social) > 300
    for item in social:
        reference = touchpoint_row(item, "p_1", "A", now)
        assert social_touch_tuple(item, "p_1", "A", now) == tuple(
            reference[c] for c in TOUCH_COLUMNS
        )
    touches, crm = event_rows(items, {}, now)
    table = TOUCHPOINTS.to_arrow(touches)
    assert table.num_rows == len(touches) and table.column_names == list(TOUCH_COLUMNS)
    assert len(touches) + len(crm) == len(items)


def test_payload_is_canonical_when_the_message_held_an_email() -> None:
    line = (
        b'{"event_id":"e1","event_type":"meeting","occurred_at":"2025-01-01T00:00:00Z",'
        b'"source":"s","workspace":"w","person":{"email":"a@b.example"},"meeting_kind":"call"}'
    )
    (item,) = _valid([line])
    assert b"a@b.example" not in stored_payload(item).encode()
    assert "email_hash" in stored_payload(item)


def _canonical(item: Valid) -> str:
    """stored_payload of an item whose message bytes cannot be kept."""
    return stored_payload(item._replace(record=item.record._replace(value=b"@")))


def test_canonical_payload_is_the_encoded_event() -> None:
    items = _valid(generate(3, 730, events=10000, workspaces=6).events[::7])
    assert any("email_hash" in _canonical(i) for i in items)
    for item in items:
        assert _canonical(item) == encode(item.event).decode()


@settings(max_examples=300, deadline=None)
@given(
    st.text(min_size=1, max_size=64),
    st.floats(0, 1e13),
    st.datetimes(datetime(1970, 1, 1), datetime(2099, 12, 31), timezones=st.just(UTC)),
)
def test_canonical_payload_is_the_encoded_event_for_any_text(
    text: str, amount: float, when: datetime
) -> None:
    event = CostRecorded(
        event_id=text,
        occurred_at=when,
        source="s",
        workspace="w",
        cost_kind="time",
        amount=amount,
        campaign=text,
    )
    item = Valid(Record("t", 0, 0, None, b"@"), event)
    assert stored_payload(item) == encode(event).decode()


def test_an_event_off_its_workspace_partition_is_a_dead_letter_with_the_reason() -> None:
    from streams.ingest import misrouted
    from streams.routing import partition_for

    lines = generate(5, 60, events=300, workspaces=3).events
    items = _valid(lines)  # all read on partition 0
    homes = {i.event.workspace: partition_for(i.event.workspace, 4) for i in items}
    assert len(set(homes.values())) > 1, "the worlds' workspaces live on several partitions"
    moved = [
        i._replace(record=i.record._replace(partition=homes[i.event.workspace])) for i in items
    ]
    moved[7] = moved[7]._replace(record=moved[7].record._replace(partition=9))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    kept, dead = misrouted(moved, 4, now)
    assert kept == moved[:7] + moved[8:]
    [(record, row)] = dead
    workspace = moved[7].event.workspace
    assert record == moved[7].record
    assert row["reason"] == "wrong_partition"
    assert row["detail"] == (
        f"workspace {workspace!r} belongs on partition {homes[workspace]} of 4, not 9"
    )
    assert (row["event_id"], row["workspace"]) == (moved[7].event.event_id, workspace)
    assert (row["source_partition"], row["source_offset"]) == (9, 7)
    assert row["payload"] == lines[7].decode() and row["dead_at"] == now


def _contact_with_handles(n: int) -> bytes:
    # 4 bytes a character: 64 handles of 250 characters make about 64 KB
    handles = [{"platform": "x", "handle": f"h{i}-" + "\U0001f600" * 250} for i in range(n)]
    return encode(
        ContactUpserted(
            event_id="c1",
            occurred_at=datetime(2025, 1, 2, tzinfo=UTC),
            source="crm",
            workspace="w",
            contact_id="C1",
            handles=handles,
        )
    )


def test_a_stored_event_over_the_message_limit_is_rebuilt() -> None:
    """A worker with a raised limit stores a 65 KB event; the rebuild after a restart
    must read it back (it used to decode stored events under the default limit)."""
    payload = _contact_with_handles(64)
    settings = Settings(max_message_bytes=256 * 1024)
    assert len(payload) > 64 * 1024
    stored = Processor(settings).process([Record("t", 0, 0, None, payload)])
    assert stored.valid == 1 and not stored.dead
    rebuilt = Processor(settings)
    assert rebuilt.rebuild_payloads([payload]) == 1
    assert "c1" in rebuilt.seen["w"]


def test_a_tombstone_is_dead_lettered_as_empty() -> None:
    valid, dead = split([Record("t", 0, 7, b"k", None)], secret=b"k", max_bytes=1024)
    assert valid == [] and [row["reason"] for _, row in dead] == ["empty"]
