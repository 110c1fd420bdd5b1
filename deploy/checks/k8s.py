"""Kubernetes manifests: known kinds, DNS names, the kustomization, workloads and budgets."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

from oppchain.settings import Settings

from .common import DEPLOY, Problems
from .k8s_pod import check_pod
from .settings_env import check_settings_env

K8S_DIR = DEPLOY / "k8s"
KINDS = {
    ("v1", "Namespace"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("apps/v1", "Deployment"),
    ("batch/v1", "Job"),
    ("policy/v1", "PodDisruptionBudget"),
    ("kustomize.config.k8s.io/v1beta1", "Kustomization"),
}
REQUIRED_KINDS = (
    "Namespace",
    "ConfigMap",
    "Secret",
    "Deployment",
    "Job",
    "PodDisruptionBudget",
    "Kustomization",
)
DNS_1123 = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")

Docs = list[tuple[str, dict[str, Any]]]  # (file name, document)


def load_k8s(k8s_dir: Path = K8S_DIR) -> tuple[Docs, Problems]:
    problems = Problems()
    docs: Docs = []
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


def check_k8s_docs(docs: Docs, k8s_dir: Path) -> Problems:
    """Checks parsed manifests (file name, document) of the kustomization in ``k8s_dir``."""
    problems = Problems()
    by_kind: dict[str, Docs] = {}
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
    for kind in REQUIRED_KINDS:
        if kind not in by_kind:
            problems.add("deploy/k8s", f"no {kind}")
    if problems:
        return problems

    images = _check_kustomization(by_kind, k8s_dir, problems)
    _check_config(by_kind, problems)
    _check_workloads(by_kind, images, problems)
    _check_disruption_budgets(by_kind, problems)
    return problems


def _check_kustomization(by_kind: dict[str, Docs], k8s_dir: Path, problems: Problems) -> set[str]:
    """It lists every manifest and sets the namespace; returns the images it sets."""
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
    return {str(i.get("name")) for i in kustomization.get("images") or []}


def _check_config(by_kind: dict[str, Docs], problems: Problems) -> None:
    """ConfigMaps hold valid settings as strings; Secrets hold data."""
    for file, cm in by_kind["ConfigMap"]:
        data = cm.get("data") or {}
        for key, value in data.items():
            if not isinstance(value, str):
                problems.add(file, f"ConfigMap value of {key} must be a string (quote it)")
        check_settings_env(file, {k: str(v) for k, v in data.items()}, problems)
    for file, secret in by_kind["Secret"]:
        if not (secret.get("stringData") or secret.get("data")):
            problems.add(file, "Secret has no data")


def _check_workloads(by_kind: dict[str, Docs], images: set[str], problems: Problems) -> None:
    """Deployments and Jobs: selectors, replicas vs partitions, restarts, their pods."""
    configmaps = {d["metadata"]["name"]: d for _, d in by_kind["ConfigMap"]}
    secrets = {d["metadata"]["name"]: d for _, d in by_kind["Secret"]}
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


def _check_disruption_budgets(by_kind: dict[str, Docs], problems: Problems) -> None:
    """Each PodDisruptionBudget sets one limit and selects some Deployment's pods."""
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
