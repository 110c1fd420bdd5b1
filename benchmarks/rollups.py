"""Rollup versus raw: a dashboard query over touchpoints_daily and over touchpoints.

Loads ``--rows`` (default 10 million) synthetic touchpoints into an embedded
ClickHouse with ``INSERT ... SELECT FROM numbers()``; the materialized view
fills ``touchpoints_daily`` on the way. Then times the same question (touches
and distinct persons per day and platform over the whole period) on both and
prints the ratio. Not a test: ``python -m benchmarks.rollups [--rows N]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from typing import Any

from sinks.clickhouse import close_embedded, connect
from sinks.migrations import migrate

INSERT = """
INSERT INTO touchpoints (workspace, event_id, event_type, occurred_at, source, platform, channel,
    own_account, identity_key, person_id, account_id, direction, action, intent, intent_inferred,
    campaign, content_ref, hashtags, introducer_key, source_topic, source_partition,
    source_offset, ingested_at, payload)
SELECT
    ['acme', 'globex', 'northwind'][number % 3 + 1],
    concat('bench-', toString(number)),
    'social_interaction',
    toDateTime64('2023-01-01 00:00:00', 3, 'UTC') + toIntervalSecond(intHash32(number) % 63072000),
    'bench',
    ['x', 'linkedin', 'instagram', 'bluesky'][number % 4 + 1] AS p,
    p,
    'us',
    concat(p, ':h', toString(intHash32(number) % 200000)),
    concat('p_', toString(intHash32(number) % 200000)),
    '',
    ['inbound', 'outbound'][number % 2 + 1],
    ['like', 'reply', 'share', 'follow', 'dm'][number % 5 + 1],
    ['give', 'ask', 'neutral'][number % 3 + 1],
    true,
    if(number % 7 = 0, concat('c', toString(number % 5)), ''),
    '', [], '', 'bench', 0, toInt64(number), now64(3), ''
FROM numbers({offset}, {rows})
"""

RAW = (
    "SELECT count(), sum(n), sum(p) FROM (SELECT toDate(occurred_at) AS day, platform, "
    "count() AS n, uniq(person_id) AS p FROM touchpoints GROUP BY day, platform)"
)
ROLLUP = (
    "SELECT count(), sum(n), sum(p) FROM (SELECT day, platform, sum(touches) AS n, "
    "uniqMerge(persons) AS p FROM touchpoints_daily GROUP BY day, platform)"
)


RAW_COUNTS = (
    "SELECT count(), sum(n) FROM (SELECT toDate(occurred_at) AS day, platform, count() AS n "
    "FROM touchpoints GROUP BY day, platform)"
)
ROLLUP_COUNTS = (
    "SELECT count(), sum(n) FROM (SELECT day, platform, sum(touches) AS n "
    "FROM touchpoints_daily GROUP BY day, platform)"
)


def best_of(client: Any, sql: str, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        client.query(sql)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        dsn = f"chdb://{tmp}/clickhouse"
        client = connect(dsn)
        try:
            migrate(client)
            start = time.perf_counter()
            step = 2_000_000
            for offset in range(0, args.rows, step):
                n = min(step, args.rows - offset)
                client.command(INSERT.format(offset=offset, rows=n))
            client.command("OPTIMIZE TABLE touchpoints_daily FINAL")
            loaded = time.perf_counter() - start
            raw_rows = client.query("SELECT count() FROM touchpoints").result_rows[0][0]
            rolled = client.query("SELECT count() FROM touchpoints_daily").result_rows[0][0]
            print(f"loaded {raw_rows:,} touchpoints in {loaded:.1f} s ({rolled:,} rollup rows)")
            for what, raw, rollup in (
                ("touches per day x platform", RAW_COUNTS, ROLLUP_COUNTS),
                ("touches and distinct persons per day x platform", RAW, ROLLUP),
            ):
                raw_s, rollup_s = best_of(client, raw), best_of(client, rollup)
                print(
                    f"{what}: raw {raw_s * 1000:.1f} ms, rollup {rollup_s * 1000:.1f} ms, "
                    f"raw/rollup = {raw_s / rollup_s:.1f}x"
                )
        finally:
            close_embedded(dsn)


if __name__ == "__main__":
    main()
