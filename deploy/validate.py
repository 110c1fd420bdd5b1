"""Structural checks of every deployment file, runnable without Docker or a cluster.

    python deploy/validate.py      # prints the problems, exits 1 if any

``deploy/validate.sh`` runs this after ``docker compose config`` (when a compose
CLI exists); ``tests/unit/test_deploy.py`` imports it so CI fails when a
deployment file breaks. Needs PyYAML and the project (for ``Settings``).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from oppchain.settings import Settings  # noqa: E402

DEPLOY = ROOT / "deploy"
COMPOSE_DIR = DEPLOY / "compose"
K8S_DIR = DEPLOY / "k8s"

COMPOSE_IMAGES = {
    "kafka": "apache/kafka",
    "topics": "apache/kafka",
    "clickhouse": "clickhouse/clickhouse-server",
    "grafana": "grafana/grafana",
}
HEALTHCHECKED = ("kafka", "clickhouse", "grafana")
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
WORKER_NEEDS = {
    "kafka": "service_healthy",
    "clickhouse": "service_healthy",
    "topics": "service_completed_successfully",
    "migrate": "service_completed_successfully",
}

KINDS = {
    ("v1", "Namespace"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("apps/v1", "Deployment"),
    ("batch/v1", "Job"),
    ("policy/v1", "PodDisruptionBudget"),
    ("kustomize.config.k8s.io/v1beta1", "Kustomization"),
}
DNS_1123 = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
CPU = re.compile(r"\d+(\.\d+)?m?")
MEMORY = re.compile(r"\d+(\.\d+)?(Ki|Mi|Gi|Ti|k|M|G|T)?")
K8S_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
COMPOSE_VAR = re.compile(
    r"\$(?:\$|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?+])?(?P<arg>[^}]*)\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)
GRAFANA_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


class Problems(list[str]):
    def add(self, where: str, message: str) -> None:
        self.append(f"{where}: {message}")


# -- settings ------------------------------------------------------------------


def settings_field(env_name: str) -> str | None:
    """The Settings field an OPPCHAIN_* variable sets, or None if there is none."""
    field = env_name.removeprefix("OPPCHAIN_").lower()
    return field if field in Settings.model_fields else None


def check_settings_env(where: str, env: dict[str, str], problems: Problems) -> None:
    """Every OPPCHAIN_* name is a Settings field and the values validate together."""
    if not any(name.startswith("OPPCHAIN_") for name in env):
        return
    values: dict[str, str] = {}
    for name, value in env.items():
        if not name.startswith("OPPCHAIN_"):
            continue
        field = settings_field(name)
        if field is None:
            problems.add(where, f"{name} is not a setting (oppchain/settings.py)")
        elif not K8S_REF.search(value):
            values[field] = value
    try:
        Settings(**values)
    except ValidationError as exc:
        for error in exc.errors():
            loc = ".".join(str(p) for p in error["loc"])
            problems.add(where, f"OPPCHAIN_{loc.upper()}: {error['msg']}")


# -- compose -------------------------------------------------------------------


def read_env_file(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            if sep:
                env[key.strip()] = value.strip()
    return env


def interpolate(value: str, env: dict[str, str], missing: set[str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}`` and ``$$``."""

    def one(match: re.Match[str]) -> str:
        if match.group() == "$$":
            return "$"
        name = match["braced"] or match["bare"]
        op, arg = match["op"] or "", match["arg"] or ""
        current = env.get(name)
        if op in (":-", "-"):
            if current is None or (op == ":-" and current == ""):
                return interpolate(arg, env, missing)
            return current
        if current is None:
            missing.add(name)
            return ""
        return current

    return COMPOSE_VAR.sub(one, value)


