"""Compose's environment: ``.env`` files, ``${VAR}`` interpolation, service variables."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

COMPOSE_VAR = re.compile(
    r"\$(?:\$|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?+])?(?P<arg>[^}]*)\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


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


def interpolate_tree(node: Any, env: dict[str, str], missing: set[str]) -> Any:
    """``interpolate`` applied to every string of a parsed YAML tree."""
    if isinstance(node, str):
        return interpolate(node, env, missing)
    if isinstance(node, list):
        return [interpolate_tree(v, env, missing) for v in node]
    if isinstance(node, dict):
        return {k: interpolate_tree(v, env, missing) for k, v in node.items()}
    return node


def compose_vars(node: Any) -> Iterator[str]:
    """The names of the variables a parsed YAML tree refers to."""
    if isinstance(node, str):
        for match in COMPOSE_VAR.finditer(node):
            if match.group() != "$$":
                yield match["braced"] or match["bare"]
    elif isinstance(node, list):
        for v in node:
            yield from compose_vars(v)
    elif isinstance(node, dict):
        for v in node.values():
            yield from compose_vars(v)


def service_environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's ``environment``, as a mapping whether written as a list or a mapping."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}
