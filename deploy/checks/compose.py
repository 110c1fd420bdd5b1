"""The compose file: variables, pinned images, healthchecks, dependencies, mounts, secrets."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

from .common import DEPLOY, ROOT, Problems
from .compose_env import compose_vars, interpolate_tree, read_env_file, service_environment
from .compose_services import check_grafana_service, check_pipeline_services
from .settings_env import check_settings_env

COMPOSE_DIR = DEPLOY / "compose"
SERVICES = ("kafka", "clickhouse", "grafana", "topics", "migrate", "worker")
COMPOSE_IMAGES = {
    "kafka": "apache/kafka",
    "topics": "apache/kafka",
    "clickhouse": "clickhouse/clickhouse-server",
    "grafana": "grafana/grafana",
}
HEALTHCHECKED = ("kafka", "clickhouse", "grafana")
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


def check_compose(compose_dir: Path = COMPOSE_DIR) -> Problems:
    problems = Problems()
    path, env_path = compose_dir / "compose.yaml", compose_dir / ".env.example"
    for required in (path, env_path, compose_dir / "README.md"):
        if not required.is_file():
            problems.add(str(required.relative_to(ROOT)), "missing")
    if problems:
        return problems
    problems.extend(
        check_compose_doc(yaml.safe_load(path.read_text()), read_env_file(env_path), compose_dir)
    )
    return problems


def check_compose_doc(raw: dict[str, Any], example: dict[str, str], compose_dir: Path) -> Problems:
    """Checks a parsed compose file, interpolated with the example environment."""
    problems = Problems()
    where = "compose.yaml"
    used = set(compose_vars(raw))
    for name in sorted(n for n in set(example) - used if not n.startswith("COMPOSE_")):
        problems.add(".env.example", f"{name} is not used by compose.yaml")
    missing: set[str] = set()
    doc = interpolate_tree(raw, example, missing)
    for name in sorted(missing):
        problems.add(where, f"${{{name}}} has no default and is not in .env.example")

    services: dict[str, Any] = doc.get("services") or {}
    for name in SERVICES:
        if name not in services:
            problems.add(where, f"service {name} is missing")
    if problems:
        return problems

    for name, repository in COMPOSE_IMAGES.items():
        image = str(services[name].get("image", ""))
        repo, _, tag = image.partition(":")
        if repo != repository or not tag or tag == "latest":
            problems.add(where, f"{name}: image {image!r} should be {repository}:<pinned tag>")
    for name in HEALTHCHECKED:
        test = (services[name].get("healthcheck") or {}).get("test")
        if not test or (isinstance(test, list) and test[0] not in ("CMD", "CMD-SHELL")):
            problems.add(where, f"{name}: needs a healthcheck test")
    for name, service in services.items():
        _check_service(f"{where}: {name}", service, doc, compose_dir, problems)
    check_pipeline_services(services, compose_dir, problems)
    check_grafana_service(services["grafana"], compose_dir, problems)
    return problems


def _check_service(
    sw: str, service: dict[str, Any], doc: dict[str, Any], compose_dir: Path, problems: Problems
) -> None:
    """What every service needs: an image, known dependencies, mounts, secrets, settings."""
    services: dict[str, Any] = doc.get("services") or {}
    volumes = doc.get("volumes") or {}
    secrets = doc.get("secrets") or {}
    if "image" not in service and "build" not in service:
        problems.add(sw, "neither image nor build")
    depends = service.get("depends_on") or {}
    if isinstance(depends, list):
        problems.add(sw, "depends_on must be a mapping with conditions")
        depends = {}
    for target, spec in depends.items():
        condition = (spec or {}).get("condition")
        if target not in services:
            problems.add(sw, f"depends on unknown service {target}")
        elif condition not in CONDITIONS:
            problems.add(sw, f"depends_on {target}: unknown condition {condition!r}")
        elif condition == "service_healthy" and not services[target].get("healthcheck"):
            problems.add(sw, f"waits for {target} to be healthy but it has no healthcheck")
        elif condition == "service_completed_successfully" and str(
            services[target].get("restart", "no")
        ) not in ("no", "False", "false"):
            problems.add(sw, f"waits for one-shot {target}, which must have restart: 'no'")
    for mount in service.get("volumes") or []:
        source = str(mount).split(":", 1)[0] if isinstance(mount, str) else mount["source"]
        if source.startswith((".", "/")):
            if not (compose_dir / source).resolve().exists():
                problems.add(sw, f"bind mount source {source} does not exist")
        elif source not in volumes:
            problems.add(sw, f"volume {source} is not declared")
    for secret in service.get("secrets") or []:
        if (secret if isinstance(secret, str) else secret["source"]) not in secrets:
            problems.add(sw, f"secret {secret} is not declared")
    env = service_environment(service)
    check_settings_env(sw, env, problems)
    secret_file = env.get("OPPCHAIN_SECRET_FILE")
    if secret_file is not None:
        names = {
            s if isinstance(s, str) else s.get("target", s["source"])
            for s in service.get("secrets") or []
        }
        if not secret_file.startswith("/run/secrets/") or secret_file[13:] not in names:
            problems.add(sw, "OPPCHAIN_SECRET_FILE must be /run/secrets/<a secret of the service>")
    for key in ("OPPCHAIN_BROKERS", "OPPCHAIN_CLICKHOUSE_DSN"):
        if key in env:
            host = re.sub(r"^[a-z]+://([^@/]*@)?", "", env[key]).split(":")[0].split("/")[0]
            if host not in services:
                problems.add(sw, f"{key} points at {host!r}, not a service")
