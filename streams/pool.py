"""Processing in child processes, so that it does not share an interpreter lock
with the worker's Kafka client and inserts.

In one process, the processing thread and the writer thread take turns on one
lock: at 1M events the two together used less than one core of two (see
``benchmarks/RESULTS.md``). Here each child owns the state of the partitions
``p`` with ``p % children == i`` (the state is partitioned by workspace, and a
workspace always lands on the same partition), receives the raw records of a
batch, and sends back every table already converted to Arrow, so the worker
only inserts. Children are spawned (not forked: the worker runs threads) on
first use and exit when their pipe closes, which includes the worker being
killed.
"""

from __future__ import annotations

import multiprocessing
import threading
import traceback
import weakref
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from oppchain.collector import settle
from oppchain.settings import Settings
from streams.domain.markov import Path
from streams.ingest import Record
from streams.processor import BatchResult, Counters, Processor, StateStats, count
from streams.routing import partition_for
from streams.store import Query, erased_positions, replay

PYTHON_ROWS = frozenset({"dead_letters"})  # the writer checks these against the table first


def _to_arrow(rows: dict[str, list[Any]]) -> dict[str, Any]:
    from sinks.migrations import table

    return {
        name: values if name in PYTHON_ROWS or not values else table(name).to_arrow(values)
        for name, values in rows.items()
    }


def _serve(conn: Connection, settings: Settings, secret: bytes) -> None:
    """A child's loop: one request in, one reply out, until the pipe closes."""
    processor = Processor(settings, secret=secret, check_routing=True)
    while True:
        try:
            method, args = conn.recv()
        except EOFError:
            return
        try:
            if method == "process":
                result = processor.process(*args)
                result.rows = _to_arrow(result.rows)
                reply: Any = result
            else:
                reply = getattr(processor, method)(*args)
            conn.send(("ok", reply))
            if method in {"process", "rebuild_payloads", "drop"}:
                settle()
        except Exception:
            conn.send(("error", traceback.format_exc()))


class ProcessingError(RuntimeError):
    """A child failed, or exited."""


