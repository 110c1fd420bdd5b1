"""The compose file's oppchain services: worker, migrate, topics and grafana, and how they fit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from oppchain.settings import Settings

from .common import Problems
from .compose_env import service_environment
from .grafana import check_grafana_provisioning

WHERE = "compose.yaml"
WORKER_NEEDS = {
    "kafka": "service_healthy",
    "clickhouse": "service_healthy",
    "topics": "service_completed_successfully",
    "migrate": "service_completed_successfully",
}


def check_pipeline_services(
    services: dict[str, Any], compose_dir: Path, problems: Problems
) -> None:
    """worker and migrate build the image and reach ClickHouse; topics creates every topic."""
    worker, migrate, topics = services["worker"], services["migrate"], services["topics"]
    for name, service in (("worker", worker), ("migrate", migrate)):
        build = service.get("build") or {}
        context = compose_dir / str(build.get("context", "."))
        dockerfile = context / str(build.get("dockerfile", "Dockerfile"))
        if not dockerfile.is_file():
            problems.add(WHERE, f"{name}: build.dockerfile {dockerfile} does not exist")
        if "OPPCHAIN_CLICKHOUSE_DSN" not in service_environment(service):
            problems.add(WHERE, f"{name}: OPPCHAIN_CLICKHOUSE_DSN is not set")
    if worker.get("command") != ["worker"]:
        problems.add(WHERE, "worker: command must be [worker]")
    if migrate.get("command") != ["migrate"]:
        problems.add(WHERE, "migrate: command must be [migrate]")
    needs = {k: (v or {}).get("condition") for k, v in (worker.get("depends_on") or {}).items()}
    for target, condition in WORKER_NEEDS.items():
        if needs.get(target) != condition:
            problems.add(WHERE, f"worker: must depend on {target} with {condition}")
    replicas = str((worker.get("deploy") or {}).get("replicas", ""))
    partitions = service_environment(worker).get("OPPCHAIN_PARTITIONS", "")
    if not replicas.isdigit() or int(replicas) < 1:
        problems.add(WHERE, f"worker: deploy.replicas must be a positive number, got {replicas!r}")
    elif partitions.isdigit() and int(replicas) > int(partitions):
        problems.add(WHERE, f"worker: {replicas} replicas > {partitions} partitions")
    if service_environment(topics).get("PARTITIONS") != partitions:
        problems.add(WHERE, "topics: PARTITIONS must be the workers' OPPCHAIN_PARTITIONS")
    script = " ".join(str(part) for part in topics.get("entrypoint") or [])
    for topic in Settings().topics.values():
        family = topic.removeprefix(Settings().topic_prefix)
        if topic not in script and family not in script:
            problems.add(WHERE, f"topics: does not create {topic}")
    if "--partitions" not in script:
        problems.add(WHERE, "topics: must pass --partitions")


def check_grafana_service(grafana: dict[str, Any], compose_dir: Path, problems: Problems) -> None:
    """grafana installs the ClickHouse plugin and mounts valid provisioning files."""
    genv = service_environment(grafana)
    if "grafana-clickhouse-datasource" not in genv.get("GF_INSTALL_PLUGINS", ""):
        problems.add(
            WHERE, "grafana: GF_INSTALL_PLUGINS must install grafana-clickhouse-datasource"
        )
    mounts = {
        str(m).split(":")[1]: str(m).split(":")[0]
        for m in grafana.get("volumes") or []
        if isinstance(m, str)
    }
    if mounts.get("/etc/grafana/provisioning") != "../../dashboards/provisioning":
        problems.add(
            WHERE, "grafana: mount ../../dashboards/provisioning at /etc/grafana/provisioning"
        )
    else:
        check_grafana_provisioning(
            (compose_dir / "../../dashboards/provisioning").resolve(), genv, set(mounts), problems
        )
