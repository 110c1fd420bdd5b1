"""The hot path: consume batches, process, sink, dead-letter, then commit.

Runs inside the faust worker as a service, but consumes below faust's
per-message stream API (see docs/decisions.md: faust's per-event path costs
~200 us; a batch costs a fraction of that per event). Offsets are committed
only after ClickHouse has the batch and the dead letters are on their topic, and
a batch is written only while the worker still belongs to the group's generation
(docs/decisions.md, section 4).

State is event-sourced from ClickHouse: when partitions are assigned, the
workspaces routed to them are replayed from ``touchpoints`` and ``crm_events``
(what was stored is exactly what was applied), so a crash, a rebalance or a
restart never needs a changelog.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.errors import CommitFailedError, IllegalStateError

from oppchain.erasure_log import ErasureNotice
from oppchain.settings import Settings
from sinks.writer import ClickHouseSink
from streams.ingest import Record
from streams.pool import ProcessingPool
from streams.processor import BatchResult, Counters, Processor, count
from streams.routing import partition_for

log = logging.getLogger(__name__)

ERASURE_POLL_S = 5.0
FETCH_BYTES = 4 * 1024 * 1024  # per partition and fetch
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class PartitionCountMismatch(RuntimeError):
    """An input topic's partition count differs from the configured one."""


