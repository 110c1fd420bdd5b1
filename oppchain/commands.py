"""The subcommands: each turns its parsed arguments into a call to the module that
does the work. Those modules are imported on use, so ``--help`` stays quick."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from oppchain.cli_context import (
    UsageError,
    bootstrap,
    refuse_if_owned,
    require_migrated,
    settings_from,
)


def cmd_generate(args: argparse.Namespace) -> int:
    from oppchain.generator import generate, write

    world = generate(
        args.seed,
        args.days,
        events=args.events,
        workspaces=args.workspaces,
        bad_fraction=args.bad_fraction,
    )
    write(world, args.out, args.truth)
    print(f"wrote {len(world.events)} events to {args.out} and truth to {args.truth}")
    return 0


def cmd_produce(args: argparse.Namespace) -> int:
    from oppchain.producer import EventProducer

    settings = settings_from(args)
    if args.file == "-":
        lines = sys.stdin.buffer.read().splitlines()
    else:
        path = Path(args.file)
        if not path.is_file():
            raise UsageError(f"no such file: {path}")
        lines = path.read_bytes().splitlines()
    producer = EventProducer(settings, bootstrap(settings))
    try:
        report = producer.send_lines(lines, validate=not args.raw)
    finally:
        producer.close()
    for number, reason in report.invalid[:20]:
        print(f"line {number}: not sent: {reason}", file=sys.stderr)
    for number, reason in report.failed[:20]:
        print(f"line {number}: failed: {reason}", file=sys.stderr)
    print(f"sent {report.sent}, invalid {len(report.invalid)}, failed {len(report.failed)}")
    return 0 if report.ok else 1


def cmd_migrate(args: argparse.Namespace) -> int:
    from sinks.clickhouse import connect
    from sinks.migrations import migrate

    settings = settings_from(args)
    refuse_if_owned(settings)
    if args.reapply and not args.cluster:
        raise UsageError("--reapply needs --cluster (one server has no nodes to add)")
    if args.cluster:
        from sinks.cluster import migrate_cluster, split_dsn

        dsn = settings.resolved_dsn()
        if dsn.startswith("chdb://"):
            raise UsageError("--cluster needs a ClickHouse server DSN (http(s)://)")
        server, database = split_dsn(dsn)
        try:
            applied = migrate_cluster(connect(server), args.cluster, database, reapply=args.reapply)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        print("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))
        return 0
    try:
        applied = migrate(connect(settings.resolved_dsn()))
    except ValueError as exc:  # an applied migration changed
        raise UsageError(str(exc)) from exc
    print("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))
    return 0


def cmd_sql(args: argparse.Namespace) -> int:
    from oppchain.sqlclient import run_sql

    return run_sql(settings_from(args), args.query, args.format)


def cmd_up(args: argparse.Namespace) -> int:
    from oppchain.worker import run_worker

    return run_worker(settings_from(args))


def cmd_worker(args: argparse.Namespace) -> int:
    from oppchain.worker import run_worker

    settings = settings_from(args)
    if not settings.brokers:
        raise UsageError("worker needs OPPCHAIN_BROKERS; for a local stack use 'oppchain up'")
    return run_worker(settings)


def cmd_demo(args: argparse.Namespace) -> int:
    from oppchain.demo import DemoOptions, run_demo

    options = DemoOptions(
        events=args.events,
        seed=args.seed,
        days=args.days,
        bad_fraction=args.bad_fraction,
        summary_json=args.summary_json,
    )
    settings = settings_from(args)
    if settings.brokers or settings.clickhouse_dsn:
        # It writes synthetic events and joins the consumer group: never into real systems.
        raise UsageError(
            "the demo runs on its own embedded broker and database: unset OPPCHAIN_BROKERS "
            "and OPPCHAIN_CLICKHOUSE_DSN (or drop --brokers / --clickhouse-dsn)"
        )
    return run_demo(settings, options)


def cmd_attribute(args: argparse.Namespace) -> int:
    from sinks.clickhouse import connect
    from sinks.writer import ClickHouseSink
    from streams.markov_job import run_markov_from_sql

    settings = settings_from(args)
    refuse_if_owned(settings)
    dsn = settings.resolved_dsn()
    require_migrated(connect(dsn), dsn)
    sink = ClickHouseSink(lambda: connect(dsn))
    written = run_markov_from_sql(settings, sink)
    print(f"data-driven attribution: {written} rows written to channel_attribution")
    return 0


def cmd_erase(args: argparse.Namespace) -> int:
    from oppchain.erase_command import run_erase

    return run_erase(
        settings_from(args),
        args.workspace,
        args.person,
        args.key,
        dry_run=args.dry_run,
        wait_for_worker_s=args.wait_for_worker,
    )


def cmd_deadletters(args: argparse.Namespace) -> int:
    from oppchain import deadletters

    settings = settings_from(args)
    if args.action == "list":
        return deadletters.run_list(settings, args.reason, args.limit, args.format)
    return deadletters.run_replay(
        settings, bootstrap(settings), args.reason, args.dry_run, args.again
    )


def cmd_check(args: argparse.Namespace) -> int:
    from oppchain.check import run_check

    settings = settings_from(args)
    return run_check(settings, bootstrap(settings), args.format)


def cmd_dashboards_build(args: argparse.Namespace) -> int:
    from dashboards.main import cmd_dashboards_build as build

    return int(build() or 0)


def cmd_dashboards_push(args: argparse.Namespace) -> int:
    from oppchain.push import cmd_dashboards_push as push

    return int(push(args.url, args.token, args.folder) or 0)


def cmd_report(args: argparse.Namespace) -> int:
    from oppchain.report import cmd_report as report

    settings = settings_from(args)
    refuse_if_owned(settings)
    return int(report(settings, args.out) or 0)
