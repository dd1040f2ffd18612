"""No route answers junk with a 500: every bad input is a 4xx with an {"error"} body."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.flows import register
from tests.support.service import RunningService, start_service

ALICE = "+4915100000001"
SPARE = "+4915100000008"  # the account the routes that end accounts are called for
JUNK_BODIES = [
    b"",
    b"null",
    b"[]",
    b'"text"',
    b"12",
    b"{",
    b"\xff\xfe",
    b'{"name": "\\ud800", "message": "\\udfff", "number": "+4915100000001"}',
    json.dumps({"number": [], "recipients": {}, "message": 5, "members": "x"}).encode(),
    json.dumps({"name": {"a": 1}, "permissions": [], "expiration_time": "1"}).encode(),
    json.dumps({"base64_attachments": [None, 5], "mentions": [{"start": "x"}]}).encode(),
    json.dumps({"use_voice": "yes", "captcha": 5, "pin": 1234}).encode(),
    json.dumps({"registered": "no", "registration_lock_pin": 5, "device_link_uri": 5}).encode(),
]
PATH_VALUES = {
    "number": "%2B4915100000001",
    "groupid": "group.bm90LWEtZ3JvdXA=",
    "token": "123-456",
    "attachment": "nope.png",
    "numberToTrust": "+4915100000003",
    "uuid": "3f2c1f0e-0000-4000-8000-000000000000",
    "deviceId": "2",
    "name": "nobody",
}
# An empty body unregisters (or deletes the local data of) the account named: these routes get
# SPARE, so the routes after them still find ALICE.
DESTRUCTIVE = (
    "/v1/unregister/{number}",
    "/v1/devices/{number}/local-data",
    "/v1/devices/{number}/{deviceId}",
)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    running = start_service(tmp_path_factory.mktemp("junk") / "data")
    register(running.client, ALICE)
    register(running.client, SPARE)
    try:
        yield running
    finally:
        running.stop()


def _concrete(path: str) -> str:
    values = {**PATH_VALUES, "number": "%2B4915100000008"} if path in DESTRUCTIVE else PATH_VALUES
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def _routes(service: RunningService) -> list[tuple[str, str]]:
    spec = service.client.get("/swagger/doc.json").json()
    routes = []
    for path, operations in spec["paths"].items():
        routes += [(method.upper(), _concrete(path)) for method in operations]
    return routes


def test_no_route_answers_junk_with_a_server_error(service: RunningService) -> None:
    failures = []
    for method, path in _routes(service):
        if path.startswith("/v1/qrcodelink") or path == "/v1/receive/%2B4915100000001":
            continue  # no body; their query parameters are tested on their own
        if path.startswith("/api/v1/"):
            failures += _signal_cli_http_failures(service, method, path)
            continue
        for body in JUNK_BODIES:
            response = service.client.request(method, path, content=body)
            if response.status_code >= 500 or (
                response.status_code >= 400 and list(response.json()) != ["error"]
            ):
                failures.append((method, path, body, response.status_code, response.text))
    assert failures == []


def _signal_cli_http_failures(service: RunningService, method: str, path: str) -> list[Any]:
    """signal-cli's own HTTP API answers as signal-cli does: its 4xx have no body (415 without
    a JSON Content-Type), and junk it reads is a JSON-RPC error object with 200."""
    failures: list[Any] = []
    for body in JUNK_BODIES:
        for headers in ({}, {"Content-Type": "application/json"}):
            with service.client.stream(method, path, content=body, headers=headers) as response:
                if response.headers.get("content-type") == "text/event-stream":
                    continue  # GET /api/v1/events ignores a body, and its stream never ends
                response.read()
            status = response.status_code
            if status >= 500 or (status >= 400 and response.content != b""):
                failures.append((method, path, body, status, response.text))
            elif status == 200 and method == "POST":
                answer = response.json()
                if not (isinstance(answer, dict) and set(answer) == {"jsonrpc", "error", "id"}):
                    failures.append((method, path, body, status, response.text))
    return failures
