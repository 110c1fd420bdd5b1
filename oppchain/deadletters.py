"""``oppchain deadletters list|replay``: inspect dead letters, replay them after a fix.

``list`` reads the ``dead_letters`` table (reason, where the message came from,
size, detail; the payload stays out of the listing). ``replay`` reads the
dead-letter topic, which keeps the original bytes with headers ``reason``,
``source_topic``, ``source_partition`` and ``source_offset``, and produces the
original bytes again to their source topic with a header
``replay_of=<topic>/<partition>/<offset>``: to the partition of the workspace
they name (``wrong_partition`` dead letters go home), else to their source
partition. The pipeline then treats them like
any message: fixed ones are stored (a second copy of a stored event is dropped as
a duplicate), the rest are dead-lettered again with their reason.

Each dead letter is replayed once: before sending, the source topics are read for
``replay_of`` headers and the dead letters already replayed are skipped (their
copies, if they failed again, are dead letters of their own and are replayed
next time). ``--again`` replays everything that matches.

Topics are read with a group-less consumer from the beginning until no message
arrives for ``idle_ms`` (``first_idle_ms`` for the first one, which waits for the
connection, metadata and the first fetch): the broker's high watermarks are not
trusted.

A copy the broker does not take is counted, not fatal: ``replay`` sends every other
one, reports how many were sent and how many failed, and ``oppchain deadletters
replay`` exits 1 when any failed (run it again: only those are still to do).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from oppchain.cli_context import UsageError
from sinks.spec import quote
from streams.ingest import peek_field
from streams.routing import partition_for

IDLE_MS = 2000
# The first message waits for the connection, the metadata and the first fetch: a
# slow broker must not pass for an empty topic.
FIRST_IDLE_MS = 10_000


def read_topic(
    bootstrap: str, topic: str, *, idle_ms: int = IDLE_MS, first_idle_ms: int | None = None
) -> Iterator[Any]:
    """Every message of ``topic`` from the beginning, until ``idle_ms`` passes quietly
    (``first_idle_ms``, by default the longer of ``idle_ms`` and ``FIRST_IDLE_MS``,
    before the first message); nothing, at once, from an empty topic."""
    first = max(idle_ms, FIRST_IDLE_MS) if first_idle_ms is None else first_idle_ms
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        consumer_timeout_ms=first,
        bootstrap_timeout_ms=first,  # wrong brokers: fail as soon as a slow broker would
        client_id="oppchain-tools",
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        # An empty topic is known at once. Only that: some brokers (tansu) report as
        # the end the base offset of the last batch, so the end says "empty or not".
        ends, starts = consumer.end_offsets(tps), consumer.beginning_offsets(tps)
        if all(ends[tp] <= starts[tp] for tp in tps):
            return
        for message in consumer:
            yield message
            consumer.config["consumer_timeout_ms"] = idle_ms  # read on each next()
    finally:
        consumer.close()


def kafka_failure(bootstrap: str, exc: BaseException) -> UsageError:
    """A Kafka client error as a one-line CLI error."""
    return UsageError(f"Kafka at {bootstrap}: {describe(exc)}")


def describe(exc: BaseException) -> str:
    """``Name: first line of the message`` (kafka errors repeat their name: once)."""
    name = type(exc).__name__
    lines = str(exc).strip().splitlines()
    text = lines[0].removeprefix(f"{name}: ").removeprefix(name)[:300] if lines else ""
    return f"{name}: {text}" if text else name


@dataclass(frozen=True)
class DeadLetter:
    offset: int  # on the dead-letter topic
    reason: str
    detail: str
    source_topic: str
    source_partition: int
    source_offset: int
    key: bytes | None
    value: bytes

    @property
    def source(self) -> str:
        return f"{self.source_topic}/{self.source_partition}/{self.source_offset}"


def _headers(message: Any) -> dict[str, str]:
    return {k: (v or b"").decode("utf-8", "replace") for k, v in (message.headers or [])}


def read_dead_letters(bootstrap: str, topic: str, *, idle_ms: int = IDLE_MS) -> list[DeadLetter]:
    out = []
    for message in read_topic(bootstrap, topic, idle_ms=idle_ms):
        h = _headers(message)
        try:
            partition, offset = int(h["source_partition"]), int(h["source_offset"])
            source_topic = h["source_topic"]
        except (KeyError, ValueError):
            continue  # not written by the pipeline
        out.append(
            DeadLetter(
                offset=message.offset,
                reason=h.get("reason", ""),
                detail=h.get("detail", ""),
                source_topic=source_topic,
                source_partition=partition,
                source_offset=offset,
                key=message.key,
                value=message.value or b"",
            )
        )
    return out


def select(letters: Sequence[DeadLetter], reason: str | None = None) -> list[DeadLetter]:
    """Dead letters with ``reason`` (all when None), each source message once."""
    seen: set[str] = set()
    out = []
    for letter in letters:
        if reason is not None and letter.reason != reason:
            continue
        if letter.source in seen:
            continue
        seen.add(letter.source)
        out.append(letter)
    return out


def replayed_sources(bootstrap: str, topics: Sequence[str], *, idle_ms: int = IDLE_MS) -> set[str]:
    """``replay_of`` values found on ``topics``: dead letters already replayed."""
    found: set[str] = set()
    for topic in topics:
        for message in read_topic(bootstrap, topic, idle_ms=idle_ms):
            value = _headers(message).get("replay_of")
            if value:
                found.add(value)
    return found


@dataclass
class ReplayReport:
    matched: int = 0
    already_replayed: int = 0
    replayed: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)  # the first few failures
    by_reason: Counter[str] = field(default_factory=Counter)
    dry_run: bool = False


def replay(
    settings: Any,
    bootstrap: str,
    *,
    reason: str | None = None,
    dry_run: bool = False,
    again: bool = False,
    idle_ms: int = IDLE_MS,
) -> ReplayReport:
    """Send the matching dead letters again; a copy the broker refuses is counted in
    ``failed`` (with the first few reasons in ``errors``) and the others still go."""
    topic = settings.topics["deadletters"]
    letters = select(read_dead_letters(bootstrap, topic, idle_ms=idle_ms), reason)
    report = ReplayReport(matched=len(letters), dry_run=dry_run)
    if not again and letters:
        done = replayed_sources(
            bootstrap, sorted({d.source_topic for d in letters}), idle_ms=idle_ms
        )
        todo = [d for d in letters if d.source not in done]
        report.already_replayed = len(letters) - len(todo)
        letters = todo
    report.by_reason.update(d.reason for d in letters)
    if dry_run or not letters:
        return report
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        client_id="oppchain-replay",
        max_request_size=16 * 1024 * 1024,
    )
    counts: dict[str, int] = {}  # the topic's own count: the CLI's settings may differ
    try:
        futures: list[tuple[DeadLetter, Any]] = []
        for d in letters:
            try:
                if d.source_topic not in counts:
                    counts[d.source_topic] = len(producer.partitions_for(d.source_topic))
                future = producer.send(
                    d.source_topic,
                    value=d.value,
                    key=d.key,
                    partition=home_partition(d, counts[d.source_topic]),
                    headers=[("replay_of", d.source.encode())],
                )
            except Exception as exc:  # refused before sending: count it, go on
                _failed(report, d, exc)
            else:
                futures.append((d, future))
        producer.flush()
        for d, future in futures:
            try:
                future.get(timeout=30)
            except Exception as exc:
                _failed(report, d, exc)
            else:
                report.replayed += 1
    finally:
        producer.close()
    return report


def home_partition(letter: DeadLetter, partitions: int) -> int:
    """The partition of the workspace the bytes name, if they can be read."""
    workspace = peek_field(letter.value, "workspace")
    return partition_for(workspace, partitions) if workspace else letter.source_partition


def _failed(report: ReplayReport, letter: DeadLetter, exc: BaseException) -> None:
    report.failed += 1
    if len(report.errors) < 5:
        report.errors.append(f"{letter.source}: {describe(exc)}")


# -- listing ------------------------------------------------------------------

LIST_COLUMNS = (
    "dead_at",
    "reason",
    "source_topic",
    "source_partition",
    "source_offset",
    "workspace",
    "event_id",
    "payload_bytes",
    "detail",
)


def list_sql(reason: str | None = None, limit: int = 50) -> str:
    where = f"WHERE reason = {quote(reason)} " if reason else ""
    return (
        f"SELECT {', '.join(LIST_COLUMNS)} FROM dead_letters FINAL {where}"
        f"ORDER BY dead_at DESC, source_topic, source_partition, source_offset "
        f"LIMIT {int(limit)}"
    )


def query(settings: Any, sql: str, *, migrated: bool = False) -> list[list[Any]]:
    """Rows of a read-only query (see ``oppchain.sqlclient.read``)."""
    from oppchain.sqlclient import read

    rows: list[list[Any]] = read(settings, sql, migrated=migrated)["rows"]
    return rows


def list_dead_letters(
    settings: Any, *, reason: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    rows = query(settings, list_sql(reason, limit), migrated=True)
    return [dict(zip(LIST_COLUMNS, row, strict=True)) for row in rows]


def print_dead_letters(rows: Sequence[dict[str, Any]], fmt: str = "table", out: Any = None) -> None:
    out = out or sys.stdout
    if fmt == "json":
        for item in rows:
            print(json.dumps(item, default=str), file=out)
        return
    if not rows:
        print("no dead letters", file=out)
        return
    cells: list[list[str]] = [list(LIST_COLUMNS)]
    cells += [[str(r[c])[:80] if c == "detail" else str(r[c]) for c in LIST_COLUMNS] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(LIST_COLUMNS))]
    for n, line in enumerate(cells):
        print("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip(), file=out)
        if n == 0:
            print("  ".join("-" * w for w in widths), file=out)


def run_list(settings: Any, reason: str | None, limit: int, fmt: str) -> int:
    print_dead_letters(list_dead_letters(settings, reason=reason, limit=limit), fmt)
    return 0


def run_replay(
    settings: Any, bootstrap: str, reason: str | None, dry_run: bool, again: bool = False
) -> int:
    """``oppchain deadletters replay``: 0 when every copy was sent, 1 when some failed."""
    try:
        report = replay(settings, bootstrap, reason=reason, dry_run=dry_run, again=again)
    except KafkaError as exc:
        raise kafka_failure(bootstrap, exc) from exc
    verb = "would replay" if dry_run else "replayed"
    n = sum(report.by_reason.values()) if dry_run else report.replayed
    failed = f", failed {report.failed}" if report.failed else ""
    print(
        f"dead letters matched {report.matched}, already replayed {report.already_replayed}, "
        f"{verb} {n}{failed}"
    )
    for why, count in sorted(report.by_reason.items()):
        print(f"  {why:<28} {count}")
    if report.failed:
        for error in report.errors:
            print(f"  not sent: {error}", file=sys.stderr)
        print(
            f"oppchain: {report.failed} of {report.failed + report.replayed} copies were not "
            "sent; run replay again to send them",
            file=sys.stderr,
        )
        return 1
    return 0
