"""The ``oppchain`` command. Misuse gets one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import NoReturn

from pydantic import ValidationError

from oppchain import commands
from oppchain.cli_context import UsageError

__all__ = ["UsageError", "main", "parser"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


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
    p.set_defaults(func=commands.cmd_generate)

    p = sub.add_parser("produce", parents=[common], help="send JSON lines to Kafka")
    p.add_argument("file", help="a JSON-lines file, or - for standard input")
    p.add_argument("--raw", action="store_true", help="send lines as they are, unvalidated")
    p.set_defaults(func=commands.cmd_produce)

    p = sub.add_parser("migrate", parents=[common], help="apply pending migrations")
    p.add_argument("--cluster", help="apply ON CLUSTER (ReplicatedMergeTree + Distributed)")
    p.add_argument(
        "--reapply",
        action="store_true",
        help="with --cluster: also create the current schema where it is missing (new nodes)",
    )
    p.set_defaults(func=commands.cmd_migrate)

    p = sub.add_parser("sql", parents=[common], help="run read-only SQL")
    p.add_argument("query")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=commands.cmd_sql)

    p = sub.add_parser("up", parents=[common], help="run broker, worker and database locally")
    p.set_defaults(func=commands.cmd_up)

    p = sub.add_parser("worker", parents=[common], help="run a worker against a real cluster")
    p.set_defaults(func=commands.cmd_worker)

    p = sub.add_parser("demo", parents=[common], help="generate, produce, process, account")
    p.add_argument("--events", type=_positive, default=20000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--days", type=_positive, default=730)
    p.add_argument("--bad-fraction", type=_fraction, default=0.01)
    p.add_argument("--summary-json", type=Path)
    p.set_defaults(func=commands.cmd_demo)

    p = sub.add_parser("attribute", parents=[common], help="run data-driven attribution")
    p.set_defaults(func=commands.cmd_attribute)

    p = sub.add_parser("erase", parents=[common], help="erase a person from every table")
    p.add_argument("--workspace", required=True)
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--person", help="person id")
    who.add_argument("--key", help="any identity key of the person, e.g. x:handle")
    p.add_argument("--dry-run", action="store_true")
    p.add_argument(
        "--wait-for-worker",
        type=float,
        default=None,
        metavar="SECONDS",
        help="wait this long for the worker owning the workspace to rebuild it, then "
        "delete what it stored meanwhile (default: 60 on a server, 0 embedded)",
    )
    p.set_defaults(func=commands.cmd_erase)

    p = sub.add_parser("deadletters", help="list or replay dead letters")
    dl = p.add_subparsers(dest="action", required=True, parser_class=_Parser)
    q = dl.add_parser("list", parents=[common], help="dead letters in ClickHouse")
    q.add_argument("--reason")
    q.add_argument("--limit", type=_positive, default=50)
    q.add_argument("--format", choices=("table", "json"), default="table")
    q.set_defaults(func=commands.cmd_deadletters)
    q = dl.add_parser("replay", parents=[common], help="re-send originals to their topics")
    q.add_argument("--reason")
    q.add_argument("--dry-run", action="store_true")
    q.add_argument("--again", action="store_true", help="also those replayed before")
    q.set_defaults(func=commands.cmd_deadletters)

    p = sub.add_parser("check", parents=[common], help="reconcile topics with ClickHouse")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=commands.cmd_check)

    p = sub.add_parser("dashboards", help="Grafana dashboards as code")
    dsub = p.add_subparsers(dest="dashboards_command", required=True, parser_class=_Parser)
    d = dsub.add_parser("build", parents=[common], help="write dashboards/json from the builders")
    d.set_defaults(func=commands.cmd_dashboards_build)
    d = dsub.add_parser("push", parents=[common], help="create or update them in Grafana")
    d.add_argument("--url", required=True)
    d.add_argument("--token", required=True)
    d.add_argument("--folder", default="oppchain")
    d.set_defaults(func=commands.cmd_dashboards_push)

    p = sub.add_parser("report", parents=[common], help="the dashboards' panels as one HTML file")
    p.add_argument("--out", type=Path, default=Path("report.html"))
    p.set_defaults(func=commands.cmd_report)
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
