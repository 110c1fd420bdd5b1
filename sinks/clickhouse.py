"""One way to reach ClickHouse: clickhouse-connect, embedded (chdb://) or a server."""

from __future__ import annotations

import threading
from typing import Any

import clickhouse_connect

_EMBEDDED: dict[str, Any] = {}
_LOCK = threading.Lock()


class SerializedClient:
    """Shares one chdb session between threads, one call at a time."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.RLock()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attr(*args, **kwargs)

        return call


def connect(dsn: str) -> Any:
    """A client for ``dsn``: ``chdb:///path`` for the embedded engine, else http(s)://.

    chdb allows one open session per path per process, so embedded clients are
    shared per path inside a process.
    """
    if dsn.startswith("chdb://"):
        with _LOCK:
            client = _EMBEDDED.get(dsn)
            if client is None:
                client = SerializedClient(clickhouse_connect.get_client(dsn=dsn))
                _EMBEDDED[dsn] = client
            return client
    return clickhouse_connect.get_client(dsn=dsn, autogenerate_session_id=False)


def close_embedded(dsn: str) -> None:
    with _LOCK:
        client = _EMBEDDED.pop(dsn, None)
    if client is not None:
        client.close()


def is_embedded(dsn: str) -> bool:
    return dsn.startswith("chdb://")
