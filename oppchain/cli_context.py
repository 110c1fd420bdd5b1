"""What the subcommands share: the caller's mistakes, the settings their flags
override, the broker to talk to, and whether a running stack owns the database."""

from __future__ import annotations

import argparse
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
