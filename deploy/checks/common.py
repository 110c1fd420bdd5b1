"""Where the deployment files are, and the problem list every check appends to."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"

# A Kubernetes ``$(VAR)`` reference to another environment variable.
K8S_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


class Problems(list[str]):
    """Problems found, each ``where: message``."""

    def add(self, where: str, message: str) -> None:
        self.append(f"{where}: {message}")
