"""Right to be forgotten: after ``erase`` no table holds the person's ids, keys or events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from oppchain.erase import (
    erase,
    erased_event_hashes,
    erasures_since,
    event_hash,
    resolve,
)
from oppchain.generator import generate
from oppchain.settings import Settings
from schemas.codec import decode_batch
from sinks.spec import quote
from sinks.tables.privacy import TABLES as PRIVACY_TABLES
from sinks.writer import ClickHouseSink
from streams.ingest import Record
from streams.processor import Processor
from streams.routing import partition_for

pytestmark = pytest.mark.integration


def _load(settings: Settings, client: Any) -> list[Record]:
    world = generate(3, 365, events=6000, bad_fraction=0.01)
    records = [Record("oppchain.social", 0, i, None, line) for i, line in enumerate(world.events)]
    processor = Processor(settings)
    sink = ClickHouseSink(lambda: client)
    for start in range(0, len(records), 5000):
        sink.write(processor.process(records[start : start + 5000]).rows)
    for table in PRIVACY_TABLES:
        client.command(table.create_sql())
    return records


def _counts(client: Any) -> dict[str, int]:
    names = client.query(
        "SELECT name FROM system.tables WHERE database = currentDatabase() "
        "AND engine LIKE '%MergeTree'"
    ).result_rows
    return {n: client.query(f"SELECT count() FROM {n}").result_rows[0][0] for (n,) in names}


def _text_columns(client: Any) -> list[tuple[str, str, bool]]:
    rows = client.query(
        "SELECT c.table, c.name, c.type FROM system.columns AS c INNER JOIN system.tables AS t "
        "ON c.database = t.database AND c.table = t.name WHERE c.database = currentDatabase() "
        "AND t.engine LIKE '%MergeTree'"
    ).result_rows
    out = []
    for table, name, ch_type in rows:
        base = ch_type.replace("LowCardinality(", "").replace("Nullable(", "").rstrip(")")
        if base == "String":
            out.append((table, name, False))
        elif base == "Array(String":
            out.append((table, name, True))
    return out


def _found(client: Any, exact: set[str], quoted: list[str]) -> list[str]:
    """table.column of every String / Array(String) column holding one of the values."""
    exact_list = "[" + ", ".join(quote(v) for v in sorted(exact)) + "]"
    hits = []
    for table, column, is_array in _text_columns(client):
        col = f"`{column}`"
        if is_array:
            cond = f"hasAny({col}, {exact_list})"
        else:
            conds = [f"has({exact_list}, toString({col}))"]
            for start in range(0, len(quoted), 200):
                chunk = ", ".join(quote(q) for q in quoted[start : start + 200])
                conds.append(f"multiSearchAny(toString({col}), [{chunk}])")
            cond = " OR ".join(conds)
        n = client.query(f"SELECT count() FROM {table} WHERE {cond}").result_rows[0][0]
        if n:
            hits.append(f"{table}.{column}: {n}")
    return hits


def test_erase_removes_person_everywhere(settings: Settings, clickhouse: Any) -> None:
    client = clickhouse
    _load(settings, client)
    workspace, person = client.query(
        "SELECT workspace, person_id FROM opportunity_chains "
        "ORDER BY workspace, opportunity_id LIMIT 1"
    ).result_rows[0]
    subject = resolve(client, workspace, person)
    assert subject.events and subject.opportunities and len(subject.keys) >= 2
    # The same person is found from any of their identity keys.
    handle = sorted(k for k in subject.keys if not k.startswith(("crm:", "email:")))[0]
    assert resolve(client, workspace, key=handle).person_ids == subject.person_ids
    typed = handle.replace(":", ":@", 1).upper()  # as a person may type it
    assert resolve(client, workspace, key=typed).person_ids == subject.person_ids
    values = subject.person_ids | subject.keys | subject.events | subject.contacts
    key_values = {k.split(":", 1)[1] for k in subject.keys}
    quoted = sorted(f'"{v}"' for v in values | key_values)
    assert _found(client, values, quoted), "the search must see the person before"

    # Merged, relationships keeps each person's latest row only (relationships_daily
    # keeps the days): the others' history must survive the erasure all the same.
    client.command("OPTIMIZE TABLE relationships FINAL")
    before = _counts(client)
    started = datetime.now(UTC) - timedelta(seconds=1)
    secret = settings.secret_bytes()
    report = erase(client, secret, workspace, person)
    after = _counts(client)

    assert report.complete, report.rows_remaining
    assert report.events == len(subject.events)
    for table in ("touchpoints", "crm_events", "opportunity_chains", "attribution_credit_sets"):
        assert report.rows_removed.get(table, 0) > 0, table
    assert report.rows_removed["touchpoints"] + report.rows_removed["crm_events"] == report.events
    # Nothing of the person is left in any column of any table.
    assert _found(client, values, quoted) == []
    # Everyone else is untouched: each table lost exactly the rows reported.
    for table in before:
        if table in ("erasures", "erased_events", "touchpoints_daily", "karma_daily"):
            continue
        assert before[table] - after[table] == report.rows_removed.get(table, 0), table
    # Every erased message is accounted: events, dead letters and dropped duplicates.
    others = sum(report.rows_removed.get(t, 0) for t in ("dead_letters", "ingest_duplicates"))
    assert others > 0  # the world's bad and duplicated messages include some of theirs
    assert after["erasures"] == 1 and after["erased_events"] == report.events + others
    # Rollups were recomputed without the erased touches.
    ws = quote(workspace)
    touches = client.query(
        f"SELECT sum(touches) FROM touchpoints_daily WHERE workspace = {ws}"
    ).result_rows[0][0]
    stored = client.query(f"SELECT count() FROM touchpoints WHERE workspace = {ws}").result_rows
    assert touches == stored[0][0]
    assert "touchpoints_daily" in report.rollups_rebuilt

    # The record holds counts and keyed hashes only, and the worker can find it.
    (notice,) = erasures_since(client, started)
    assert notice.workspace == workspace and notice.erasure_id == report.erasure_id
    assert erasures_since(client, notice.erased_at) == []
    some_event = sorted(subject.events)[0]
    assert event_hash(secret, workspace, some_event) in erased_event_hashes(client, workspace)

    # Stream state rebuilt from what is stored no longer knows the person.
    payloads = [
        r[0].encode()
        for r in client.query(
            f"SELECT payload FROM (SELECT occurred_at, event_id, payload FROM touchpoints "
            f"WHERE workspace = {ws} UNION ALL SELECT occurred_at, event_id, payload "
            f"FROM crm_events WHERE workspace = {ws}) ORDER BY occurred_at, event_id"
        ).result_rows
    ]
    decoded, failures = decode_batch(payloads)
    assert not failures
    processor = Processor(settings)
    processor.rebuild(e for _, e in decoded)
    graph = processor.state(workspace).graph
    assert not [k for k in subject.keys if graph.has_key(k)]
    seen = processor.seen[workspace]
    assert not {e for e in subject.events if e in seen}

    # Erasing again finds nothing and changes nothing.
    again = erase(client, secret, workspace, person)
    assert again.rows_removed == {} and again.complete


def _first_chain_person(client: Any) -> tuple[str, str]:
    workspace, person = client.query(
        "SELECT workspace, person_id FROM opportunity_chains "
        "ORDER BY workspace, opportunity_id LIMIT 1"
    ).result_rows[0]
    return workspace, person


def _dead_letter(offset: int, payload: str) -> dict[str, Any]:
    """A message that could not be read: no workspace, no event id."""
    return {
        "dead_at": datetime(2026, 6, 1, tzinfo=UTC),
        "reason": "invalid_json",
        "detail": "truncated",
        "source_topic": "oppchain.social",
        "source_partition": 7,
        "source_offset": offset,
        "message_key": "",
        "event_id": "",
        "workspace": "",
        "payload_bytes": len(payload),
        "payload": payload,
    }


def _positions(client: Any, table: str) -> set[tuple[str, int, int]]:
    rows = client.query(
        f"SELECT source_topic, source_partition, source_offset FROM {table}"
    ).result_rows
    return {(t, int(p), int(o)) for t, p, o in rows}


def test_unreadable_dead_letters_and_duplicates_go_and_stay_accounted(
    settings: Settings, clickhouse: Any
) -> None:
    client = clickhouse
    _load(settings, client)
    workspace, person = _first_chain_person(client)
    subject = resolve(client, workspace, person)
    handle = sorted(k for k in subject.keys if not k.startswith(("crm:", "email:")))[0]
    value = handle.split(":", 1)[1]
    event_id = sorted(subject.events)[0]
    duplicate = {
        "dropped_at": datetime(2026, 6, 1, tzinfo=UTC),
        "workspace": workspace,
        "event_id": event_id,
        "source_topic": "oppchain.social",
        "source_partition": 9,
        "source_offset": 123,
    }
    ClickHouseSink(lambda: client).write(
        {
            "dead_letters": [
                _dead_letter(1, '{"handle": "' + value + '", "note": "x'),
                _dead_letter(2, '{"handle": "somebody-else", "note": "x'),
            ],
            "ingest_duplicates": [duplicate],
        }
    )

    report = erase(client, settings.secret_bytes(), workspace, person)

    assert report.complete, report.rows_remaining
    dead = _positions(client, "dead_letters")
    assert ("oppchain.social", 7, 1) not in dead and ("oppchain.social", 7, 2) in dead
    assert ("oppchain.social", 9, 123) not in _positions(client, "ingest_duplicates")
    # Reconciliation still accounts for both messages: their positions are recorded.
    erased = _positions(client, "erased_events")
    assert {("oppchain.social", 7, 1), ("oppchain.social", 9, 123)} <= erased
    assert len(erased) == report.events + report.rows_removed["dead_letters"] + 1


def test_readable_dead_letters_go_when_they_name_the_person_not_their_handle_text(
    settings: Settings, clickhouse: Any
) -> None:
    """The text of a handle is also another platform's handle, or a campaign: a dead
    letter that reads as JSON goes only when a key it names is the person's."""
    client = clickhouse
    _load(settings, client)
    workspace, person = _first_chain_person(client)
    subject = resolve(client, workspace, person)
    handle = sorted(k for k in subject.keys if not k.startswith(("crm:", "email:")))[0]
    platform, value = handle.split(":", 1)
    other = next(p for p in ("x", "linkedin", "instagram") if f"{p}:{value}" not in subject.keys)
    bodies = {
        3: {"platform": platform, "handle": value.upper(), "action": "like"},
        4: {"platform": other, "handle": value, "action": "like"},
        5: {"platform": other, "handle": "someone", "campaign": value, "own_account": value},
        6: {"event_type": "introduction", "person": {"platform": platform, "handle": "@" + value}},
        7: ["not", "an", "object", value],
    }
    letters = [
        {**_dead_letter(o, orjson.dumps(b).decode()), "workspace": workspace}
        for o, b in bodies.items()
    ]
    ClickHouseSink(lambda: client).write({"dead_letters": letters})

    report = erase(client, settings.secret_bytes(), workspace, person)

    assert report.complete, report.rows_remaining
    kept = {o for t, p, o in _positions(client, "dead_letters") if (t, p) == ("oppchain.social", 7)}
    assert kept == {4, 5}  # another platform's handle, a campaign; 7 cannot be read as one


