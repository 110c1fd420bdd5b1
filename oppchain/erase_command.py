"""``oppchain erase``: run an erasure against the configured database and print
what was done."""

from __future__ import annotations

import sys
from typing import Any

from oppchain.erase import ErasureReport, erase
from oppchain.erase_scope import EraseError


def print_report(report: ErasureReport, out: Any = None) -> None:
    out = out or sys.stdout
    verb = "would remove" if report.dry_run else "removed"
    print(
        f"erasure {report.erasure_id if not report.dry_run else '(dry run)'} in "
        f"{report.workspace}: {report.person_ids} person ids, {report.identity_keys} identity "
        f"keys, {report.events} events",
        file=out,
    )
    for table, n in sorted(report.rows_removed.items()):
        print(f"  {verb} {n:>8} rows from {table}", file=out)
    for column, n in sorted(report.rows_redacted.items()):
        print(
            f"  {'would blank' if report.dry_run else 'blanked'} {n:>8} references in {column}",
            file=out,
        )
    for table in report.rollups_rebuilt:
        print(f"  rebuilt rollup {table} for the workspace", file=out)
    if not report.dry_run and not report.complete:
        print(f"  NOT COMPLETE, rows left: {report.rows_remaining}", file=out)


def run_erase(
    settings: Any,
    workspace: str,
    person: str | None = None,
    key: str | None = None,
    *,
    dry_run: bool = False,
) -> int:
    """``oppchain erase``: 0 when erased (or nothing to erase), 1 when rows remain,
    2 when the request cannot run (printed on stderr)."""
    from oppchain.stack import running_stack
    from sinks.clickhouse import connect, is_embedded

    dsn = settings.resolved_dsn()
    if is_embedded(dsn) and running_stack(settings.data_dir):
        print("oppchain: the running stack owns this database; stop it first", file=sys.stderr)
        return 2
    try:
        report = erase(
            connect(dsn), settings.secret_bytes(), workspace, person, key, dry_run=dry_run
        )
    except EraseError as exc:
        print(f"oppchain: {exc}", file=sys.stderr)
        return 2
    print_report(report)
    return 0 if dry_run or report.complete else 1
