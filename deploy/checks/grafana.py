"""Grafana provisioning files: the variables they expand are set, the dashboards mounted."""

from __future__ import annotations

import re
from pathlib import Path

import yaml  # type: ignore[import-untyped]

from .common import Problems

GRAFANA_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def check_grafana_provisioning(
    folder: Path, env: dict[str, str], mounted: set[str], problems: Problems
) -> None:
    """Variables the provisioning files expand are set; dashboard paths are mounted."""
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*.y*ml")):
        where = f"dashboards/provisioning/{path.relative_to(folder)}"
        text = path.read_text()
        for match in GRAFANA_VAR.finditer(text.replace("$$", "")):
            name = match[1] or match[2]
            if not name.startswith("__") and name not in env:
                problems.add(where, f"${name} is not set in the grafana service environment")
        try:
            doc = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            problems.add(where, f"not YAML: {exc}")
            continue
        providers = doc.get("providers") if isinstance(doc, dict) else None
        for provider in providers or []:
            target = str((provider.get("options") or {}).get("path", ""))
            if target and not any(target == m or target.startswith(m + "/") for m in mounted):
                problems.add(where, f"dashboards path {target} is not mounted into grafana")
