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
    if report.worker_rebuilt:
        print("  the worker owning the workspace rebuilt it", file=out)
        for table, n in sorted(report.rows_removed_after_rebuild.items()):
            print(f"  removed {n:>8} rows it stored before, from {table}", file=out)
    elif report.worker_rebuilt is False:
        print(
            "  no worker rebuilt the workspace in time: if one owns it, rows it stores "
            "before its rebuild may name the person (see docs/security.md)",
            file=out,
        )
    if not report.dry_run and not report.complete:
        print(f"  NOT COMPLETE, rows left: {report.rows_remaining}", file=out)


def run_erase(
    settings: Any,
    workspace: str,
    person: str | None = None,
    key: str | None = None,
    *,
    dry_run: bool = False,
    wait_for_worker_s: float | None = None,
) -> int:
    """``oppchain erase``: 0 when erased (or nothing to erase), 1 when rows remain,
    2 when the request cannot run (printed on stderr)."""
    from oppchain.stack import running_stack
    from sinks.clickhouse import connect, is_embedded

    dsn = settings.resolved_dsn()
    if is_embedded(dsn) and running_stack(settings.data_dir):
        print("oppchain: the running stack owns this database; stop it first", file=sys.stderr)
        return 2
    if wait_for_worker_s is None:  # embedded: the stack is stopped, no worker runs
        wait_for_worker_s = 0.0 if is_embedded(dsn) else 60.0
    try:
        report = erase(
            connect(dsn),
            settings.secret_bytes(),
            workspace,
            person,
            key,
            dry_run=dry_run,
            wait_for_worker_s=wait_for_worker_s,
        )
    except EraseError as exc:
        print(f"oppchain: {exc}", file=sys.stderr)
        return 2
    print_report(report)
    return 0 if dry_run or report.complete else 1
