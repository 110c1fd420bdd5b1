"""The local stack: broker, database, SQL endpoint, in one owning process.

With empty ``brokers`` and ``clickhouse_dsn`` the stack starts tansu on
127.0.0.1 and opens chdb under the data directory; with them set, the same
code points at a real Kafka and a real ClickHouse server.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oppchain.broker import EmbeddedBroker, create_topics
from oppchain.settings import Settings
from oppchain.sqlserver import SqlServer
from sinks.clickhouse import close_embedded, connect, is_embedded
from sinks.migrations import migrate

STACK_FILE = "stack.json"


@dataclass
class Stack:
    settings: Settings
    serve_sql: bool = True
    broker: EmbeddedBroker | None = None
    sql: SqlServer | None = None
    client: Any = None
    applied: list[str] = field(default_factory=list)

    @property
    def bootstrap(self) -> str:
        if self.settings.brokers:
            return self.settings.brokers
        assert self.broker is not None
        return self.broker.bootstrap

    @property
    def dsn(self) -> str:
        return self.settings.resolved_dsn()

    def start(self) -> Stack:
        """Start every part; a part that fails stops those already started (the
        broker runs in its own session and would outlive this process)."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> Stack:
        data_dir = self.settings.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        if not self.settings.brokers:
            self.broker = EmbeddedBroker(log_path=data_dir / "broker.log").start()
        topics = {name: self.settings.partitions for name in self.settings.topics.values()}
        create_topics(self.bootstrap, topics)
        self.client = connect(self.dsn)
        self.applied = migrate(self.client)
        if self.serve_sql and is_embedded(self.dsn):
            self.sql = SqlServer(self.client, self.settings.sql_host, self.settings.sql_port)
            self.sql.start()
        self._write_stack_file()
        return self

    def _write_stack_file(self) -> None:
        info = {
            "pid": os.getpid(),
            "bootstrap": self.bootstrap,
            "sql": self.sql.address if self.sql else None,
            "dsn": self.dsn,
        }
        (self.settings.data_dir / STACK_FILE).write_text(json.dumps(info, indent=2))

    def stop(self) -> None:
        stack_file = self.settings.data_dir / STACK_FILE
        if stack_file.exists():
            stack_file.unlink()
        if self.sql is not None:
            self.sql.stop()
        if is_embedded(self.dsn):
            close_embedded(self.dsn)
        if self.broker is not None:
            self.broker.stop()

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def running_stack(data_dir: Path) -> dict[str, Any] | None:
    """The stack file of a live stack owning ``data_dir``, if any."""
    path = data_dir / STACK_FILE
    if not path.exists():
        return None
    info: dict[str, Any] = json.loads(path.read_text())
    try:
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError):
        return None
    return info
