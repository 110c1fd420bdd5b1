"""Dashboard variables cannot inject SQL: every use is quoted, and quoting escapes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from dashboards.expand import quote

JSON_DIR = Path(__file__).resolve().parents[2] / "dashboards" / "json"
VARIABLE_USE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z]+))?\}?")


def _queries(node: object) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "rawSql" and isinstance(value, str):
                found.append(value)
            else:
                found.extend(_queries(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_queries(item))
    return found


def test_every_variable_in_panel_sql_is_single_quoted() -> None:
    queries = [
        q for p in sorted(JSON_DIR.glob("*.json")) for q in _queries(json.loads(p.read_text()))
    ]
    assert len(queries) >= 30
    for sql in queries:
        for name, fmt in VARIABLE_USE.findall(sql):
            if name.startswith("__"):
                continue  # Grafana's own macros: time range and the All marker
            assert fmt == "singlequote", (name, sql[:200])


def test_quoting_escapes_a_hostile_value() -> None:
    hostile = "acme' OR 1=1) UNION SELECT payload FROM touchpoints --\\"
    quoted = quote(hostile)
    assert quoted.startswith("'") and quoted.endswith("'")
    inner = quoted[1:-1]
    assert re.search(r"(?<!\\)'", inner) is None  # no unescaped quote can end the literal