def test_a_redelivered_erased_event_is_not_stored_again(
    settings: Settings, clickhouse: Any
) -> None:
    client = clickhouse
    records = _load(settings, client)
    workspace, person = _first_chain_person(client)
    subject = resolve(client, workspace, person)
    report = erase(client, settings.secret_bytes(), workspace, person)
    assert report.complete and report.events == len(subject.events)

    # A worker rebuilt after the erasure; the topic is then read again from the start.
    sink = ClickHouseSink(lambda: client)
    processor = Processor(settings)
    workspaces = [
        r[0] for r in client.query("SELECT DISTINCT workspace FROM crm_events").result_rows
    ]
    processor.replay(sink.query, workspaces)
    erased = [records[offset] for _, _, offset in subject.lineage.values()]
    # Their dead letters too: erased by position, they carry no event id to know.
    events = {offset for _, _, offset in subject.lineage.values()}
    positions = _positions(client, "erased_events")
    others = [o for t, p, o in positions if (t, p) == ("oppchain.social", 0) and o not in events]
    dead = [records[o] for o in others]
    assert dead and not processor.process(dead).dead
    result = processor.process(erased)
    assert (result.valid, result.duplicates) == (0, len(erased))
    assert "touchpoints" not in result.rows and "crm_events" not in result.rows
    assert "ingest_duplicates" not in result.rows  # which would hold the erased ids again
    assert len(result.rows["erased_events"]) == len(erased)
    before = _positions(client, "erased_events")
    sink.write(result.rows)
    assert _positions(client, "erased_events") == before  # the same positions, once
    # Every other event is still a duplicate of what is stored, as before.
    assert processor.process(records[:500]).valid == 0


