"""Upgrading a database: migrations applied to existing data keep what analysts see."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from oppchain.settings import Settings
from sinks.clickhouse import close_embedded, connect
from sinks.migrations import (
    MIGRATIONS,
    ChangedMigration,
    Migration,
    migrate,
    statement,
    table,
)
from sinks.spec import AddColumn
from sinks.tables import chains
from sinks.tables.relationship_views import VIEWS_0004
from sinks.writer import Backoff, ClickHouseSink
from streams.domain.rows import CREDIT_COLUMNS
from streams.domain.state import WorkspaceState
from streams.ingest import Record
from streams.processor import Processor

MIGRATION_0009 = "0009_retried_inserts_deduplicated_everywhere_flagged_handles_once"


def _at(day: int) -> datetime:
    return datetime(2024, 1, day, tzinfo=UTC)


# Rows as 0002's attribution_credits held them: touch 1 of o1 got no linear credit.
OLD_CREDITS = [
    ("w", "o1", "linear", 0, "e0", _at(1), "x", "", 0.5, 50.0, "USD", 3),
    ("w", "o1", "linear", 2, "e2", _at(3), "offline", "c", 0.5, 50.0, "USD", 3),
    ("w", "o1", "first_touch", 0, "e0", _at(1), "x", "", 1.0, 100.0, "USD", 3),
    ("w", "o2", "last_touch", 0, "f0", _at(2), "referral", "", 1.0, 7.5, "EUR", 1),
]


def test_credit_sets_migration_keeps_every_credit_row(settings: Settings) -> None:
    dsn = settings.resolved_dsn()
    client = connect(dsn)
    try:
        migrate(client, MIGRATIONS[:5])
        client.insert("attribution_credits", OLD_CREDITS, column_names=list(CREDIT_COLUMNS))
        assert migrate(client) == [m.id for m in MIGRATIONS[5:]]
        order = " ORDER BY opportunity_id, model, touch_index"
        got = client.query(f"SELECT * FROM attribution_credits{order}").result_rows
        naive = [(*r[:5], r[5].replace(tzinfo=None), *r[6:]) for r in OLD_CREDITS]
        assert got == sorted(naive, key=lambda r: (r[1], r[2], r[3]))
        sets = client.query(
            "SELECT opportunity_id, model, value, touch_event_ids, credit_fractions "
            "FROM attribution_credit_sets ORDER BY opportunity_id, model"
        ).result_rows
        assert sets == [
            ("o1", "first_touch", 100.0, ["e0"], [1.0]),
            ("o1", "linear", 100.0, ["e0", "", "e2"], [0.5, 0.0, 0.5]),
            ("o2", "last_touch", 7.5, ["f0"], [1.0]),
        ]
        tables = {r[0] for r in client.query("SHOW TABLES").result_rows}
        assert {"attribution_credits", "attribution_credits_latest"} <= tables
        engine = client.query(
            "SELECT engine FROM system.tables WHERE database = currentDatabase() "
            "AND name = 'attribution_credits'"
        ).result_rows
        assert engine == [("View",)]
        assert migrate(client) == []
    finally:
        close_embedded(dsn)


def test_ring_engagement_share_counts_a_twice_stored_event_once(settings: Settings) -> None:
    """A raw row stored twice (a worker that lost its partitions mid-write) counted
    twice in 0004's view; 0008's view counts each event once."""
    dsn = settings.resolved_dsn()
    client = connect(dsn)
    touch = ["workspace", "event_id", "occurred_at", "platform", "identity_key", "direction"]
    try:
        migrate(client, MIGRATIONS[:7])
        rows = [
            ("w", "e1", _at(1), "x", "x:ring", "inbound"),
            ("w", "e2", _at(2), "x", "x:fan", "inbound"),
        ]
        for row, ingested_at in ((rows[0], _at(5)), (rows[1], _at(6)), (rows[0], _at(7))):
            # the third insert is the second store of e1: same event, later ingested_at
            client.insert(
                "touchpoints", [[*row, ingested_at]], column_names=[*touch, "ingested_at"]
            )
        client.insert(
            "authenticity_flags",
            [["w", "reciprocity_ring", "x:us", "x:ring", True, _at(3)]],
            column_names=["workspace", "flag", "own_account", "subject_key", "flagged", "as_of"],
        )
        share = "SELECT inbound_touches, flagged_touches, flagged_share FROM ring_engagement_share"
        assert client.query(share).result_rows == [(3, 2, 0.6667)]
        assert migrate(client, MIGRATIONS[:8]) == ["0008_ring_engagement_counts_each_event_once"]
        assert client.query(share).result_rows == [(2, 1, 0.5)]
    finally:
        close_embedded(dsn)


class LandsThenTimesOut:
    """A client whose first insert into each table lands, then fails as a timeout
    would: the sink retries it with the same insert_deduplication_token."""

    def __init__(self, client: Any, failed: set[str]) -> None:
        self._client = client
        self._failed = failed

    def insert_arrow(self, name: str, arrow: Any, settings: dict[str, str]) -> None:
        self._client.insert_arrow(name, arrow, settings=settings)
        if name not in self._failed:
            self._failed.add(name)
            raise TimeoutError(f"insert into {name}: no answer")


def _row(name: str, **values: Any) -> dict[str, Any]:
    """A row of ``name`` with every inserted column: ``values``, else an empty value."""
    empty = {"String": "", "UInt32": 0, "Float64": 0.0, "Bool": False}
    row: dict[str, Any] = {}
    for column in table(name).columns:
        if not column.inserted:
            continue
        kind = column.type.removeprefix("LowCardinality(").rstrip(")")
        if column.name in values:
            row[column.name] = values[column.name]
        elif kind.startswith("Array"):
            row[column.name] = []
        elif kind.startswith("DateTime"):
            row[column.name] = _at(1)
        else:
            row[column.name] = empty.get(kind, 0)
    return row


def _retried_write(client: Any, n: int) -> int:
    """Write a batch of one touchpoint and one Markov run (``n`` tells them apart)
    whose inserts land and time out once each; return the retries."""
    failed: set[str] = set()
    sink = ClickHouseSink(
        lambda: LandsThenTimesOut(client, failed), backoff=Backoff(first_s=0.0, max_s=0.0)
    )
    touch = _row(
        "touchpoints",
        workspace="w",
        event_id=f"e{n}",
        occurred_at=_at(n),
        platform="x",
        channel="x",
        identity_key=f"x:p{n}",
        person_id=f"p{n}",
        direction="inbound",
        action="like",
        intent="neutral",
        ingested_at=_at(20),
    )
    run = _row(
        "channel_attribution",
        run_id=f"r{n}",
        run_at=_at(n),
        workspace="w",
        model="markov_order_1",
        channel="x",
        removal_effect=1.0,
        share=1.0,
        paths_total=1,
        paths_converting=1,
    )
    assert sink.write({"touchpoints": [touch], "channel_attribution": [run]}) == {
        "touchpoints": 1,
        "channel_attribution": 1,
    }
    return sink.retries


def test_a_retried_insert_is_stored_once_in_every_table_from_0009(settings: Settings) -> None:
    """A retry reuses its insert's token. Before 0009 only the raw tables had a
    deduplication window: the rollup filled from touchpoints and channel_attribution
    kept the retry too."""
    dsn = settings.resolved_dsn()
    client = connect(dsn)
    daily = "SELECT day, sum(touches) FROM touchpoints_daily GROUP BY day ORDER BY day"
    runs = "SELECT run_id, count() FROM channel_attribution GROUP BY run_id ORDER BY run_id"
    latest = "SELECT run_id, sum(share) FROM channel_attribution_latest GROUP BY run_id"
    try:
        migrate(client, MIGRATIONS[:8])
        # The sink writes today's columns: those channel_attribution gained since.
        for op in chains.MARKOV_VALUE_PER_CURRENCY_0014:
            if isinstance(op, AddColumn):
                client.command(op.sql())
        assert _retried_write(client, 1) == 2
        assert client.query("SELECT count() FROM touchpoints").result_rows == [(1,)]
        assert client.query(daily).result_rows == [(_at(1).date(), 2)]
        assert client.query(runs).result_rows == [("r1", 2)]
        assert client.query(latest).result_rows == [("r1", 2.0)]

        assert migrate(client, MIGRATIONS[:9]) == [MIGRATION_0009]
        assert _retried_write(client, 2) == 2
        assert client.query("SELECT count() FROM touchpoints").result_rows == [(2,)]
        assert client.query(daily).result_rows == [(_at(1).date(), 2), (_at(2).date(), 1)]
        assert client.query(runs).result_rows == [("r1", 2), ("r2", 1)]
        assert client.query(latest).result_rows == [("r2", 1.0)]
    finally:
        close_embedded(dsn)


def test_ring_engagement_share_counts_a_handle_flagged_several_times_once(
    settings: Settings,
) -> None:
    """0008's view joined every flag row of a handle (one per flag and own account):
    a handle flagged three times counted each of its touches three times."""
    dsn = settings.resolved_dsn()
    client = connect(dsn)
    touch = ["workspace", "event_id", "occurred_at", "platform", "identity_key", "direction"]
    flag = ["workspace", "flag", "own_account", "subject_key", "flagged", "as_of"]
    try:
        migrate(client, MIGRATIONS[:8])
        client.insert(
            "touchpoints",
            [
                ("w", "e1", _at(1), "x", "x:ring", "inbound", _at(5)),
                ("w", "e2", _at(2), "x", "x:fan", "inbound", _at(5)),
            ],
            column_names=[*touch, "ingested_at"],
        )
        client.insert(
            "authenticity_flags",
            [
                ("w", "reciprocity_ring", "x:us", "x:ring", True, _at(3)),
                ("w", "engagement_pod", "x:us", "x:ring", True, _at(3)),
                ("w", "reciprocity_ring", "x:brand", "x:ring", True, _at(3)),
                ("w", "engagement_pod", "x:us", "x:fan", True, _at(3)),
            ],
            column_names=flag,
        )
        # x:fan's flag was lifted later: it is not flagged now
        client.insert(
            "authenticity_flags",
            [("w", "engagement_pod", "x:us", "x:fan", False, _at(4))],
            column_names=flag,
        )
        share = "SELECT inbound_touches, flagged_touches, flagged_share FROM ring_engagement_share"
        assert client.query(share).result_rows == [(4, 3, 0.75)]
        assert migrate(client, MIGRATIONS[:9]) == [MIGRATION_0009]
        assert client.query(share).result_rows == [(2, 1, 0.5)]
    finally:
        close_embedded(dsn)


def test_a_changed_applied_migration_is_refused_before_anything_runs(settings: Settings) -> None:
    client = connect(settings.resolved_dsn())
    try:
        first = MIGRATIONS[0]
        assert migrate(client, [first]) == [first.id]
        changed = Migration(first.id, (*first.operations, "SELECT 1"))
        later = Migration("9999_later", ("CREATE TABLE later (x UInt8) ENGINE = Memory",))
        with pytest.raises(ChangedMigration, match=first.id):
            migrate(client, [changed, later])
        tables = client.query("SELECT name FROM system.tables WHERE name = 'later'").result_rows
        assert tables == []  # nothing of the pending migration ran
        assert migrate(client, [first]) == []  # unchanged: fine
    finally:
        close_embedded(settings.resolved_dsn())


def _event(event_type: str, day: int, event_id: str, **fields: Any) -> bytes:
    return orjson.dumps(
        {
            "event_type": event_type,
            "event_id": event_id,
            "occurred_at": _at(day).isoformat(),
            "source": "test",
            "workspace": "w",
            **fields,
        }
    )


def _like(day: int, platform: str, handle: str) -> bytes:
    return _event(
        "social_interaction",
        day,
        f"{platform}-{handle}-{day}",
        platform=platform,
        own_account="us",
        handle=handle,
        direction="inbound",
        action="like",
    )


def test_one_in_n_counts_a_person_stitched_later_once_on_the_first_channel(
    settings: Settings, clickhouse: Any
) -> None:
    """Ann liked us on x, then on LinkedIn as another handle; her LinkedIn contact won
    a contract, and only then were the two handles linked. 0004's view grouped the
    touches by the person id they were written with: two persons, one per channel."""
    contact = {"contact_id": "C1", "handles": [{"platform": "linkedin", "handle": "ann-l"}]}
    first = [
        _like(1, "x", "ann"),
        _like(5, "linkedin", "ann-l"),
        _event("contact_upserted", 6, "c1", **contact),
        _event(
            "opportunity_created",
            8,
            "o1",
            opportunity_id="O1",
            contact_id="C1",
            kind="monetary",
            opportunity_type="deal",
            amount=100.0,
        ),
        _event("contract_signed", 12, "w1", opportunity_id="O1", amount=100.0),
    ]
    link = _event(
        "identity_linked",
        13,
        "l1",
        a={"platform": "x", "handle": "ann"},
        b={"platform": "linkedin", "handle": "ann-l"},
    )
    processor = Processor(settings)
    sink = ClickHouseSink(lambda: clickhouse)
    for offset, batch in ((0, first), (len(first), [link])):
        records = [Record("t", 0, offset + i, None, v) for i, v in enumerate(batch)]
        sink.write(processor.process(records).rows)
    columns = "channel, first_touches, customers, contracts_won, one_in_n"
    old = next(v for v in VIEWS_0004 if v.name == "one_in_n_by_channel").select
    assert sorted(clickhouse.query(f"SELECT {columns} FROM ({old})").result_rows) == [
        ("linkedin", 1, 0, 0, None),  # her LinkedIn id, merged away, counted as a person
        ("x", 1, 1, 1, 1.0),
    ]
    assert clickhouse.query(f"SELECT {columns} FROM one_in_n_by_channel").result_rows == [
        ("x", 1, 1, 1, 1.0)
    ]


def test_restated_authentic_credits_replace_their_version_in_history_from_0011(
    settings: Settings,
) -> None:
    """r1's ring flag is lifted a month after its deal closed: the deal's
    ``*_authentic`` credit sets are written again under the same version. Before
    0011 the history view showed both sets (fractions summing to 2)."""
    from tests.unit.test_authenticity import _ring_deal

    events = _ring_deal([1])
    state = WorkspaceState("w", authentic_models=True)
    batches = [state.apply(events[:-1]), state.apply(events[-1:])]
    assert [len(b.opportunity_chains) for b in batches] == [1, 0]
    restated = batches[1].attribution_credit_sets
    assert restated and all(r["model"].endswith("_authentic") for r in restated)
    history = (
        "SELECT count(), round(sum(credit_fraction), 6) FROM attribution_credits "
        "WHERE model = 'linear_authentic'"
    )
    latest = (
        "SELECT channel, round(credit_value, 2) FROM attribution_credits_latest "
        "WHERE model = 'linear_authentic' ORDER BY touch_index"
    )
    dsn = settings.resolved_dsn()
    client = connect(dsn)
    try:
        migrate(client, MIGRATIONS[:10])
        client.command("SYSTEM STOP MERGES attribution_credit_sets")  # both sets stay apart
        sink = ClickHouseSink(lambda: client)
        for batch in batches:
            chains = [{**c, "computed_at": _at(9)} for c in batch.opportunity_chains]
            sink.write(
                {
                    "opportunity_chains": chains,
                    "attribution_credit_sets": batch.attribution_credit_sets,
                }
            )
        assert client.query(history).result_rows == [(5, 2.0)]  # linkedin alone, then 4 x 0.25
        assert migrate(client) == [m.id for m in MIGRATIONS[10:]]
        assert client.query(history).result_rows == [(4, 1.0)]
        assert client.query(latest).result_rows == [("x", 25.0)] * 3 + [("linkedin", 25.0)]
    finally:
        close_embedded(dsn)


def test_a_credit_sets_migration_stopped_after_its_drop_runs_again(settings: Settings) -> None:
    """0006 copied the old credits, dropped their table and stopped (the server went
    away) before it was recorded: running migrate again skips the copy."""
    from sinks.spec import Drop

    dsn = settings.resolved_dsn()
    client = connect(dsn)
    try:
        migrate(client, MIGRATIONS[:5])
        client.insert("attribution_credits", OLD_CREDITS, column_names=list(CREDIT_COLUMNS))
        ops = MIGRATIONS[5].operations
        stop = next(i for i, op in enumerate(ops) if isinstance(op, Drop) and op.kind == "TABLE")
        for op in ops[: stop + 1]:
            client.command(statement(op))
        assert migrate(client)[0] == MIGRATIONS[5].id
        sets = client.query(
            "SELECT opportunity_id, model, count() FROM attribution_credit_sets "
            "GROUP BY opportunity_id, model ORDER BY opportunity_id, model"
        ).result_rows
        assert sets == [("o1", "first_touch", 1), ("o1", "linear", 1), ("o2", "last_touch", 1)]
        assert client.query("SELECT count() FROM attribution_credits").result_rows == [(4,)]
    finally:
        close_embedded(dsn)


def test_karma_returns_add_values_up_per_currency_from_0012(settings: Settings) -> None:
    """Before 0012 a karma row held one sum over all currencies. After it, rows carry
    their value per currency and ``karma_returns`` adds them up per currency; a row
    written before shows its old sum under the currency ''."""
    from schemas.events import ContactUpserted
    from tests.unit.test_karma import _deal, env, si

    state = WorkspaceState("w")
    contact = ContactUpserted(
        **env(0, "c"), contact_id="C", handles=({"platform": "x", "handle": "ann"},)
    )
    out = state.apply(
        [
            contact,
            si(1, "ann", "recommend", "outbound"),
            si(1, "ann", "dm", "outbound", campaign="c1"),
            _deal(2, "o1", "USD", 1000.0),
            _deal(3, "o2", "EUR", 300.0),
        ]
    )
    assert len(out.karma_ledger) == 2
    added = {"opportunity_currencies", "opportunity_values"}
    old_row = _row("karma_ledger", act_event_id="old", intent="give", action="share")
    old_row.update(channel="x", opportunities_after=2, opportunity_value_after=70.0)
    returns = (
        "SELECT intent, action, acts, toString(opportunity_value_by_currency) "
        "FROM karma_returns ORDER BY intent, action"
    )
    dsn = settings.resolved_dsn()
    client = connect(dsn)
    try:
        migrate(client, MIGRATIONS[:11])
        columns = [c for c in old_row if c not in added]
        client.insert("karma_ledger", [[old_row[c] for c in columns]], column_names=columns)
        assert migrate(client) == [m.id for m in MIGRATIONS[11:]]
        ClickHouseSink(lambda: client).write({"karma_ledger": out.karma_ledger})
        assert client.query(returns).result_rows == [
            ("ask", "dm", 1, "{'EUR':300,'USD':1000}"),
            ("give", "recommend", 1, "{'EUR':300,'USD':1000}"),
            ("give", "share", 1, "{'':70}"),
        ]
        mixed = client.query(
            "SELECT count() FROM karma_ledger_latest WHERE isNaN(opportunity_value_after)"
        ).result_rows
        assert mixed == [(2,)]
        comment = client.query(
            "SELECT comment FROM system.columns WHERE database = currentDatabase() "
            "AND table = 'karma_ledger' AND name = 'opportunity_value_after'"
        ).result_rows
        assert comment[0][0].endswith("NaN when they mix currencies (see opportunity_values)")
        daily = client.query(
            "SELECT comment FROM system.tables WHERE database = currentDatabase() "
            "AND name = 'karma_daily'"
        ).result_rows
        assert daily == [
            ("Gives and asks per day x workspace x platform x campaign x intent: sum(acts).",)
        ]
    finally:
        close_embedded(dsn)


def test_markov_runs_keep_value_per_currency_from_0014(settings: Settings) -> None:
    """Before 0014 a run's credit_value summed every currency won. After it, a run
    keeps the value per currency, and credit_value is NaN when they mix; the
    latest-run view shows the new columns. A run written before keeps its sum."""
    from streams.domain.markov import Path
    from streams.markov_job import markov_rows

    old_run = _row("channel_attribution", run_id="old", workspace="w", channel="x")
    old_run.update(run_at=_at(1), share=1.0, credit_value=70.0)
    paths = {
        "w": [
            Path(("x", "linkedin"), conversions=1, value=900.0, currency="USD"),
            Path(("x",), conversions=1, value=300.0, currency="EUR"),
            Path(("linkedin",), nulls=1),
        ],
        "v": [Path(("x",), conversions=2, value=50.0, currency="GBP")],
    }
    dsn = settings.resolved_dsn()
    client = connect(dsn)
    try:
        migrate(client, MIGRATIONS[:13])
        columns = [c for c in old_run if c not in {"credit_currencies", "credit_values"}]
        client.insert("channel_attribution", [[old_run[c] for c in columns]], column_names=columns)
        assert migrate(client) == [m.id for m in MIGRATIONS[13:]]
        assert client.query(
            "SELECT credit_value, credit_currencies, credit_values FROM channel_attribution"
        ).result_rows == [(70.0, [], [])]
        rows = markov_rows(paths, order=1, run_at=_at(2))
        ClickHouseSink(lambda: client).write({"channel_attribution": rows})
        latest = client.query(
            "SELECT workspace, channel, isNaN(credit_value), credit_currencies, "
            "arrayMap(v -> round(v, 6), credit_values), round(share, 6) "
            "FROM channel_attribution_latest ORDER BY workspace, channel"
        ).result_rows
        # w: P(conversion) = 2/3 * (1/2 + 1/2 * 1/2) + 1/3 * 1/2 = 2/3; without x
        # 1/6 (effect 3/4), without linkedin 1/3 (effect 1/2): shares 0.6 and 0.4.
        assert latest == [
            ("v", "x", 0, ["GBP"], [50.0], 1.0),
            ("w", "linkedin", 1, ["EUR", "USD"], [120.0, 360.0], 0.4),
            ("w", "x", 1, ["EUR", "USD"], [180.0, 540.0], 0.6),
        ]
        comment = client.query(
            "SELECT comment FROM system.columns WHERE database = currentDatabase() "
            "AND table = 'channel_attribution' AND name = 'credit_value'"
        ).result_rows
        assert comment[0][0].endswith("NaN when they mix currencies (see credit_values)")
    finally:
        close_embedded(dsn)


def _insert(client: Any, name: str, rows: list[dict[str, Any]]) -> None:
    columns = list(rows[0])
    client.insert(name, [[r[c] for c in columns] for r in rows], column_names=columns)


def test_views_of_0013_nest_the_funnel_keep_currencies_apart_and_count_social_acts(
    settings: Settings,
) -> None:
    """pA: 3 likes, a weak score; pB and pC: one meeting each (both ways, score 53.5),
    pC with a won deal in EUR and pB an open one in USD. Before 0013 the funnel had
    more relationships than engaged persons, the money views added EUR to USD, and a
    meeting counted as inbound engagement."""
    people = [
        _row("relationships", workspace="w", person_id=p, touch_count=n, score=s,
             inbound_count=i, outbound_count=o)
        for p, n, s, i, o in [("pA", 3, 20.0, 3, 0), ("pB", 1, 53.5, 1, 1), ("pC", 1, 53.5, 1, 1)]
    ]  # fmt: skip
    deals = [("o1", "pC", 1000.0, "EUR", "won"), ("o2", "pB", 500.0, "USD", "open")]
    chains = [
        _row("opportunity_chains", workspace="w", opportunity_id=o, person_id=p, kind="monetary",
             opportunity_type="deal", value=v, currency=c, status=st, version=1)
        for o, p, v, c, st in deals
    ]  # fmt: skip
    touches = [
        _row("touchpoints", workspace="w", event_id=e, event_type=t, platform="x",
             direction="inbound", identity_key="x:ring")
        for e, t in [("e1", "social_interaction"), ("e2", "meeting")]
    ]  # fmt: skip
    flag = _row("authenticity_flags", workspace="w", flag="reciprocity_ring", subject_key="x:ring",
                flagged=True)  # fmt: skip
    dsn = settings.resolved_dsn()
    client = connect(dsn)
    try:
        migrate(client)
        _insert(client, "relationships", people)
        _insert(client, "opportunity_chains", chains)
        _insert(client, "touchpoints", touches)
        _insert(client, "authenticity_flags", [flag])
        funnel = client.query(
            "SELECT reached, engaged, relationship, opportunity, customer, relationship_rate "
            "FROM circles_funnel"
        ).result_rows
        assert funnel == [(3, 3, 2, 2, 1, 0.6667)]
        kinds = client.query(
            "SELECT currency, opportunities, won, total_value FROM opportunities_by_kind "
            "ORDER BY currency"
        ).result_rows
        assert kinds == [("EUR", 1, 1, 1000.0), ("USD", 1, 0, 500.0)]
        cohorts = client.query(
            "SELECT persons, customers, toString(value_won_by_currency) "
            "FROM cohorts_first_touch_month"
        ).result_rows
        assert cohorts == [(3, 1, "{'EUR':1000}")]
        share = client.query(
            "SELECT inbound_touches, flagged_touches, flagged_share FROM ring_engagement_share"
        ).result_rows
        assert share == [(1, 1, 1.0)]
    finally:
        close_embedded(dsn)
