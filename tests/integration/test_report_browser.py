"""The report, opened in a real headless Chromium: no console errors, every chart drawn.

The page's own script marks each panel ``data-rendered="true"`` once the browser has
laid out a visible mark (bar, line, point, stat or table); ``--dump-dom`` gives the
DOM after scripts ran, ``--enable-logging=stderr`` the console. A screenshot is
kept under ``artifacts/`` for people to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from oppchain.report import write_report
from tests.integration.test_dashboard_sql import load_world

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
)
CONSOLE = re.compile(r":CONSOLE[:(]|Uncaught")
"""Chromium logs every console message as INFO:CONSOLE:<line>]; the report logs none."""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found and shutil.which("apt-get") and os.geteuid() == 0:
        # A fresh machine: Debian's chromium is the browser this test is written for.
        subprocess.run(["apt-get", "update", "-qq"], check=False, timeout=600)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium"],
            check=False,
            timeout=1200,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        found = shutil.which("chromium")
    assert found, "chromium is not installed (apt-get install -y chromium)"
    return found


def run_browser(tmp_path: Path, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"profile{len(list(tmp_path.glob('profile*')))}"
    return subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if CONSOLE.search(line)]


def test_report_renders_in_chromium(clickhouse: Any, tmp_path: Path) -> None:
    load_world(clickhouse)
    report = write_report(clickhouse, tmp_path / "report.html")
    html = report.read_text()
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html

    dom = run_browser(tmp_path, report.as_uri(), "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert not console_errors(dom.stderr), console_errors(dom.stderr)
    figures = re.findall(r"<figure [^>]*>", dom.stdout)
    assert len(figures) >= 40
    not_rendered = [f for f in figures if 'data-rendered="true"' not in f]
    assert not not_rendered, not_rendered
    total = re.search(r'<body data-rendered="(\d+)/(\d+)"', dom.stdout)
    assert total and total[1] == total[2] == str(len(figures))
    assert dom.stdout.count("<svg") >= 19

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    taken = run_browser(
        tmp_path, report.as_uri(), f"--screenshot={shot}", "--window-size=1400,11000"
    )
    assert taken.returncode == 0, taken.stderr[-2000:]
    assert not console_errors(taken.stderr), console_errors(taken.stderr)
    assert shot.stat().st_size > 50_000


def test_console_errors_are_caught(tmp_path: Path) -> None:
    """The console check itself: a page that throws must be reported."""
    page = tmp_path / "broken.html"
    page.write_text("<html><body><script>console.error('boom'); nope();</script></body></html>")
    result = run_browser(tmp_path, page.as_uri(), "--dump-dom")
    assert any("boom" in line for line in console_errors(result.stderr)), result.stderr[-2000:]