def test_a_workspace_erased_whole_is_replayed_so_its_erased_events_stay_out(
    settings: Settings, clickhouse: Any
) -> None:
    """Every stored event of "solo" belongs to one person, who is erased: the
    workspace has no stored events left, only erased ones. A worker rebuilding its
    partitions must still learn them, or a redelivery is stored again."""
    from tests.integration.harness import make_pipeline

    client = clickhouse
    for table in PRIVACY_TABLES:
        client.command(table.create_sql())
    at = datetime(2025, 3, 1, tzinfo=UTC)
    envelope = {"schema_version": 1, "source": "t", "workspace": "solo"}
    events = [
        {**envelope, "event_id": "c1", "event_type": "contact_upserted",
         "occurred_at": at.isoformat(), "contact_id": "C1",
         "handles": [{"platform": "x", "handle": "ann"}]},
        {**envelope, "event_id": "l1", "event_type": "social_interaction",
         "occurred_at": (at + timedelta(days=1)).isoformat(), "platform": "x",
         "own_account": "us", "handle": "ann", "direction": "inbound", "action": "like"},
    ]  # fmt: skip
    home = partition_for("solo", settings.partitions)  # a worker checks the routing
    records = [Record("t", home, i, None, orjson.dumps(e)) for i, e in enumerate(events)]
    ClickHouseSink(lambda: client).write(Processor(settings).process(records).rows)
    [(person,)] = client.query("SELECT DISTINCT person_id FROM touchpoints").result_rows
    assert erase(client, settings.secret_bytes(), "solo", person).complete
    assert _counts(client)["touchpoints"] + _counts(client)["crm_events"] == 0

    pipeline = make_pipeline(settings)
    try:
        assert pipeline._workspaces_of(set(range(settings.partitions))) == ["solo"]
        pipeline.rebuild(set(range(settings.partitions)))
        assert pipeline.processor is not None
        again = pipeline.processor.process(records)
    finally:
        pipeline.close()
    assert (again.valid, again.duplicates, len(again.rows["erased_events"])) == (0, 2, 2)


