"""``oppchain dashboards push``: create or update the folder and dashboards in Grafana.

Through grafana-client, the maintained successor of grafana-api (which has had
no release since 2019 and does not know folder uids or newer Grafana versions).
Idempotent: the folder and every dashboard have stable uids and dashboards are
saved with ``overwrite: true``, so pushing twice leaves Grafana as pushing once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from dashboards.defaults import FOLDER_TITLE, FOLDER_UID
from dashboards.main import all_dashboards

TIMEOUT_S = 10.0


class PushError(Exception):
    """Push failed; the message is one line for the user."""


def _explain(exc: Exception, url: str) -> PushError:
    from grafana_client.client import (
        GrafanaClientError,
        GrafanaException,
        GrafanaServerError,
        GrafanaTimeoutError,
    )

    status = getattr(exc, "status_code", 0)
    if isinstance(exc, GrafanaClientError) and status in (401, 403):
        return PushError(
            f"Grafana at {url} refused the token (HTTP {status}): use a service account "
            "token with the Editor role"
        )
    if isinstance(exc, GrafanaTimeoutError):
        return PushError(f"Grafana at {url} did not answer within {TIMEOUT_S:.0f} s")
    if isinstance(exc, GrafanaClientError | GrafanaServerError):
        return PushError(f"Grafana at {url} answered HTTP {status}: {exc.message}")
    if isinstance(exc, GrafanaException):
        return PushError(f"cannot reach Grafana at {url}: {_first_line(exc.message)}")
    return PushError(f"cannot reach Grafana at {url}: {_first_line(str(exc))}")


def _first_line(text: str) -> str:
    """The OS reason (connection refused, unknown host) out of urllib3's long message."""
    errno = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
    if errno:
        return errno[1].strip()
    return (text.strip().splitlines() or [""])[0][:160]


def _ensure_folder(api: Any) -> None:
    from grafana_client.client import GrafanaClientError

    try:
        api.folder.get_folder(FOLDER_UID)
    except GrafanaClientError as exc:
        if exc.status_code != 404:
            raise
        api.folder.create_folder(FOLDER_TITLE, uid=FOLDER_UID)
        return
    api.folder.update_folder(FOLDER_UID, title=FOLDER_TITLE, overwrite=True)


def push(url: str, token: str, folder: str = FOLDER_UID, api: Any = None) -> list[str]:
    """Push every dashboard into ``folder``; return the uids pushed."""
    from grafana_client.api import GrafanaApi

    if not url.startswith(("http://", "https://")):
        raise PushError(f"not a Grafana URL: {url!r} (expected http(s)://host:port)")
    if not token:
        raise PushError("no token: pass --token (a Grafana service account token)")
    api = api or GrafanaApi.from_url(url, credential=token, timeout=TIMEOUT_S)
    pushed = []
    try:
        if folder == FOLDER_UID:
            _ensure_folder(api)
        for dashboard in all_dashboards():
            api.dashboard.update_dashboard(
                {
                    "dashboard": dashboard.to_json(),
                    "folderUid": folder,
                    "overwrite": True,
                    "message": "oppchain dashboards push",
                }
            )
            pushed.append(dashboard.uid)
    except Exception as exc:
        raise _explain(exc, url) from exc
    return pushed


def cmd_dashboards_push(
    url: str, token: str, folder: str = FOLDER_UID, out: Callable[[str], None] = print
) -> int:
    from oppchain.cli_context import UsageError

    try:
        pushed = push(url, token, folder)
    except PushError as exc:
        raise UsageError(str(exc)) from exc
    out(f"pushed {len(pushed)} dashboards to {url} (folder {folder}): {', '.join(pushed)}")
    return 0
