"""Structural checks of every deployment file, runnable without Docker or a cluster.

    python deploy/validate.py      # prints the problems, exits 1 if any

The checks live in ``deploy/checks/`` (compose, grafana, k8s, k8s_pod, dockerfile,
settings_env). ``deploy/validate.sh`` runs this after ``docker compose config`` (when
a compose CLI exists); ``tests/unit/test_deploy.py`` imports it so CI fails when a
deployment file breaks. Needs PyYAML and the project (for ``Settings``).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from deploy.checks.common import Problems  # noqa: E402
from deploy.checks.compose import check_compose, check_compose_doc  # noqa: E402
from deploy.checks.compose_env import interpolate, read_env_file  # noqa: E402
from deploy.checks.dockerfile import check_dockerfile  # noqa: E402
from deploy.checks.grafana import check_grafana_provisioning  # noqa: E402
from deploy.checks.k8s import check_k8s, check_k8s_docs, load_k8s  # noqa: E402

__all__ = [
    "Problems",
    "check_all",
    "check_compose",
    "check_compose_doc",
    "check_dockerfile",
    "check_grafana_provisioning",
    "check_k8s",
    "check_k8s_docs",
    "interpolate",
    "load_k8s",
    "main",
    "read_env_file",
]


def check_all() -> Problems:
    problems = Problems()
    problems.extend(check_dockerfile())
    problems.extend(check_compose())
    problems.extend(check_k8s())
    return problems


def main() -> int:
    problems = check_all()
    for problem in problems:
        print(f"deploy: {problem}", file=sys.stderr)
    print(f"deployment files: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
