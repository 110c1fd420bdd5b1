"""One Kubernetes pod spec: images, resources, probes, environment, mounted Secrets."""

from __future__ import annotations

import re
from typing import Any

from .common import K8S_REF, Problems
from .settings_env import check_settings_env

CPU = re.compile(r"\d+(\.\d+)?m?")
MEMORY = re.compile(r"\d+(\.\d+)?(Ki|Mi|Gi|Ti|k|M|G|T)?")


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
    _check_secret_volumes(where, volumes, secrets, problems)
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
        env = _container_env(cw, container, configmaps, secrets, problems)
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


def _check_secret_volumes(
    where: str, volumes: dict[Any, Any], secrets: dict[str, Any], problems: Problems
) -> None:
    """Secret volumes name an existing Secret and keys it has."""
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


def _container_env(
    cw: str,
    container: dict[str, Any],
    configmaps: dict[str, Any],
    secrets: dict[str, Any],
    problems: Problems,
) -> dict[str, str]:
    """The environment ``envFrom`` and ``env`` give a container (``<secret>`` for Secrets)."""
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
            env[name] = K8S_REF.sub(lambda m: env.get(m[1], m.group()), value)
        else:
            env[name] = _value_from(cw, name, var["valueFrom"], configmaps, secrets, problems)
    return env


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
