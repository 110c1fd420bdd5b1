"""``oppchain check``: every message on the input topics is accounted for in ClickHouse.

Each input topic is read from the beginning with a group-less consumer until it
is quiet (the broker's high watermarks are not trusted), keeping the offsets of
every partition. ClickHouse says, per (topic, partition, offset), what became of
it: stored (``touchpoints``, ``crm_events``), dead-lettered (``dead_letters``),
dropped as a duplicate (``ingest_duplicates``, when that table exists) or erased
(``erased_events``, when it exists). A message in two classes counts once, in the
first of that order. ``gap`` is the number of messages in none: lost. ``extra``
counts positions ClickHouse knows that the topic no longer holds (retention).

Reading nothing at all from a topic while ClickHouse accounts for positions of it is
a failure, not "every position extra": the topic is missing, ``--brokers`` points
elsewhere, or the broker did not answer within the first-fetch timeout
(``first_idle_ms``, longer than the quiet time that ends a read).
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from kafka.errors import KafkaError

from oppchain.deadletters import FIRST_IDLE_MS, IDLE_MS, kafka_failure, read_topic
from sinks.spec import quote

CLASSES = ("stored", "dead_lettered", "duplicates", "erased")
SOURCES = {
    "stored": ("touchpoints", "crm_events"),
    "dead_lettered": ("dead_letters",),
    "duplicates": ("ingest_duplicates",),
    "erased": ("erased_events",),
}
Query = Callable[[str], Sequence[Sequence[Any]]]


@dataclass
class TopicCheck:
    topic: str
    messages: int = 0
    stored: int = 0
    dead_lettered: int = 0
    duplicates: int = 0
    erased: int = 0
    gap: int = 0
    extra: int = 0
    missing_sample: tuple[str, ...] = ()
    problem: str = ""  # why the topic could not be checked, in one line

    @property
    def ok(self) -> bool:
        return self.gap == 0 and not self.problem


def kafka_offsets(
    bootstrap: str, topic: str, *, idle_ms: int = IDLE_MS, first_idle_ms: int = FIRST_IDLE_MS
) -> dict[int, set[int]]:
    offsets: dict[int, set[int]] = defaultdict(set)
    for message in read_topic(bootstrap, topic, idle_ms=idle_ms, first_idle_ms=first_idle_ms):
        offsets[message.partition].add(message.offset)
    return offsets


def _existing(query: Query, names: Sequence[str]) -> set[str]:
    listed = ", ".join(quote(n) for n in names)
    rows = query(
        f"SELECT name FROM system.tables WHERE database = currentDatabase() AND name IN ({listed})"
    )
    return {r[0] for r in rows}


def stored_offsets(query: Query, topic: str) -> dict[int, dict[int, str]]:
    """partition -> offset -> class, for every position ClickHouse accounts for."""
    tables = _existing(query, [t for ts in SOURCES.values() for t in ts])
    parts = []
    for rank, name in enumerate(CLASSES):
        for table in SOURCES[name]:
            if table in tables:
                parts.append(
                    f"SELECT source_partition AS p, source_offset AS o, {rank} AS k "
                    f"FROM {table} WHERE source_topic = {quote(topic)}"
                )
    if not parts:
        return {}
    rows = query(
        f"SELECT p, o, min(k) FROM ({' UNION ALL '.join(parts)}) GROUP BY p, o ORDER BY p, o"
    )
    out: dict[int, dict[int, str]] = defaultdict(dict)
    for partition, offset, rank in rows:
        out[int(partition)][int(offset)] = CLASSES[int(rank)]
    return out


def check_topic(
    query: Query,
    bootstrap: str,
    topic: str,
    *,
    idle_ms: int = IDLE_MS,
    first_idle_ms: int = FIRST_IDLE_MS,
) -> TopicCheck:
    on_kafka = kafka_offsets(bootstrap, topic, idle_ms=idle_ms, first_idle_ms=first_idle_ms)
    known = stored_offsets(query, topic)
    result = TopicCheck(topic)
    missing: list[str] = []
    for partition in sorted(set(on_kafka) | set(known)):
        offsets = on_kafka.get(partition, set())
        classes = known.get(partition, {})
        result.messages += len(offsets)
        for offset in sorted(offsets):
            found = classes.get(offset)
            if found is None:
                result.gap += 1
                if len(missing) < 10:
                    missing.append(f"{partition}/{offset}")
            else:
                setattr(result, found, getattr(result, found) + 1)
        result.extra += len(set(classes) - offsets)
    result.missing_sample = tuple(missing)
    if result.messages == 0 and result.extra:
        result.problem = (
            f"read no message from Kafka at {bootstrap} but ClickHouse accounts for "
            f"{result.extra} positions: the topic is missing, the brokers are wrong, or the "
            f"broker did not answer within {first_idle_ms / 1000:g}s"
        )
    return result


def check(
    query: Query,
    bootstrap: str,
    topics: Sequence[str],
    *,
    idle_ms: int = IDLE_MS,
    first_idle_ms: int = FIRST_IDLE_MS,
) -> list[TopicCheck]:
    return [
        check_topic(query, bootstrap, t, idle_ms=idle_ms, first_idle_ms=first_idle_ms)
        for t in topics
    ]


def print_checks(results: Sequence[TopicCheck], fmt: str = "table", out: Any = None) -> None:
    out = out or sys.stdout
    if fmt == "json":
        for r in results:
            print(json.dumps({**asdict(r), "ok": r.ok}), file=out)
        return
    head = ("topic", "messages", "stored", "dead", "duplicates", "erased", "gap", "extra")
    rows = [head] + [
        (
            r.topic,
            *(
                str(v)
                for v in (
                    r.messages,
                    r.stored,
                    r.dead_lettered,
                    r.duplicates,
                    r.erased,
                    r.gap,
                    r.extra,
                )
            ),
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    for row in rows:
        print(
            "  ".join(
                v.rjust(w) if i else v.ljust(w)
                for i, (v, w) in enumerate(zip(row, widths, strict=True))
            ),
            file=out,
        )
    for r in results:
        if r.problem:
            print(f"{r.topic}: {r.problem}", file=out)
        if r.gap:
            print(
                f"{r.topic}: {r.gap} messages unaccounted, e.g. {', '.join(r.missing_sample)}",
                file=out,
            )
    if all(r.ok for r in results):
        print("ok: every message accounted for", file=out)
    else:
        print("GAP" if any(r.gap for r in results) else "FAILED: nothing read from Kafka", file=out)


def run_check(
    settings: Any,
    bootstrap: str,
    fmt: str = "table",
    idle_ms: int = IDLE_MS,
    first_idle_ms: int = FIRST_IDLE_MS,
) -> int:
    """``oppchain check``: 0 when every message is accounted for, 1 on any gap or on a
    topic that gave nothing to check against ClickHouse's positions."""
    from oppchain.deadletters import query

    try:
        results = check(
            lambda sql: query(settings, sql),
            bootstrap,
            settings.input_topics,
            idle_ms=idle_ms,
            first_idle_ms=first_idle_ms,
        )
    except KafkaError as exc:
        raise kafka_failure(bootstrap, exc) from exc
    print_checks(results, fmt)
    return 0 if all(r.ok for r in results) else 1
