"""Every answer names its request id; a 500 names only that id, the log has the rest.
Over real HTTP and real websockets, on the sandbox."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import connect

from tests.support.flows import ALICE, register
from tests.support.service import RunningService, start_service

GENERATED = re.compile(r"[0-9a-f]{16}")
SECRET = "/home/someone/.local/share/signal-rest/inbox.sqlite3 is locked by secret-token-42"


@pytest.mark.parametrize(
    ("method", "path", "headers", "status"),
    [
        ("GET", "/v1/about", {}, 200),
        ("GET", "/v1/nothing", {}, 404),
        ("POST", "/v2/send", {"Content-Type": "application/json"}, 400),
        ("GET", "/v1/about", {"Origin": "http://evil.example"}, 403),
        ("GET", "/v1/about/", {}, 301),
    ],
    ids=["success", "not-found", "bad-request", "refused-origin", "redirect"],
)
def test_every_response_carries_a_new_request_id(
    service: RunningService, method: str, path: str, headers: dict[str, str], status: int
) -> None:
    first = service.client.request(method, path, headers=headers, content=b"{")
    second = service.client.request(method, path, headers=headers, content=b"{")

    assert (first.status_code, second.status_code) == (status, status)
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(GENERATED.fullmatch(i) for i in ids), ids
    assert ids[0] != ids[1]


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("req-2026-11-29.42", True),
        ("3f2c8a1e-7b7d-4e4a-9c1f-2b8f0f0e9d11", True),
        ("a" * 128, True),
        ("a" * 129, False),
        ("two words", False),
        ("-leading-dash", False),
        ("<script>", False),
    ],
    ids=["dotted", "uuid", "longest", "too-long", "space", "leading-dash", "markup"],
)
def test_a_sane_incoming_request_id_is_kept(
    service: RunningService, incoming: str, kept: bool
) -> None:
    response = service.client.get("/v1/about", headers={"X-Request-Id": incoming})

    assert response.status_code == 200
    answered = response.headers["x-request-id"]
    if kept:
        assert answered == incoming
    else:
        assert GENERATED.fullmatch(answered), answered


def test_websocket_handshake_carries_the_request_id(accounts: RunningService) -> None:
    url = f"{accounts.ws_url}/v1/receive/{ALICE}"
    with connect(url, additional_headers={"X-Request-Id": "ws-session-1"}) as websocket:
        assert websocket.response is not None
        assert websocket.response.headers["X-Request-Id"] == "ws-session-1"


def _records(caplog: pytest.LogCaptureFixture, request_id: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "request_id", None) == request_id]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/accounts", None),
        ("POST", "/v2/send", {"number": ALICE, "recipients": [ALICE], "message": "hi"}),
    ],
    # Routes with FastAPI's dependencies go through its stack; plain ones the edge calls.
    ids=["through-fastapi", "called-by-the-edge"],
)
def test_unexpected_error_answers_its_request_id_and_logs_the_traceback(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    caplog.set_level(logging.INFO)
    service = start_service(tmp_path / "data")
    try:
        register(service.client, ALICE)
        service.client.get("/v1/accounts")  # the account list is known before the call breaks

        async def broken(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError(SECRET)

        monkeypatch.setattr(service.backend.rpc, "call", broken)
        response = service.client.request(method, path, json=body)
    finally:
        service.stop()  # every line of the request is logged by now

    assert response.headers.get_list("x-request-id") == [response.headers["x-request-id"]]
    request_id = response.headers["x-request-id"]
    assert GENERATED.fullmatch(request_id), request_id
    assert (response.status_code, response.json()) == (
        500,
        {"error": f"Internal error (request id {request_id}); see the service log"},
    )
    logged = _records(caplog, request_id)
    assert [(r.name, r.levelname, r.getMessage()) for r in logged] == [
        ("signal_rest.app", "ERROR", f"unexpected error on {method} {path}"),
        ("signal_rest.access", "INFO", logged[1].getMessage()),
    ]
    error, access = logged
    assert (access.method, access.path, access.status) == (method, path, 500)  # type: ignore[attr-defined]
    assert error.exc_info is not None and str(error.exc_info[1]) == SECRET
    # uvicorn does not print the same traceback a second time.
    assert [r for r in caplog.records if r.exc_info and r is not error] == []


def test_access_line_escapes_control_characters_and_omits_the_query(
    service: RunningService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    response = service.client.get(
        "/v1/nothing%0A2026-11-29T07:00:00.000Z INFO forged",
        params={"token": "secret-token-42"},
        headers={"X-Request-Id": "forge-1"},
    )
    service.stop()  # every line of the request is logged by now (the fixture's stop is a no-op)

    assert response.status_code == 404
    (access,) = _records(caplog, "forge-1")
    assert access.getMessage() == (
        f"GET /v1/nothing\\n2026-11-29T07:00:00.000Z INFO forged 404 {access.duration_ms:.1f} ms"  # type: ignore[attr-defined]
    )
