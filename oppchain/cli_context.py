"""What the subcommands share: the caller's mistakes, the settings their flags
override, the broker to talk to, whether a running stack owns the database, and
whether the migrations have built it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from oppchain.settings import Settings


class UsageError(Exception):
    """A mistake of the caller's, reported in one line."""


def settings_from(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    for name in ("data_dir", "brokers", "clickhouse_dsn"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    return Settings(**overrides)


def bootstrap(settings: Settings) -> str:
    from oppchain.stack import running_stack

    if settings.brokers:
        return settings.brokers
    info = running_stack(settings.data_dir)
    if info is None:
        raise UsageError(
            "no broker: start the stack with 'oppchain up' or set OPPCHAIN_BROKERS / --brokers"
        )
    return str(info["bootstrap"])


def refuse_if_owned(settings: Settings) -> None:
    from oppchain.stack import running_stack

    if settings.resolved_dsn().startswith("chdb://") and running_stack(settings.data_dir):
        raise UsageError("the running stack owns this database; stop it first")


def require_migrated(client: Any, where: str) -> None:
    """Refuse, in one line, to read a database the migrations have not built:
    the sink would otherwise retry a missing table as if the server were away."""
    from sinks.migrations import MIGRATIONS

    found = client.query(
        "SELECT count() FROM system.tables "
        "WHERE database = currentDatabase() AND name = 'schema_migrations'"
    ).result_rows[0][0]
    done: set[str] = set()
    if found:
        rows = client.query("SELECT id FROM schema_migrations FINAL").result_rows
        done = {r[0] for r in rows}
    missing = [m.id for m in MIGRATIONS if m.id not in done]
    if missing:
        raise UsageError(
            f"{where} is missing {len(missing)} of {len(MIGRATIONS)} migrations "
            "(run 'oppchain migrate', or 'oppchain demo' to fill one)"
        )


def open_database(dsn: str, *, migrated: bool) -> Any:
    """A client for an existing database, refused in one line when an embedded one
    does not exist or, with ``migrated``, when the migrations have not built it."""
    from sinks.clickhouse import connect

    if dsn.startswith("chdb://") and not Path(dsn.removeprefix("chdb://")).exists():
        raise UsageError(f"no database at {dsn}; run 'oppchain demo' first")
    try:
        client = connect(dsn)
    except Exception as exc:
        raise UsageError(f"cannot open {dsn}: {str(exc).strip().splitlines()[0]}") from exc
    if migrated:
        require_migrated(client, dsn)
    return client