@dataclass
class Pipeline:
    settings: Settings
    bootstrap: str
    sink: ClickHouseSink
    processor: Processor | ProcessingPool | None = None
    on_batch: Callable[[dict[str, int]], None] | None = None
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    positions: dict[TopicPartition, int] = field(default_factory=dict)
    owned: set[int] = field(default_factory=set)
    consumer: AIOKafkaConsumer | None = None
    producer: AIOKafkaProducer | None = None
    batches: int = 0
    fenced_batches: int = 0
    # Counted once a batch is stored and committed: a fenced batch, dropped here and
    # processed again by the partition's next owner, is counted by that owner only.
    # (The processor's own counters count every batch it processed.)
    counters: Counters = field(default_factory=Counters)
    _fenced: bool = False
    _assignments: int = 0
    _in_flight: asyncio.Task[None] | None = None
    erasures_applied: int = 0
    _erasures_checked: float = 0.0
    _erasures_seen: set[str] | None = None  # ids of the erasures already reflected
    # A rebalance callback's error: aiokafka only logs those, and a worker whose
    # rebuild failed would go on consuming without the history of its partitions.
    failure: BaseException | None = None

    def __post_init__(self) -> None:
        if self.processor is None:
            n = self.settings.processing_pool_size()
            self.processor = (
                ProcessingPool(self.settings, n)
                if n
                else Processor(self.settings, check_routing=True)
            )
        self.sink.should_stop = self.stopping.is_set

    def close(self) -> None:
        """Stop the processing processes, if any (``stop`` keeps them: their state
        can still be read after the loop ends)."""
        if self.processor is not None:
            self.processor.close()

    # -- state ownership --------------------------------------------------

    def _workspaces_of(self, partitions: set[int]) -> list[str]:
        # A workspace whose every stored event was erased has only erased events:
        # it is replayed too, so that a redelivered one is not stored again.
        rows = self.sink.query(
            "SELECT DISTINCT workspace FROM touchpoints UNION DISTINCT "
            "SELECT DISTINCT workspace FROM crm_events UNION DISTINCT "
            "SELECT DISTINCT workspace FROM erased_events"
        )
        n = self.settings.partitions
        return sorted(r[0] for r in rows if partition_for(r[0], n) in partitions)

    def rebuild(self, partitions: set[int]) -> int:
        """Replay the stored events of the workspaces routed to ``partitions``."""
        return self.replay(self._workspaces_of(partitions))

    def replay(self, workspaces: list[str]) -> int:
        """Replay the stored events of ``workspaces`` (their erased events left out)."""
        assert self.processor is not None
        if not workspaces:
            return 0
        total = self.processor.replay(self.sink.query, workspaces)
        self.processor.settle()
        log.info("rebuilt %d workspaces from %d stored events", len(workspaces), total)
        return total

    async def on_assigned(self, assigned: set[TopicPartition]) -> None:
        assert self.consumer is not None and self.processor is not None
        async with self.lock:
            await self.drain()
            if self.stopping.is_set():  # leaving: nothing will be processed
                self.owned = set()
                return
            partitions = {tp.partition for tp in assigned}
            keep: set[int] = set()
            for p in partitions & self.owned:
                tps = [tp for tp in assigned if tp.partition == p]
                committed = [await self.consumer.committed(tp) for tp in tps]
                if all(self.positions.get(tp) == c for tp, c in zip(tps, committed, strict=True)):
                    keep.add(p)
            n = self.settings.partitions
            owned = await asyncio.to_thread(self.processor.workspaces)
            stale = [w for w in owned if partition_for(w, n) not in keep]
            await asyncio.to_thread(self.processor.drop, stale)
            await asyncio.to_thread(self.rebuild, partitions - keep)
            self.owned = partitions
            self._fenced = False
            self._assignments += 1

    # -- the loop -----------------------------------------------------------

    async def start(self) -> None:
        s = self.settings
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=s.group_id,
            client_id=f"{s.app_id}-pipeline",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            partition_assignment_strategy=(RangePartitionAssignor,),
            session_timeout_ms=s.session_timeout_ms,
            heartbeat_interval_ms=s.heartbeat_interval_ms,
            max_poll_interval_ms=600_000,
            max_partition_fetch_bytes=FETCH_BYTES,
            fetch_max_bytes=32 * 1024 * 1024,
        )
        # Any record a fetch holds can be dead-lettered whole (aiokafka's default
        # request limit, 1 MiB, failed every restart on a larger one).
        self.producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap,
            acks="all",
            client_id=f"{s.app_id}-deadletters",
            max_request_size=FETCH_BYTES + 64 * 1024,
        )
        await self.producer.start()
        await self._check_partitions()
        await self.consumer.start()
        self.consumer.subscribe(s.input_topics, listener=_Listener(self))

    async def _check_partitions(self) -> None:
        """Workspaces are routed by ``partitions``: with another count on a topic,
        every event would be read on a partition that is not its workspace's."""
        assert self.producer is not None
        for topic in self.settings.input_topics:
            found = len(await self.producer.partitions_for(topic))
            if found != self.settings.partitions:
                await self.producer.stop()
                raise PartitionCountMismatch(
                    f"topic {topic} has {found} partitions, settings say "
                    f"{self.settings.partitions} (OPPCHAIN_PARTITIONS)"
                )

    async def stop(self) -> None:
        self.stopping.set()
        try:
            async with self.lock:
                await self.drain()
        finally:
            # Not under the lock: closing the consumer waits for its coordination task,
            # which may be inside a rebalance callback that is waiting for the lock.
            await self._close()

    async def _close(self) -> None:
        if self.consumer is not None:
            await self.consumer.stop()
        if self.producer is not None:
            await self.producer.stop()

    async def run(self) -> None:
        await self.start()
        try:
            while not self.stopping.is_set():
                await self.step()
        finally:
            await self.stop()

    async def _forget_erased(self) -> None:
        """Rebuild the owned workspaces in which a person was erased since the last look:
        the erased events are gone from ClickHouse, so the rebuilt state no longer
        holds them. Erasures are told apart by id, not by time: ``erased_at`` comes
        from the clock of the host that ran the erasure."""
        from oppchain.erase import erasures_since

        now = time.monotonic()
        if now - self._erasures_checked < ERASURE_POLL_S:
            return
        self._erasures_checked = now
        try:
            notices = await asyncio.to_thread(erasures_since, self.sink._conn(), _EPOCH)
        except Exception as exc:  # the sink's retries cover the data path
            log.warning("could not read erasures: %s", exc)
            return
        if self._erasures_seen is None:  # at start: the rebuild on assignment reads them
            self._erasures_seen = {e.erasure_id for e in notices}
            return
        new = [e for e in notices if e.erasure_id not in self._erasures_seen]
        if not new:
            return
        assert self.processor is not None
        n = self.settings.partitions
        erased = sorted({e.workspace for e in new if partition_for(e.workspace, n) in self.owned})
        if erased:
            await self.drain()
            await asyncio.to_thread(self.processor.drop, erased)
            await asyncio.to_thread(self.replay, erased)
            await asyncio.to_thread(self._rebuild_rollups, erased, new)
            await asyncio.to_thread(self._acknowledge, [e for e in new if e.workspace in erased])
        self._erasures_seen |= {e.erasure_id for e in new}
        self.erasures_applied += len(new)

    def _acknowledge(self, notices: list[ErasureNotice]) -> None:
        """Tell ``erase`` this worker no longer holds the person (it then deletes what
        the worker stored before the rebuild from the state that did)."""
        from oppchain.erasure_log import acknowledge

        try:
            acknowledge(self.sink._conn(), notices, f"{socket.gethostname()}:{os.getpid()}")
        except Exception as exc:  # erase then reports that no worker answered
            log.warning("could not acknowledge erasures: %s", exc)

    def _rebuild_rollups(self, workspaces: list[str], notices: list[ErasureNotice]) -> None:
        """The erasing host rebuilt the rollups while this worker may have been storing
        events of the workspace: a rollup row inserted by both was counted twice.
        Rebuilt again here, with nothing of the workspace in flight (this worker is
        its only writer)."""
        from oppchain.erase_apply import rebuild_rollups

        for workspace in workspaces:
            sources = {t for e in notices if e.workspace == workspace for t in e.tables}
            try:
                rebuilt = rebuild_rollups(self.sink._conn(), workspace, sources)
            except Exception as exc:  # the erasure's own rebuild stands
                log.warning("could not rebuild the rollups of %s: %s", workspace, exc)
                continue
            log.info("rebuilt rollups %s of %s after an erasure", rebuilt, workspace)

    def _raise_failure(self) -> None:
        if self.failure is not None:
            raise RuntimeError("a partition assignment failed") from self.failure

    async def step(self) -> int:
        assert self.consumer is not None
        self._raise_failure()
        async with self.lock:
            await self._forget_erased()
        assignment = self._assignments
        fetched = await self.consumer.getmany(
            timeout_ms=self.settings.batch_linger_ms or 100,
            max_records=self.settings.batch_max_records,
        )
        if not fetched:
            return 0
        async with self.lock:  # taken after any assignment in progress is done
            self._raise_failure()
            if assignment != self._assignments:
                # The group was rebalanced during the fetch: these records may come from
                # the previous assignment, ahead of what was stored (a fenced worker
                # drops batches). Read them again from where the group committed.
                await self._refetch(set(fetched))
                return 0
            return await self._handle(fetched)

    async def _refetch(self, partitions: set[TopicPartition]) -> None:
        assert self.consumer is not None
        partitions &= self.consumer.assignment()
        log.info("fetched during a rebalance: %d partitions read again", len(partitions))
        for tp in partitions:
            committed = await self.consumer.committed(tp)
            if committed is None:
                await self.consumer.seek_to_beginning(tp)
            else:
                self.consumer.seek(tp, committed)

    async def _handle(self, fetched: dict[TopicPartition, list[Any]]) -> int:
        assert self.consumer is not None and self.producer is not None
        assert self.processor is not None
        assigned = self.consumer.assignment()
        fetched = {tp: msgs for tp, msgs in fetched.items() if tp in assigned}
        records = [
            Record(m.topic, m.partition, m.offset, m.key, m.value)
            for msgs in fetched.values()
            for m in msgs
        ]
        if not records:
            return 0
        started = time.perf_counter()
        result = await asyncio.to_thread(self.processor.process, records)
        await asyncio.to_thread(self.processor.settle)
        offsets = {tp: msgs[-1].offset + 1 for tp, msgs in fetched.items()}
        firsts = {tp: msgs[0].offset for tp, msgs in fetched.items()}
        # One batch is stored while the next is processed: the insert runs in
        # ClickHouse's own threads, so the two overlap. Writes stay in order.
        await self.drain()
        self._in_flight = asyncio.ensure_future(self._store(result, firsts, offsets, len(records)))
        log.debug("batch of %d processed in %.3fs", len(records), time.perf_counter() - started)
        return len(records)

    async def _store(
        self,
        result: BatchResult,
        firsts: dict[TopicPartition, int],
        offsets: dict[TopicPartition, int],
        n: int,
    ) -> None:
        # Fence: committing where the batch starts (what is committed already) fails
        # if the group has moved on without this worker (a starved worker missed its
        # session timeout); the new owner then processes the batch, so it is not stored.
        if not await self._commit(firsts):
            return
        written = await asyncio.to_thread(self.sink.write, result.rows)
        await self._dead_letter(result.dead)
        if not await self._commit(offsets):
            return  # stored after all: the new owner may store it again (decisions.md 4)
        self.positions.update(offsets)
        self.batches += 1
        count(self.counters, n, result)
        if self.on_batch is not None:
            self.on_batch({**written, "records": n, "duplicates": result.duplicates})

    async def _commit(self, offsets: dict[TopicPartition, int]) -> bool:
        """Commit ``offsets``; False when this worker no longer belongs to the group's
        generation. Its state then holds events it did not store, so every batch is
        dropped and every partition rebuilt until the next assignment."""
        assert self.consumer is not None
        if not self._fenced:
            try:
                await self.consumer.commit(offsets)
                return True
            except (CommitFailedError, IllegalStateError) as exc:
                log.warning("fenced out of the group, batch left to the new owner: %s", exc)
                self._fenced = True
        self.owned = set()  # so the next assignment keeps no state and rebuilds it all
        self.fenced_batches += 1
        return False

    async def drain(self) -> None:
        """Wait until the batch in flight is stored and committed (errors surface here)."""
        if self._in_flight is not None:
            task, self._in_flight = self._in_flight, None
            await task

    async def _dead_letter(self, dead: list[tuple[Record, dict[str, Any]]]) -> None:
        assert self.producer is not None
        if not dead:
            return
        topic = self.settings.topics["deadletters"]
        futures = []
        for record, row in dead:
            value = record.value or b""
            headers = [
                ("reason", row["reason"].encode()),
                ("detail", row["detail"].encode()[:1000]),
                ("source_topic", record.topic.encode()),
                ("source_partition", str(record.partition).encode()),
                ("source_offset", str(record.offset).encode()),
            ]
            if len(value) > FETCH_BYTES:  # a fetch returns one record past its limit
                headers.append(("truncated_from", str(len(value)).encode()))
                value = value[:FETCH_BYTES]
            futures.append(
                await self.producer.send(topic, value=value, key=record.key, headers=headers)
            )
        await asyncio.gather(*futures)


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        # A rebalance waits for the batch in flight to be stored and committed.
        try:
            async with self.pipeline.lock:
                await self.pipeline.drain()
        except Exception as exc:
            self._failed(exc)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        try:
            await self.pipeline.on_assigned(assigned)
        except Exception as exc:
            self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        log.error("rebalance callback failed; the worker stops: %r", exc)
        self.pipeline.owned = set()  # nothing it holds can be trusted now
        self.pipeline.failure = self.pipeline.failure or exc
