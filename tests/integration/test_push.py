"""``oppchain dashboards push`` against a local HTTP server, not a real Grafana.

No Grafana server can run here, so a small ``http.server`` on 127.0.0.1 stands in
for one and checks every request against the documented Grafana HTTP API
(https://grafana.com/docs/grafana/latest/developers/http_api/): the method and
path of the folder API (``GET /api/folders/:uid``, ``POST /api/folders``,
``PUT /api/folders/:uid``) and the dashboard API (``POST /api/dashboards/db``),
the JSON payload shape of each, and the ``Authorization: Bearer <token>`` header
of a service account token. It answers as Grafana does, including 401/403 for a
bad token and 404 for a missing folder. Anything else is recorded as a violation.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from dashboards.defaults import DATASOURCE_UID, FOLDER_UID
from dashboards.main import all_dashboards
from oppchain.cli import UsageError
from oppchain.push import PushError, cmd_dashboards_push, push

pytestmark = pytest.mark.integration

TOKEN = "glsa_test_token"
READ_ONLY_TOKEN = "glsa_viewer_token"


class FakeGrafana:
    def __init__(self) -> None:
        self.folders: dict[str, dict[str, Any]] = {}
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self.violations: list[str] = []


def _handler(state: FakeGrafana) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _payload(self) -> Any:
            if self.headers.get("Content-Type", "").split(";")[0] != "application/json":
                state.violations.append(f"{self.command} {self.path}: not JSON")
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"null")

        def _authorized(self) -> bool:
            auth = self.headers.get("Authorization", "")
            if not auth.startswith("Bearer "):
                state.violations.append(f"{self.command} {self.path}: no Bearer token")
            token = auth.removeprefix("Bearer ")
            if token == TOKEN:
                return True
            if token == READ_ONLY_TOKEN:
                self._answer(403, {"message": "Access denied"})
            else:
                self._answer(401, {"message": "invalid API key"})
            return False

        def _route(self) -> None:
            state.requests.append((self.command, self.path))
            payload = self._payload() if self.command in ("POST", "PUT") else None
            if not self._authorized():
                return
            folder = f"/api/folders/{FOLDER_UID}"
            if self.command == "GET" and self.path == folder:
                if FOLDER_UID in state.folders:
                    self._answer(200, state.folders[FOLDER_UID])
                else:
                    self._answer(404, {"message": "folder not found"})
            elif self.command == "POST" and self.path == "/api/folders":
                if set(payload) - {"uid", "title", "parentUid"} or not payload.get("title"):
                    state.violations.append(f"POST /api/folders: bad payload {payload}")
                state.folders[payload["uid"]] = {**payload, "id": 1, "version": 1}
                self._answer(200, state.folders[payload["uid"]])
            elif self.command == "PUT" and self.path == folder:
                if not payload.get("title") or payload.get("overwrite") is not True:
                    state.violations.append(f"PUT {folder}: bad payload {payload}")
                state.folders[FOLDER_UID].update(title=payload["title"])
                self._answer(200, state.folders[FOLDER_UID])
            elif self.command == "POST" and self.path == "/api/dashboards/db":
                self._save_dashboard(payload)
            else:
                state.violations.append(f"undocumented request {self.command} {self.path}")
                self._answer(404, {"message": "Not found"})

        def _save_dashboard(self, payload: dict[str, Any]) -> None:
            board = payload.get("dashboard") or {}
            problems = []
            if set(payload) - {"dashboard", "folderUid", "overwrite", "message", "folderId"}:
                problems.append("unknown keys")
            if payload.get("overwrite") is not True:
                problems.append("overwrite must be true to update in place")
            if payload.get("folderUid") not in state.folders:
                problems.append("folderUid of a folder that does not exist")
            if not board.get("uid") or not board.get("title") or board.get("id") is not None:
                problems.append("dashboard needs uid and title, and id null")
            if problems:
                state.violations.append(f"POST /api/dashboards/db: {problems}")
                self._answer(400, {"message": "; ".join(problems)})
                return
            version = state.dashboards.get(board["uid"], {}).get("version", 0) + 1
            state.dashboards[board["uid"]] = {"dashboard": board, "version": version}
            self._answer(
                200,
                {
                    "id": len(state.dashboards),
                    "uid": board["uid"],
                    "status": "success",
                    "url": f"/d/{board['uid']}",
                    "version": version,
                },
            )

        do_GET = do_POST = do_PUT = do_DELETE = _route

    return Handler


@pytest.fixture
def grafana() -> Iterator[tuple[str, FakeGrafana]]:
    state = FakeGrafana()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()


def test_push_creates_folder_and_dashboards_then_updates_idempotently(
    grafana: tuple[str, FakeGrafana],
) -> None:
    url, state = grafana
    uids = [d.uid for d in all_dashboards()]
    assert push(url, TOKEN) == uids
    assert ("POST", "/api/folders") in state.requests
    first = {uid: json.dumps(d["dashboard"], sort_keys=True) for uid, d in state.dashboards.items()}
    assert set(first) == set(uids)
    for stored in state.dashboards.values():
        panels = [p for p in stored["dashboard"]["panels"] if p["type"] != "row"]
        assert all(p["datasource"]["uid"] == DATASOURCE_UID for p in panels)

    state.requests.clear()
    assert push(url, TOKEN) == uids
    assert ("POST", "/api/folders") not in state.requests
    assert ("PUT", f"/api/folders/{FOLDER_UID}") in state.requests
    again = {uid: json.dumps(d["dashboard"], sort_keys=True) for uid, d in state.dashboards.items()}
    assert again == first
    assert len(state.folders) == 1 and len(state.dashboards) == len(uids)
    assert not state.violations, state.violations


def test_cmd_prints_one_line(grafana: tuple[str, FakeGrafana]) -> None:
    url, state = grafana
    lines: list[str] = []
    assert cmd_dashboards_push(url, TOKEN, out=lines.append) == 0
    assert len(lines) == 1 and lines[0].startswith(f"pushed 6 dashboards to {url}")
    assert not state.violations


@pytest.mark.parametrize(("token", "status"), [("wrong", 401), (READ_ONLY_TOKEN, 403)])
def test_bad_token_is_one_clear_line(
    grafana: tuple[str, FakeGrafana], token: str, status: int
) -> None:
    url, state = grafana
    with pytest.raises(UsageError) as caught:
        cmd_dashboards_push(url, token)
    message = str(caught.value)
    assert f"refused the token (HTTP {status})" in message and "\n" not in message
    assert not state.dashboards


def test_unreachable_or_malformed_url_is_one_clear_line() -> None:
    with pytest.raises(PushError, match=r"cannot reach Grafana at http://127\.0\.0\.1:1: "):
        push("http://127.0.0.1:1", TOKEN)
    with pytest.raises(PushError, match="not a Grafana URL"):
        push("grafana:3000", TOKEN)
