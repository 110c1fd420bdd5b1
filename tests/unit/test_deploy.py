"""The deployment files pass the structural checks of deploy/validate.py, and
those checks catch the mistakes they are for."""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _load_validate() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "deploy_validate", ROOT / "deploy" / "validate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


validate = _load_validate()
COMPOSE_DIR = ROOT / "deploy" / "compose"
K8S_DIR = ROOT / "deploy" / "k8s"


def test_deployment_files_are_valid() -> None:
    assert validate.check_all() == []


def test_validate_script_is_executable() -> None:
    script = ROOT / "deploy" / "validate.sh"
    assert script.stat().st_mode & 0o111, "CI runs deploy/validate.sh only if it is executable"


# -- the checks catch what they are for --------------------------------------------


def compose() -> tuple[dict[str, Any], dict[str, str]]:
    raw = yaml.safe_load((COMPOSE_DIR / "compose.yaml").read_text())
    return raw, validate.read_env_file(COMPOSE_DIR / ".env.example")


def compose_problems(raw: dict[str, Any], env: dict[str, str]) -> str:
    return "\n".join(validate.check_compose_doc(raw, env, COMPOSE_DIR))


def test_compose_catches_more_workers_than_partitions() -> None:
    raw, env = compose()
    env["WORKERS"] = str(int(env["OPPCHAIN_PARTITIONS"]) + 1)
    assert "replicas >" in compose_problems(raw, env)


def test_compose_catches_an_unknown_setting_and_a_bad_value() -> None:
    raw, env = compose()
    raw["services"]["worker"]["environment"]["OPPCHAIN_NO_SUCH_THING"] = "1"
    raw["services"]["worker"]["environment"]["OPPCHAIN_PARTITIONS"] = "0"
    problems = compose_problems(raw, env)
    assert "OPPCHAIN_NO_SUCH_THING is not a setting" in problems
    assert "OPPCHAIN_PARTITIONS" in problems


def test_compose_catches_a_missing_healthcheck_and_condition() -> None:
    raw, env = compose()
    del raw["services"]["clickhouse"]["healthcheck"]
    raw["services"]["worker"]["depends_on"]["migrate"] = {"condition": "service_started"}
    problems = compose_problems(raw, env)
    assert "clickhouse: needs a healthcheck" in problems
    assert "waits for clickhouse to be healthy but it has no healthcheck" in problems
    assert "worker: must depend on migrate with service_completed_successfully" in problems


def test_compose_catches_an_undefined_variable() -> None:
    raw, env = compose()
    del env["CLICKHOUSE_PASSWORD"]
    assert "${CLICKHOUSE_PASSWORD} has no default" in compose_problems(raw, env)


def test_compose_interpolation() -> None:
    missing: set[str] = set()
    env = {"A": "1", "E": ""}
    text = "${A} ${B:-x} ${E:-y} ${E-z} $$A ${C:?no}"
    assert validate.interpolate(text, env, missing) == "1 x y  $A "
    assert missing == {"C"}


def k8s() -> list[tuple[str, dict[str, Any]]]:
    docs, problems = validate.load_k8s(K8S_DIR)
    assert problems == []
    return copy.deepcopy(docs)


def doc(docs: list[tuple[str, dict[str, Any]]], kind: str) -> dict[str, Any]:
    return next(d for _, d in docs if d.get("kind") == kind)


def k8s_problems(docs: list[tuple[str, dict[str, Any]]]) -> str:
    return "\n".join(validate.check_k8s_docs(docs, K8S_DIR))


def test_k8s_catches_more_replicas_than_partitions() -> None:
    docs = k8s()
    doc(docs, "ConfigMap")["data"]["OPPCHAIN_PARTITIONS"] = "2"
    assert "replicas 3 > OPPCHAIN_PARTITIONS 2" in k8s_problems(docs)


def test_k8s_catches_missing_probe_resources_and_secret_key() -> None:
    docs = k8s()
    container = doc(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    del container["livenessProbe"]
    del container["resources"]["requests"]["memory"]
    container["env"][0]["valueFrom"]["secretKeyRef"]["key"] = "nope"
    problems = k8s_problems(docs)
    assert "needs a livenessProbe" in problems
    assert "resources.requests.memory missing" in problems
    assert "has no key nope" in problems


def test_k8s_catches_unknown_settings_and_unquoted_values() -> None:
    docs = k8s()
    data = doc(docs, "ConfigMap")["data"]
    data["OPPCHAIN_TYPO"] = "x"
    data["OPPCHAIN_BATCH_LINGER_MS"] = 100
    problems = k8s_problems(docs)
    assert "OPPCHAIN_TYPO is not a setting" in problems
    assert "OPPCHAIN_BATCH_LINGER_MS must be a string" in problems


def test_k8s_catches_a_selector_mismatch_and_a_missing_kind() -> None:
    docs = k8s()
    doc(docs, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"] = {"app": "other"}
    assert "selects no Deployment's pods" in k8s_problems(docs)
    docs = [(f, d) for f, d in k8s() if d.get("kind") != "Job"]
    assert "no Job" in k8s_problems(docs)


def test_grafana_provisioning_variables_and_dashboard_paths(tmp_path: Path) -> None:
    (tmp_path / "datasources").mkdir()
    (tmp_path / "dashboards").mkdir()
    (tmp_path / "datasources" / "clickhouse.yaml").write_text(
        "datasources:\n  - name: ClickHouse\n    jsonData: {host: $CLICKHOUSE_HOST}\n"
        "    secureJsonData: {password: '${CLICKHOUSE_PASSWORD}', other: $$literal}\n"
        "    x: ${NOT_SET}\n"
    )
    (tmp_path / "dashboards" / "oppchain.yaml").write_text(
        "providers:\n  - name: oppchain\n    options: {path: /var/lib/grafana/dashboards}\n"
        "  - name: elsewhere\n    options: {path: /srv/dashboards}\n"
    )
    problems = validate.Problems()
    env = {"CLICKHOUSE_HOST": "clickhouse", "CLICKHOUSE_PASSWORD": "p"}
    mounted = {"/etc/grafana/provisioning", "/var/lib/grafana/dashboards"}
    validate.check_grafana_provisioning(tmp_path, env, mounted, problems)
    assert problems == [
        "dashboards/provisioning/dashboards/oppchain.yaml: dashboards path /srv/dashboards "
        "is not mounted into grafana",
        "dashboards/provisioning/datasources/clickhouse.yaml: $NOT_SET is not set in the "
        "grafana service environment",
    ]