def test_events_that_name_the_person_in_any_case_or_spacing_are_erased(
    settings: Settings, clickhouse: Any
) -> None:
    """ann likes as ``ann`` and ``Élise`` (linkedin); a link written ``"ann "`` and
    ``"ÉLISE"`` joins them, and ``"ÉLISE"`` introduces bob. Keys are stored lower
    case and trimmed, so only the payload text names her in those two events."""
    at = datetime(2025, 3, 1, tzinfo=UTC)

    def event(event_id: str, event_type: str, day: int, **fields: Any) -> bytes:
        occurred = (at + timedelta(days=day)).isoformat()
        head = {"source": "t", "workspace": "ws", "event_id": event_id, "occurred_at": occurred}
        return orjson.dumps({**head, "event_type": event_type, **fields})

    def like(event_id: str, platform: str, handle: str) -> bytes:
        fields = {"platform": platform, "own_account": "us", "handle": handle}
        return event(
            event_id, "social_interaction", 1, **fields, direction="inbound", action="like"
        )

    lines = [
        like("a1", "x", "ann"),
        like("a2", "linkedin", "Élise"),
        like("b1", "x", "bob"),
        event(
            "link", "identity_linked", 2,
            a={"platform": "x", "handle": "ann "}, b={"platform": "linkedin", "handle": "ÉLISE"},
        ),
        event(
            "intro", "introduction", 3,
            introducer={"platform": "linkedin", "handle": "ÉLISE"},
            person={"platform": "x", "handle": "bob"},
        ),
    ]  # fmt: skip
    records = [Record("oppchain.social", 0, i, None, line) for i, line in enumerate(lines)]
    ClickHouseSink(lambda: clickhouse).write(Processor(settings).process(records).rows)
    for table in PRIVACY_TABLES:
        clickhouse.command(table.create_sql())
    [(ann,)] = clickhouse.query(
        "SELECT DISTINCT person_id FROM touchpoints WHERE identity_key = 'x:ann'"
    ).result_rows

    report = erase(clickhouse, settings.secret_bytes(), "ws", ann)

    assert report.complete and report.events == 4
    left = clickhouse.query(
        "SELECT event_id FROM touchpoints UNION ALL SELECT event_id FROM crm_events"
    ).result_rows
    assert left == [("b1",)]
    assert len(_positions(clickhouse, "erased_events")) == 4  # so a redelivery stays out