def _interpolate_tree(node: Any, env: dict[str, str], missing: set[str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, env, missing)
    if isinstance(node, list):
        return [_interpolate_tree(v, env, missing) for v in node]
    if isinstance(node, dict):
        return {k: _interpolate_tree(v, env, missing) for k, v in node.items()}
    return node


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _compose_vars(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        for match in COMPOSE_VAR.finditer(node):
            if match.group() != "$$":
                yield match["braced"] or match["bare"]
    elif isinstance(node, list):
        for v in node:
            yield from _compose_vars(v)
    elif isinstance(node, dict):
        for v in node.values():
            yield from _compose_vars(v)


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
    used = set(_compose_vars(raw))
    for name in sorted(n for n in set(example) - used if not n.startswith("COMPOSE_")):
        problems.add(".env.example", f"{name} is not used by compose.yaml")
    missing: set[str] = set()
    doc = _interpolate_tree(raw, example, missing)
    for name in sorted(missing):
        problems.add(where, f"${{{name}}} has no default and is not in .env.example")

    services: dict[str, Any] = doc.get("services") or {}
    for name in ("kafka", "clickhouse", "grafana", "topics", "migrate", "worker"):
        if name not in services:
            problems.add(where, f"service {name} is missing")
    if problems:
        return problems
    volumes = doc.get("volumes") or {}
    secrets = doc.get("secrets") or {}

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
        sw = f"{where}: {name}"
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
        env = _environment(service)
        check_settings_env(sw, env, problems)
        secret_file = env.get("OPPCHAIN_SECRET_FILE")
        if secret_file is not None:
            names = {
                s if isinstance(s, str) else s.get("target", s["source"])
                for s in service.get("secrets") or []
            }
            if not secret_file.startswith("/run/secrets/") or secret_file[13:] not in names:
                problems.add(
                    sw, "OPPCHAIN_SECRET_FILE must be /run/secrets/<a secret of the service>"
                )
        for key in ("OPPCHAIN_BROKERS", "OPPCHAIN_CLICKHOUSE_DSN"):
            if key in env:
                host = re.sub(r"^[a-z]+://([^@/]*@)?", "", env[key]).split(":")[0].split("/")[0]
                if host not in services:
                    problems.add(sw, f"{key} points at {host!r}, not a service")

    worker, migrate, topics = services["worker"], services["migrate"], services["topics"]
    for name, service in (("worker", worker), ("migrate", migrate)):
        build = service.get("build") or {}
        context = compose_dir / str(build.get("context", "."))
        dockerfile = context / str(build.get("dockerfile", "Dockerfile"))
        if not dockerfile.is_file():
            problems.add(where, f"{name}: build.dockerfile {dockerfile} does not exist")
        if "OPPCHAIN_CLICKHOUSE_DSN" not in _environment(service):
            problems.add(where, f"{name}: OPPCHAIN_CLICKHOUSE_DSN is not set")
    if worker.get("command") != ["worker"]:
        problems.add(where, "worker: command must be [worker]")
    if migrate.get("command") != ["migrate"]:
        problems.add(where, "migrate: command must be [migrate]")
    needs = {k: (v or {}).get("condition") for k, v in (worker.get("depends_on") or {}).items()}
    for target, condition in WORKER_NEEDS.items():
        if needs.get(target) != condition:
            problems.add(where, f"worker: must depend on {target} with {condition}")
    replicas = str((worker.get("deploy") or {}).get("replicas", ""))
    partitions = _environment(worker).get("OPPCHAIN_PARTITIONS", "")
    if not replicas.isdigit() or int(replicas) < 1:
        problems.add(where, f"worker: deploy.replicas must be a positive number, got {replicas!r}")
    elif partitions.isdigit() and int(replicas) > int(partitions):
        problems.add(where, f"worker: {replicas} replicas > {partitions} partitions")
    if _environment(topics).get("PARTITIONS") != partitions:
        problems.add(where, "topics: PARTITIONS must be the workers' OPPCHAIN_PARTITIONS")
    script = " ".join(str(part) for part in topics.get("entrypoint") or [])
    for topic in Settings().topics.values():
        family = topic.removeprefix(Settings().topic_prefix)
        if topic not in script and family not in script:
            problems.add(where, f"topics: does not create {topic}")
    if "--partitions" not in script:
        problems.add(where, "topics: must pass --partitions")

    grafana = services["grafana"]
    genv = _environment(grafana)
    if "grafana-clickhouse-datasource" not in genv.get("GF_INSTALL_PLUGINS", ""):
        problems.add(
            where, "grafana: GF_INSTALL_PLUGINS must install grafana-clickhouse-datasource"
        )
    mounts = {
        str(m).split(":")[1]: str(m).split(":")[0]
        for m in grafana.get("volumes") or []
        if isinstance(m, str)
    }
    if mounts.get("/etc/grafana/provisioning") != "../../dashboards/provisioning":
        problems.add(
            where, "grafana: mount ../../dashboards/provisioning at /etc/grafana/provisioning"
        )
    else:
        check_grafana_provisioning(
            (compose_dir / "../../dashboards/provisioning").resolve(), genv, set(mounts), problems
        )
    return problems


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


# -- kubernetes ------------------------------------------------------------------


def load_k8s(k8s_dir: Path = K8S_DIR) -> tuple[list[tuple[str, dict[str, Any]]], Problems]:
    problems = Problems()
    docs: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(k8s_dir.glob("*.yaml")):
        try:
            loaded = list(yaml.safe_load_all(path.read_text()))
        except yaml.YAMLError as exc:
            problems.add(path.name, f"not YAML: {exc}")
            continue
        for doc in loaded:
            if doc is None:
                continue
            if not isinstance(doc, dict):
                problems.add(path.name, "a document is not a mapping")
                continue
            docs.append((path.name, doc))
    return docs, problems


def check_k8s(k8s_dir: Path = K8S_DIR) -> Problems:
    docs, problems = load_k8s(k8s_dir)
    problems.extend(check_k8s_docs(docs, k8s_dir))
    return problems


def check_k8s_docs(docs: list[tuple[str, dict[str, Any]]], k8s_dir: Path) -> Problems:
    """Checks parsed manifests (file name, document) of the kustomization in ``k8s_dir``."""
    problems = Problems()
    by_kind: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for file, doc in docs:
        api, kind = doc.get("apiVersion"), doc.get("kind")
        if (api, kind) not in KINDS:
            problems.add(file, f"unexpected apiVersion/kind {api}/{kind}")
            continue
        by_kind.setdefault(str(kind), []).append((file, doc))
        if kind == "Kustomization":
            continue
        name = (doc.get("metadata") or {}).get("name")
        if not isinstance(name, str) or not DNS_1123.fullmatch(name) or len(name) > 63:
            problems.add(file, f"{kind}: metadata.name {name!r} is not a DNS-1123 name")
    for kind in (
        "Namespace",
        "ConfigMap",
        "Secret",
        "Deployment",
        "Job",
        "PodDisruptionBudget",
        "Kustomization",
    ):
        if kind not in by_kind:
            problems.add("deploy/k8s", f"no {kind}")
    if problems:
        return problems

    kustomization = by_kind["Kustomization"][0][1]
    listed = [str(r) for r in kustomization.get("resources") or []]
    files = {p.name for p in k8s_dir.glob("*.yaml")} - {"kustomization.yaml"}
    for resource in listed:
        if not (k8s_dir / resource).is_file():
            problems.add("kustomization.yaml", f"resource {resource} does not exist")
    for file in sorted(files - set(listed)):
        problems.add("kustomization.yaml", f"{file} is not listed in resources")
    namespace = by_kind["Namespace"][0][1]["metadata"]["name"]
    if kustomization.get("namespace") != namespace:
        problems.add("kustomization.yaml", f"namespace should be {namespace}")
    images = {str(i.get("name")) for i in kustomization.get("images") or []}

    configmaps = {d["metadata"]["name"]: d for _, d in by_kind["ConfigMap"]}
    secrets = {d["metadata"]["name"]: d for _, d in by_kind["Secret"]}
    for file, cm in by_kind["ConfigMap"]:
        data = cm.get("data") or {}
        for key, value in data.items():
            if not isinstance(value, str):
                problems.add(file, f"ConfigMap value of {key} must be a string (quote it)")
        check_settings_env(file, {k: str(v) for k, v in data.items()}, problems)
    for file, secret in by_kind["Secret"]:
        if not (secret.get("stringData") or secret.get("data")):
            problems.add(file, "Secret has no data")

    for file, doc in by_kind["Deployment"] + by_kind["Job"]:
        kind = doc["kind"]
        spec = doc.get("spec") or {}
        template = spec.get("template") or {}
        labels = (template.get("metadata") or {}).get("labels") or {}
        pod = template.get("spec") or {}
        where = f"{file}: {kind} {doc['metadata']['name']}"
        if kind == "Deployment":
            match = (spec.get("selector") or {}).get("matchLabels") or {}
            if not match or any(labels.get(k) != v for k, v in match.items()):
                problems.add(where, "selector.matchLabels must match the template labels")
            replicas = spec.get("replicas")
            if not isinstance(replicas, int) or replicas < 1:
                problems.add(where, "replicas must be a positive integer")
        else:
            if pod.get("restartPolicy") not in ("Never", "OnFailure"):
                problems.add(where, "restartPolicy must be Never or OnFailure")
            if not isinstance(spec.get("backoffLimit"), int):
                problems.add(where, "backoffLimit must be set")
        env = check_pod(where, pod, kind == "Deployment", configmaps, secrets, images, problems)
        if kind == "Deployment":
            partitions = env.get("OPPCHAIN_PARTITIONS", str(Settings().partitions))
            if isinstance(replicas, int) and partitions.isdigit() and replicas > int(partitions):
                problems.add(where, f"replicas {replicas} > OPPCHAIN_PARTITIONS {partitions}")
    for file, job in by_kind["Job"]:
        args = job["spec"]["template"]["spec"]["containers"][0].get("args") or []
        if args[:2] != ["migrate", "--cluster"] or len(args) != 3:
            problems.add(file, "the migration Job must run: migrate --cluster <cluster>")

    deployments = [d for _, d in by_kind["Deployment"]]
    for file, pdb in by_kind["PodDisruptionBudget"]:
        spec = pdb.get("spec") or {}
        if ("minAvailable" in spec) == ("maxUnavailable" in spec):
            problems.add(file, "set exactly one of minAvailable and maxUnavailable")
        match = (spec.get("selector") or {}).get("matchLabels") or {}
        if not match or not any(
            all(d["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in match.items())
            for d in deployments
        ):
            problems.add(file, "selector selects no Deployment's pods")
    return problems


def check_pod(
    where: str,
    pod: dict[str, Any],
    needs_liveness: bool,
    configmaps: dict[str, Any],
    secrets: dict[str, Any],
    images: set[str],
    problems: Problems,
) -> dict[str, str]:
    """Checks one pod spec; returns the environment its first container sees."""
    containers = pod.get("containers") or []
    if not containers:
        problems.add(where, "no containers")
        return {}
    volumes = {v.get("name"): v for v in pod.get("volumes") or []}
    for volume in volumes.values():
        secret = volume.get("secret")
        if secret is not None:
            data = _secret_keys(secrets.get(secret.get("secretName")))
            if data is None:
                problems.add(
                    where, f"volume {volume['name']}: no Secret {secret.get('secretName')}"
                )
            for item in secret.get("items") or []:
                if data is not None and item.get("key") not in data:
                    problems.add(
                        where, f"volume {volume['name']}: Secret has no key {item.get('key')}"
                    )
    first_env: dict[str, str] | None = None
    for container in containers:
        cw = f"{where} container {container.get('name')}"
        image = str(container.get("image") or "")
        if not image:
            problems.add(cw, "no image")
        elif image not in images and (":" not in image or image.endswith(":latest")):
            problems.add(cw, f"image {image} is neither set by kustomization nor pinned")
        resources = container.get("resources") or {}
        requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
        for key, pattern, value in (
            ("requests.cpu", CPU, requests.get("cpu")),
            ("requests.memory", MEMORY, requests.get("memory")),
            ("limits.memory", MEMORY, limits.get("memory")),
        ):
            if value is None or not pattern.fullmatch(str(value)):
                problems.add(cw, f"resources.{key} missing or malformed: {value!r}")
        probe = container.get("livenessProbe")
        if needs_liveness:
            handlers = [h for h in ("exec", "httpGet", "tcpSocket", "grpc") if h in (probe or {})]
            if len(handlers) != 1:
                problems.add(cw, "needs a livenessProbe with exactly one handler")
        env: dict[str, str] = {}
        for source in container.get("envFrom") or []:
            if "configMapRef" in source:
                cm = configmaps.get(source["configMapRef"].get("name"))
                if cm is None:
                    problems.add(cw, f"envFrom: no ConfigMap {source['configMapRef'].get('name')}")
                else:
                    env.update({k: str(v) for k, v in (cm.get("data") or {}).items()})
            elif "secretRef" in source:
                keys = _secret_keys(secrets.get(source["secretRef"].get("name")))
                if keys is None:
                    problems.add(cw, f"envFrom: no Secret {source['secretRef'].get('name')}")
                else:
                    env.update(dict.fromkeys(keys, "<secret>"))
        for var in container.get("env") or []:
            name = var.get("name")
            if not name or ("value" in var) == ("valueFrom" in var):
                problems.add(cw, f"env {name}: needs a name and exactly one of value/valueFrom")
                continue
            if "value" in var:
                value = str(var["value"])
                for ref in K8S_REF.findall(value):
                    if ref not in env:
                        problems.add(cw, f"env {name}: $({ref}) is not defined before it")
                env[name] = K8S_REF.sub(lambda m, e=env: e.get(m[1], m.group()), value)
            else:
                env[name] = _value_from(cw, name, var["valueFrom"], configmaps, secrets, problems)
        for arg in [*(container.get("args") or []), *(container.get("command") or [])]:
            for ref in K8S_REF.findall(str(arg)):
                if ref not in env:
                    problems.add(cw, f"args: $({ref}) is not defined in the environment")
        for mount in container.get("volumeMounts") or []:
            if mount.get("name") not in volumes:
                problems.add(cw, f"volumeMount {mount.get('name')} has no volume")
        settings_env = {k: v for k, v in env.items() if k.startswith("OPPCHAIN_")}
        check_settings_env(
            cw, {k: v.replace("<secret>", "x") for k, v in settings_env.items()}, problems
        )
        secret_file = env.get("OPPCHAIN_SECRET_FILE")
        if secret_file is not None:
            mounted = [
                m
                for m in container.get("volumeMounts") or []
                if secret_file.startswith(str(m.get("mountPath", "")).rstrip("/") + "/")
                and "secret" in volumes.get(m.get("name"), {})
            ]
            if not mounted:
                problems.add(cw, f"OPPCHAIN_SECRET_FILE {secret_file} is not on a mounted Secret")
        if first_env is None:
            first_env = env
    return first_env or {}


def _value_from(
    where: str,
    name: str,
    source: dict[str, Any],
    configmaps: dict[str, Any],
    secrets: dict[str, Any],
    problems: Problems,
) -> str:
    """The value an env ``valueFrom`` gives (``<secret>`` for a Secret key)."""
    if "secretKeyRef" in source:
        ref = source["secretKeyRef"]
        keys = _secret_keys(secrets.get(ref.get("name")))
        if keys is None or ref.get("key") not in keys:
            problems.add(where, f"env {name}: Secret {ref.get('name')} has no key {ref.get('key')}")
        return "<secret>"
    if "configMapKeyRef" in source:
        ref = source["configMapKeyRef"]
        data = (configmaps.get(ref.get("name")) or {}).get("data") or {}
        if ref.get("key") not in data:
            problems.add(
                where, f"env {name}: ConfigMap {ref.get('name')} has no key {ref.get('key')}"
            )
        return str(data.get(ref.get("key"), ""))
    return ""  # fieldRef / resourceFieldRef: known only at run time


def _secret_keys(secret: dict[str, Any] | None) -> set[str] | None:
    if secret is None:
        return None
    return set(secret.get("stringData") or {}) | set(secret.get("data") or {})


# -- image -----------------------------------------------------------------------


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