class _Child:
    def __init__(self, settings: Settings, secret: bytes, index: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, theirs = ctx.Pipe()
        self.process: BaseProcess = ctx.Process(
            target=_serve,
            args=(theirs, settings, secret),
            name=f"oppchain-processing-{index}",
            daemon=True,
        )
        self.process.start()
        theirs.close()

    def send(self, method: str, *args: Any) -> None:
        self.conn.send((method, args))

    def receive(self) -> Any:
        try:
            status, value = self.conn.recv()
        except (EOFError, OSError) as exc:
            self.process.join(timeout=1)  # reap it, for its exit code
            raise ProcessingError(
                f"{self.process.name} (pid {self.process.pid}) exited: {self.process.exitcode}"
            ) from exc
        if status != "ok":
            raise ProcessingError(f"{self.process.name} failed:\n{value}")
        return value

    def call(self, method: str, *args: Any) -> Any:
        self.send(method, *args)
        return self.receive()

    def rebuild_payloads(self, payloads: Sequence[bytes]) -> int:
        count: int = self.call("rebuild_payloads", list(payloads))
        return count

    def forget(self, workspace: str, erased: dict[str, str]) -> None:
        self.call("forget", workspace, erased)

    def forget_positions(self, positions: list[tuple[str, int, int]]) -> None:
        self.call("forget_positions", positions)

    def floor_versions(self, workspace: str, stored: dict[str, int]) -> None:
        self.call("floor_versions", workspace, stored)


def _stop(children: list[_Child]) -> None:
    for child in children:
        child.conn.close()  # the child sees EOF and returns
    for child in children:
        child.process.join(timeout=10)
        if child.process.is_alive():
            child.process.kill()  # by its own handle, i.e. its pid
            child.process.join()


class ProcessingPool:
    """The processor's interface, served by ``size`` child processes."""

    def __init__(self, settings: Settings, size: int) -> None:
        if size < 1:
            raise ValueError("a pool needs at least one process")
        self.settings = settings
        self.size = size
        self.counters = Counters()
        self._children: list[_Child] = []
        self._lock = threading.Lock()  # calls are request/reply on each pipe
        self._finalizer: Callable[[], Any] | None = None
        self._closed = False

    def _started(self) -> list[_Child]:
        if self._closed:
            raise ProcessingError("the processing pool is closed")
        if not self._children:
            secret = self.settings.secret_bytes()
            self._children = [_Child(self.settings, secret, i) for i in range(self.size)]
            self._finalizer = weakref.finalize(self, _stop, self._children)
        return self._children

    def _child_of(self, workspace: str) -> int:
        return partition_for(workspace, self.settings.partitions) % self.size

    def _exchange(self, requests: list[tuple[_Child, str, tuple[Any, ...]]]) -> list[Any]:
        """Send each request, then read every reply in order, and raise the first
        failure only then: a reply left unread would answer the next request."""
        pending: list[_Child] = []
        failures: list[BaseException] = []
        for child, method, args in requests:
            try:
                child.send(method, *args)
                pending.append(child)
            except OSError:
                pending.append(child)  # gone: reading from it says how it exited
            except Exception as exc:  # nothing was written (it could not be pickled)
                failures.append(exc)
        replies = []
        for child in pending:
            try:
                replies.append(child.receive())
            except ProcessingError as exc:
                failures.append(exc)
        if failures:
            raise failures[0]
        return replies

    def _all(self, method: str, *args: Any) -> list[Any]:
        with self._lock:
            return self._exchange([(c, method, args) for c in self._started()])

    def process(self, records: Sequence[Record], now: datetime | None = None) -> BatchResult:
        shares: list[list[Record]] = [[] for _ in range(self.size)]
        for record in records:
            shares[record.partition % self.size].append(record)
        with self._lock:
            children = self._started()
            busy = [(c, "process", (s, now)) for c, s in zip(children, shares, strict=True) if s]
            results: list[BatchResult] = self._exchange(busy)
        merged = BatchResult({}, [], 0, 0)
        for result in results:
            for name, rows in result.rows.items():
                merged.rows.setdefault(name, []).append(rows)
            merged.dead.extend(result.dead)
            merged.valid += result.valid
            merged.duplicates += result.duplicates
        merged.rows = {name: _concat(parts) for name, parts in merged.rows.items()}
        count(self.counters, len(records), merged)
        return merged

    def replay(self, query: Query, workspaces: Sequence[str]) -> int:
        groups: dict[int, list[str]] = {}
        for workspace in workspaces:
            groups.setdefault(self._child_of(workspace), []).append(workspace)
        with self._lock:
            children = self._started()
            total = sum(replay(children[i], query, group) for i, group in groups.items())
            # Records go to children by partition, not workspace: all know every position.
            positions = erased_positions(query)
            self._exchange([(c, "forget_positions", (positions,)) for c in children])
            return total

    def drop(self, workspaces: Iterable[str]) -> None:
        self._all("drop", list(workspaces))

    def workspaces(self) -> list[str]:
        return sorted(w for found in self._all("workspaces") for w in found)

    def markov_paths(self) -> dict[str, list[Path]]:
        merged: dict[str, list[Path]] = {}
        for paths in self._all("markov_paths"):
            merged.update(paths)
        return merged

    def stats(self) -> StateStats:
        return StateStats.combine(self._all("stats"))

    def settle(self) -> None:
        """Nothing here: each child settles itself after every batch and rebuild."""

    def pids(self) -> list[int]:
        return [c.process.pid for c in self._started() if c.process.pid is not None]

    def close(self) -> None:
        self._closed = True
        if self._finalizer is not None:
            self._finalizer()
        self._children = []


def _concat(parts: list[Any]) -> Any:
    parts = [p for p in parts if len(p)]
    if len(parts) <= 1:
        return parts[0] if parts else []
    if isinstance(parts[0], list):
        return [row for part in parts for row in part]
    import pyarrow as pa

    return pa.concat_tables(parts)