def test_rows_a_worker_stored_before_its_rebuild_are_erased_once_it_has_rebuilt(
    settings: Settings, clickhouse: Any
) -> None:
    """A worker's memory holds the person until it rebuilds the workspace: a batch it
    stores meanwhile can write the person's chain and credits again. Here a thread
    plays that worker: it writes those rows back after the erasure, then says it has
    rebuilt; ``erase`` waits for that and deletes them."""
    import threading

    from oppchain.erasure_log import acknowledge, erasures_since

    client = clickhouse
    _load(settings, client)
    workspace, person = _first_chain_person(client)
    opportunities = client.query(
        f"SELECT DISTINCT opportunity_id FROM opportunity_chains WHERE person_id = {quote(person)}"
    ).result_rows
    theirs = f"opportunity_id IN ({', '.join(quote(o) for (o,) in opportunities)})"
    stale = {}
    for table in ("opportunity_chains", "attribution_credit_sets"):
        found = client.query(f"SELECT * FROM {table} WHERE {theirs}")
        stale[table] = (found.column_names, found.result_rows)
    assert all(rows for _, rows in stale.values())

    def worker() -> None:
        deadline = datetime.now(UTC) + timedelta(seconds=60)
        while not (notices := erasures_since(client, datetime(2000, 1, 1, tzinfo=UTC))):
            assert datetime.now(UTC) < deadline
        for table, (columns, rows) in stale.items():
            client.insert(table, rows, column_names=columns, settings={"insert_deduplicate": 0})
        acknowledge(client, notices, "test:1")

    thread = threading.Thread(target=worker)
    thread.start()
    report = erase(client, settings.secret_bytes(), workspace, person, wait_for_worker_s=60)
    thread.join()

    assert report.complete and report.worker_rebuilt
    assert report.rows_removed_after_rebuild == {t: len(r) for t, (_, r) in stale.items()}
    for table in stale:
        n = client.query(f"SELECT count() FROM {table} WHERE {theirs}")
        assert n.result_rows == [(0,)], table
    lonely = erase(client, settings.secret_bytes(), workspace, person, wait_for_worker_s=1)
    assert lonely.worker_rebuilt is False  # nobody answered: said so, nothing more done
