"""The commands a person types, run as a person would: in a subprocess."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def oppchain(
    *args: str, timeout: float = 300, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oppchain.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,  # type: ignore[arg-type]
    )


def test_demo_accounts_for_every_event_and_sql_reads_it(tmp_path: Path) -> None:
    summary = tmp_path / "s.json"
    done = oppchain(
        "demo",
        "--events",
        "4000",
        "--seed",
        "2",
        "--bad-fraction",
        "0.01",
        "--summary-json",
        str(summary),
        "--data-dir",
        str(tmp_path),
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    figures = json.loads(summary.read_text())
    assert figures["produced"] == 4000
    assert figures["dead_lettered"] == 40 == figures["expected_dead_letters"]
    assert figures["stored"] + figures["dead_lettered"] == figures["produced"]
    assert figures["duplicates_dropped"] == 0 and figures["seconds"] > 0
    assert "every event accounted for" in done.stdout
    # What the demo is for: top channels per model, heuristic and data-driven, and
    # the share of opportunities whose first touch was social.
    models = re.search(r"top channels per attribution model.*?:\n((?:  .*\n)+)", done.stdout)
    assert models is not None, done.stdout
    assert {line.split()[0] for line in models.group(1).splitlines()} >= {
        "first_touch", "last_touch", "linear", "time_decay", "position_based", "w_shaped",
        "full_path", "j_shaped", "inverse_j", "linear_authentic",
    }  # fmt: skip
    assert re.search(r"\n  markov_order_1  \w+ \d+\.\d%", done.stdout), done.stdout
    assert re.search(r"opportunities with a social first touch: \d+\.\d% of \d+", done.stdout)

    rows = oppchain(
        "sql",
        "SELECT count() AS n FROM touchpoints",
        "--format",
        "json",
        "--data-dir",
        str(tmp_path / "demo"),
    )
    assert rows.returncode == 0, rows.stderr
    assert json.loads(rows.stdout) == {"n": figures["touchpoints"]}
    assert figures["channel_attribution_rows"] > 0
    assert (tmp_path / "demo" / "report.html").stat().st_size > 10_000

    ran = oppchain("attribute", "--data-dir", str(tmp_path / "demo"))
    assert ran.returncode == 0, ran.stderr
    shares = oppchain(
        "sql",
        "SELECT workspace, round(sum(share), 6) AS total FROM channel_attribution_latest "
        "WHERE paths_converting > 0 GROUP BY workspace",
        "--format",
        "json",
        "--data-dir",
        str(tmp_path / "demo"),
    )
    totals = [json.loads(line)["total"] for line in shares.stdout.splitlines()]
    assert totals and all(abs(t - 1.0) < 1e-6 for t in totals), shares.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("sql", "DROP TABLE touchpoints"),
        ("sql", "SELECT 1; DROP TABLE touchpoints"),
        ("produce", "/no/such/file.jsonl"),
        ("demo", "--events", "-5"),
        ("demo", "--brokers", "127.0.0.1:1"),  # never into real systems
        ("demo", "--clickhouse-dsn", "http://127.0.0.1:1"),
        ("generate", "--seed", "1"),
        ("nonsense",),
        ("attribute",),
        ("report",),
        ("deadletters", "list"),
    ],
)
def test_misuse_is_one_line_and_non_zero(tmp_path: Path, args: tuple[str, ...]) -> None:
    done = oppchain(*args, "--data-dir", str(tmp_path), timeout=60)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr


def test_reading_commands_refuse_an_unmigrated_database(tmp_path: Path) -> None:
    from sinks.migrations import MIGRATIONS

    n = len(MIGRATIONS)
    # 'attribute' opens (and so creates) the embedded database before refusing.
    for args in (("attribute",), ("report", "--out", str(tmp_path / "r.html"))):
        done = oppchain(*args, "--data-dir", str(tmp_path), timeout=60)
        assert done.returncode == 2, done.stderr
        assert done.stderr.strip().endswith(
            f"is missing {n} of {n} migrations "
            "(run 'oppchain migrate', or 'oppchain demo' to fill one)"
        ), done.stderr
    assert (tmp_path / "clickhouse").is_dir()
    assert not (tmp_path / "r.html").exists()


def test_up_produce_sql_then_ctrl_c(tmp_path: Path) -> None:
    events, truth = tmp_path / "events.jsonl", tmp_path / "truth.json"
    made = oppchain(
        "generate",
        "--seed",
        "4",
        "--days",
        "200",
        "--events",
        "1500",
        "--out",
        str(events),
        "--truth",
        str(truth),
    )
    assert made.returncode == 0, made.stderr
    env = {**os.environ, "OPPCHAIN_DATA_DIR": str(tmp_path / "data")}
    stack = subprocess.Popen(
        [sys.executable, "-m", "oppchain.cli", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "data" / "stack.json").exists():
            assert stack.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        sent = oppchain("produce", str(events), env=env)
        assert sent.returncode == 0, sent.stderr
        assert "sent 1500, invalid 0, failed 0" in sent.stdout
        n = -1
        while time.monotonic() < deadline + 60 and n < 1500:
            rows = oppchain(
                "sql",
                "SELECT (SELECT count() FROM touchpoints) + (SELECT count() FROM crm_events) AS n",
                "--format",
                "json",
                env=env,
                timeout=60,
            )
            assert rows.returncode == 0, rows.stderr
            n = json.loads(rows.stdout)["n"]
            time.sleep(0.3)
        assert n == 1500
        refused = oppchain("sql", "INSERT INTO touchpoints SELECT * FROM touchpoints", env=env)
        assert refused.returncode == 2 and "refused" in refused.stderr
    finally:
        os.kill(stack.pid, signal.SIGINT)
        out, _ = stack.communicate(timeout=60)
    assert stack.returncode == 0, out
    assert "stopped" in out
    assert not (tmp_path / "data" / "stack.json").exists()
