"""The ``oppchain`` command. Misuse gets one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError

from oppchain.settings import Settings


class UsageError(Exception):
    """A mistake of the caller's, reported in one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    for name in ("data_dir", "brokers", "clickhouse_dsn"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    return Settings(**overrides)


def _bootstrap(settings: Settings) -> str:
    from oppchain.stack import running_stack

    if settings.brokers:
        return settings.brokers
    info = running_stack(settings.data_dir)
    if info is None:
        raise UsageError(
            "no broker: start the stack with 'oppchain up' or set OPPCHAIN_BROKERS / --brokers"
        )
    return str(info["bootstrap"])


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

    settings = _settings(args)
    if args.file == "-":
        lines = sys.stdin.buffer.read().splitlines()
    else:
        path = Path(args.file)
        if not path.is_file():
            raise UsageError(f"no such file: {path}")
        lines = path.read_bytes().splitlines()
    producer = EventProducer(settings, _bootstrap(settings))
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

    settings = _settings(args)
    _refuse_if_owned(settings)
    if args.cluster:
        from sinks.cluster import migrate_cluster, split_dsn

        dsn = settings.resolved_dsn()
        if dsn.startswith("chdb://"):
            raise UsageError("--cluster needs a ClickHouse server DSN (http(s)://)")
        server, database = split_dsn(dsn)
        try:
            applied = migrate_cluster(connect(server), args.cluster, database)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        print("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))
        return 0
    applied = migrate(connect(settings.resolved_dsn()))
    print("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))
    return 0


def _refuse_if_owned(settings: Settings) -> None:
    from oppchain.stack import running_stack

    if settings.resolved_dsn().startswith("chdb://") and running_stack(settings.data_dir):
        raise UsageError("the running stack owns this database; stop it first")


def _print_rows(result: dict[str, Any], fmt: str) -> None:
    columns, rows = result["columns"], result["rows"]
    if fmt == "json":
        for row in rows:
            print(json.dumps(dict(zip(columns, row, strict=True)), default=str))
        return
    cells = [[str(c) for c in columns]] + [[str(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    for n, row in enumerate(cells):
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


def cmd_sql(args: argparse.Namespace) -> int:
    from oppchain.sqlserver import NotReadOnly, check_read_only, run_query
    from oppchain.stack import running_stack

    settings = _settings(args)
    try:
        check_read_only(args.query)
    except NotReadOnly as exc:
        raise UsageError(f"refused: {exc}") from exc
    info = running_stack(settings.data_dir) if not settings.clickhouse_dsn else None
    if info and info.get("sql"):
        request = urllib.request.Request(
            info["sql"] + "/query",
            data=json.dumps({"sql": args.query}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                result = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise UsageError(json.loads(exc.read()).get("error", str(exc))) from exc
    else:
        from sinks.clickhouse import connect

        dsn = settings.resolved_dsn()
        if dsn.startswith("chdb://") and not (settings.data_dir / "clickhouse").exists():
            raise UsageError(f"no database under {settings.data_dir}; run 'oppchain demo' first")
        try:
            result = run_query(connect(dsn), args.query)
        except Exception as exc:
            raise UsageError(str(exc).strip().splitlines()[0][:500]) from exc
    _print_rows(result, args.format)
    return 0


def _run_stack(settings: Settings) -> int:
    """Run the worker with what the stack provides until Ctrl-C or SIGTERM."""
    from oppchain.runner import run_app
    from oppchain.stack import Stack
    from sinks.clickhouse import connect
    from sinks.writer import ClickHouseSink
    from streams.app import create_app
    from streams.pipeline import Pipeline

    with Stack(settings) as stack:
        print(f"broker     {stack.bootstrap}")
        print(f"clickhouse {stack.dsn}")
        if stack.sql is not None:
            # The process that owns an embedded database serves read-only SQL.
            print(f"sql        {stack.sql.address}/query (read-only)")
        print("worker running; Ctrl-C stops everything", flush=True)
        sink = ClickHouseSink(lambda: connect(stack.dsn))
        pipeline = Pipeline(settings, stack.bootstrap, sink)
        try:
            asyncio.run(run_app(create_app(settings, stack.bootstrap, pipeline)))
        finally:
            pipeline.close()
    print("stopped")
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    return _run_stack(_settings(args))


def cmd_worker(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if not settings.brokers:
        raise UsageError("worker needs OPPCHAIN_BROKERS; for a local stack use 'oppchain up'")
    return _run_stack(settings)


def cmd_demo(args: argparse.Namespace) -> int:
    from oppchain.demo import DemoOptions, run_demo

    options = DemoOptions(
        events=args.events,
        seed=args.seed,
        days=args.days,
        bad_fraction=args.bad_fraction,
        summary_json=args.summary_json,
    )
    return run_demo(_settings(args), options)


def cmd_attribute(args: argparse.Namespace) -> int:
    from sinks.clickhouse import connect
    from sinks.writer import ClickHouseSink
    from streams.markov_job import run_markov_from_sql

    settings = _settings(args)
    _refuse_if_owned(settings)
    sink = ClickHouseSink(lambda: connect(settings.resolved_dsn()))
    written = run_markov_from_sql(settings, sink)
    print(f"data-driven attribution: {written} rows written to channel_attribution")
    return 0


def cmd_erase(args: argparse.Namespace) -> int:
    from oppchain.erase import run_erase

    return run_erase(_settings(args), args.workspace, args.person, args.key, dry_run=args.dry_run)


def cmd_deadletters(args: argparse.Namespace) -> int:
    from oppchain import deadletters

    settings = _settings(args)
    if args.action == "list":
        return deadletters.run_list(settings, args.reason, args.limit, args.format)
    return deadletters.run_replay(
        settings, _bootstrap(settings), args.reason, args.dry_run, args.again
    )


def cmd_check(args: argparse.Namespace) -> int:
    from oppchain.check import run_check

    settings = _settings(args)
    return run_check(settings, _bootstrap(settings), args.format)


def cmd_dashboards_build(args: argparse.Namespace) -> int:
    from dashboards.main import cmd_dashboards_build as build

    return int(build() or 0)


def cmd_dashboards_push(args: argparse.Namespace) -> int:
    from oppchain.push import cmd_dashboards_push as push

    return int(push(args.url, args.token, args.folder) or 0)


def cmd_report(args: argparse.Namespace) -> int:
    from oppchain.report import cmd_report as report

    settings = _settings(args)
    _refuse_if_owned(settings)
    return int(report(settings, args.out) or 0)


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


def parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--data-dir", type=Path, help="data directory (OPPCHAIN_DATA_DIR)")
    common.add_argument("--brokers", help="Kafka bootstrap servers (OPPCHAIN_BROKERS)")
    common.add_argument(
        "--clickhouse-dsn", help="chdb:///path or http(s):// (OPPCHAIN_CLICKHOUSE_DSN)"
    )
    common.add_argument("-v", "--verbose", action="store_true", help="log more")

    root = _Parser(prog="oppchain", description=__doc__)
    sub = root.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("generate", parents=[common], help="write a synthetic world")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--days", type=_positive, default=730)
    p.add_argument("--events", type=_positive, default=None)
    p.add_argument("--workspaces", type=_positive, default=3)
    p.add_argument("--bad-fraction", type=_fraction, default=0.0)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--truth", type=Path, required=True)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("produce", parents=[common], help="send JSON lines to Kafka")
    p.add_argument("file", help="a JSON-lines file, or - for standard input")
    p.add_argument("--raw", action="store_true", help="send lines as they are, unvalidated")
    p.set_defaults(func=cmd_produce)

    p = sub.add_parser("migrate", parents=[common], help="apply pending migrations")
    p.add_argument("--cluster", help="apply ON CLUSTER (ReplicatedMergeTree + Distributed)")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("sql", parents=[common], help="run read-only SQL")
    p.add_argument("query")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("up", parents=[common], help="run broker, worker and database locally")
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("worker", parents=[common], help="run a worker against a real cluster")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("demo", parents=[common], help="generate, produce, process, account")
    p.add_argument("--events", type=_positive, default=20000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--days", type=_positive, default=730)
    p.add_argument("--bad-fraction", type=_fraction, default=0.01)
    p.add_argument("--summary-json", type=Path)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("attribute", parents=[common], help="run data-driven attribution")
    p.set_defaults(func=cmd_attribute)

    p = sub.add_parser("erase", parents=[common], help="erase a person from every table")
    p.add_argument("--workspace", required=True)
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--person", help="person id")
    who.add_argument("--key", help="any identity key of the person, e.g. x:handle")
    p.add_argument("--dry-run", action="store_true")
    p.set_defaults(func=cmd_erase)

    p = sub.add_parser("deadletters", help="list or replay dead letters")
    dl = p.add_subparsers(dest="action", required=True, parser_class=_Parser)
    q = dl.add_parser("list", parents=[common], help="dead letters in ClickHouse")
    q.add_argument("--reason")
    q.add_argument("--limit", type=_positive, default=50)
    q.add_argument("--format", choices=("table", "json"), default="table")
    q.set_defaults(func=cmd_deadletters)
    q = dl.add_parser("replay", parents=[common], help="re-send originals to their topics")
    q.add_argument("--reason")
    q.add_argument("--dry-run", action="store_true")
    q.add_argument("--again", action="store_true", help="also those replayed before")
    q.set_defaults(func=cmd_deadletters)

    p = sub.add_parser("check", parents=[common], help="reconcile topics with ClickHouse")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("dashboards", help="Grafana dashboards as code")
    dsub = p.add_subparsers(dest="dashboards_command", required=True, parser_class=_Parser)
    d = dsub.add_parser("build", parents=[common], help="write dashboards/json from the builders")
    d.set_defaults(func=cmd_dashboards_build)
    d = dsub.add_parser("push", parents=[common], help="create or update them in Grafana")
    d.add_argument("--url", required=True)
    d.add_argument("--token", required=True)
    d.add_argument("--folder", default="oppchain")
    d.set_defaults(func=cmd_dashboards_push)

    p = sub.add_parser("report", parents=[common], help="the dashboards' panels as one HTML file")
    p.add_argument("--out", type=Path, default=Path("report.html"))
    p.set_defaults(func=cmd_report)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        # The client libraries warn about slow loop iterations during bulk work.
        for noisy in ("kafka", "aiokafka", "faust", "mode"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
    try:
        code: int = args.func(args)
        return code
    except UsageError as exc:
        print(f"oppchain: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        print(f"oppchain: bad setting {where}: {first['msg']}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
