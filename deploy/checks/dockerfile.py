"""The image's Dockerfile: slim Python base, non-root user, the oppchain entry point."""

from __future__ import annotations

from pathlib import Path

from .common import DEPLOY, ROOT, Problems


def check_dockerfile(path: Path = DEPLOY / "Dockerfile") -> Problems:
    problems = Problems()
    if not path.is_file():
        problems.add("deploy/Dockerfile", "missing")
        return problems
    lines = [line.strip() for line in path.read_text().splitlines()]
    froms = [line.split()[1] for line in lines if line.upper().startswith("FROM ")]
    if not froms or froms[-1] != "python:3.11-slim":
        problems.add("deploy/Dockerfile", "the final stage must be FROM python:3.11-slim")
    users = [line.split()[1] for line in lines if line.upper().startswith("USER ")]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        problems.add("deploy/Dockerfile", "must end as a non-root USER")
    if not any("pip install ." in line for line in lines):
        problems.add("deploy/Dockerfile", "must pip install . (the project)")
    if not any(line.startswith("ENTRYPOINT") and "oppchain" in line for line in lines):
        problems.add("deploy/Dockerfile", "ENTRYPOINT must be the oppchain command")
    for line in lines:
        if line.upper().startswith("COPY "):
            for source in line.split()[1:-1]:
                if not source.startswith("--") and not (ROOT / source).exists():
                    problems.add("deploy/Dockerfile", f"COPY source {source} does not exist")
    return problems
