"""OPPCHAIN_* variables name Settings fields and their values validate together."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from oppchain.settings import Settings

from .common import K8S_REF, Problems


def settings_field(env_name: str) -> str | None:
    """The Settings field an OPPCHAIN_* variable sets, or None if there is none."""
    field = env_name.removeprefix("OPPCHAIN_").lower()
    return field if field in Settings.model_fields else None


def check_settings_env(where: str, env: dict[str, str], problems: Problems) -> None:
    """Every OPPCHAIN_* name is a Settings field and the values validate together."""
    if not any(name.startswith("OPPCHAIN_") for name in env):
        return
    values: dict[str, Any] = {}
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
