"""/v1/about, /v1/health, the Swagger UI, and what every route does with bad input."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest

from signal_rest import __version__
from tests.support.flows import register
from tests.support.service import RunningService, start_service
from tests.support.shapes import DAEMON_GONE

ALICE = "+4915100000001"
BOB = "+4915100000002"


def test_about_has_the_fields_clients_validate(service: RunningService) -> None:
    response = service.client.get("/v1/about")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "versions": ["v1", "v2"],
        "build": 2,
        "mode": "json-rpc",
        "version": "0.101",
        "capabilities": {"v2/send": ["quotes", "mentions"]},
        "signal_rest_version": __version__,
        "backend": "sandbox",
    }


def test_health_is_204_when_the_daemon_answers(service: RunningService) -> None:
    response = service.client.get("/v1/health")
    assert (response.status_code, response.content) == (204, b"")


def test_health_is_503_when_the_daemon_is_gone(service: RunningService) -> None:
    # Stop the in-process sandbox on the service's own loop: the daemon is now down.
    sandbox = service.backend.sandbox
    assert sandbox is not None
    service.run(sandbox.close())
    response = service.client.get("/v1/health")
    assert response.status_code == 503
    # How far the client got in noticing decides which fact it reports.
    assert response.json() in DAEMON_GONE


def test_swagger_ui_is_served_without_a_cdn(service: RunningService) -> None:
    page = service.client.get("/swagger/index.html")
    assert page.status_code == 200
    # Its files and document sit beside it, at the Go project's paths (named relatively).
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png", "doc.json"):
        assert f"'{name}'" in page.text or f'"{name}"' in page.text, name
    assert "http" not in page.text  # nothing from elsewhere, no CDN
    served = {
        name: service.client.get(f"/swagger/{name}")
        for name in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png")
    }
    assert {name: (r.status_code, r.headers["content-type"]) for name, r in served.items()} == {
        "swagger-ui-bundle.js": (200, "text/javascript; charset=utf-8"),
        "swagger-ui.css": (200, "text/css; charset=utf-8"),
        "favicon.png": (200, "image/png"),
    }
    other = service.client.get("/swagger/redoc.standalone.js")  # in the package, not served
    assert (other.status_code, other.json()) == (
        404,
        {"error": "No such file of the API docs: redoc.standalone.js"},
    )
    spec = service.client.get("/swagger/doc.json").json()
    assert service.client.get("/openapi.json").json() == spec
    for path in ("/v2/send", "/v1/receive/{number}", "/v1/groups/{number}", "/v1/about"):
        assert path in spec["paths"]
    # Every reference in the document resolves (nested body models are inlined).
    refs = re.findall(r'"\$ref": ?"([^"]+)"', json.dumps(spec))
    assert refs, "expected component references"
    for ref in refs:
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in spec["components"]["schemas"], ref
    send_body = spec["paths"]["/v2/send"]["post"]["requestBody"]["content"]["application/json"]
    mention = send_body["schema"]["properties"]["mentions"]["items"]
    assert set(mention["properties"]) == {"start", "length", "author"}


def test_unknown_route_is_a_json_404(service: RunningService) -> None:
    response = service.client.get("/v1/nope")
    assert (response.status_code, response.json()) == (404, {"error": "404 page not found"})


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            b"{not json",
            "Couldn't process request - invalid JSON at line 1, column 2: "
            "Expecting property name enclosed in double quotes",
        ),
        (b"", "Couldn't process request - the body is empty: this route needs a JSON object"),
        (b"[1, 2]", "Couldn't process request - the body must be a JSON object, got a list"),
        (
            json.dumps({"number": ALICE, "recipients": BOB}).encode(),
            "Couldn't process request - recipients must be a list of strings, "
            f'got the string "{BOB}"',
        ),
        (
            json.dumps({"number": 5, "recipients": [BOB]}).encode(),
            "Couldn't process request - number must be a string, got 5",
        ),
        (
            json.dumps(
                {"number": ALICE, "recipients": [BOB], "mentions": [{"start": "3"}]}
            ).encode(),
            'Couldn\'t process request - mentions[0].start must be an integer, got the string "3"',
        ),
        (
            b'{"number": "+49\xff"}',
            "Couldn't process request - invalid JSON: the body is not UTF-8 text (byte 16 is 0xff)",
        ),
        (
            json.dumps({"number": ALICE, "recipients": []}).encode(),
            "Couldn't process request - please provide at least one recipient",
        ),
        (
            json.dumps({"recipients": [BOB], "message": "x"}).encode(),
            "Couldn't process request - please provide a valid number",
        ),
        (
            json.dumps({"number": ALICE, "recipients": ["hello"], "message": "x"}).encode(),
            "Couldn't process request - 'hello' is not a phone number, UUID, username or group "
            "id (a username ends in a dot and two or more digits, as in hello.01)",
        ),
        (
            json.dumps(
                {"number": ALICE, "recipients": ["group.!!!!!!!!!!!!"], "message": "x"}
            ).encode(),
            "Invalid identifier group.!!!!!!!!!!!!",
        ),
        (
            json.dumps(
                {"number": ALICE, "recipients": [BOB], "base64_attachments": ["a$bc"]}
            ).encode(),
            "illegal base64 data at input byte 1",
        ),
        (
            json.dumps({"number": ALICE, "recipients": [BOB], "view_once": True}).encode(),
            "'view_once' can only be set for image attachments!",
        ),
    ],
    ids=[
        "malformed-json",
        "empty",
        "not-an-object",
        "string-for-array",
        "number-for-string",
        "nested-field",
        "not-utf8",
        "no-recipients",
        "no-number",
        "none-of-the-four-kinds",
        "invalid-group-id",
        "invalid-base64",
        "view-once-without-attachment",
    ],
)
def test_send_rejects_bad_input_with_a_json_400(
    service: RunningService, body: bytes, error: str
) -> None:
    register(service.client, ALICE)
    response = service.client.post("/v2/send", content=body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"].startswith(error)


@pytest.mark.parametrize(
    ("group_id", "status", "error"),
    [
        ("group.!!", 400, "Invalid group id"),
        ("bm90LWEtZ3JvdXA=", 404, "No group with that id found"),
    ],
    ids=["not-base64", "no-such-group"],
)
def test_get_group_rejects_invalid_and_unknown_ids(
    service: RunningService, group_id: str, status: int, error: str
) -> None:
    register(service.client, ALICE)
    response = service.client.get(f"/v1/groups/%2B4915100000001/{group_id}")
    assert (response.status_code, response.json()) == (status, {"error": error})


def _raw_request(port: int, head: bytes, body: bytes = b"") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(head + body)
        chunks = b""
        while b"\r\n\r\n" not in chunks or not chunks.rstrip().endswith(b"}"):
            data = conn.recv(65536)
            if not data:
                break
            chunks += data
        return chunks


def test_body_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    service = start_service(tmp_path / "data", max_body_bytes=1000)
    try:
        # The client announces a gigabyte and sends nothing: the answer comes at once.
        head = (
            b"POST /v2/send HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000000000\r\n\r\n"
        )
        answer = _raw_request(service.port, head)
        assert answer.startswith(b"HTTP/1.1 413"), answer
        assert answer.endswith(b'{"error":"Request body is larger than the limit of 1000 bytes"}')

        # Without a length, it is cut off while streaming.
        chunked = b"POST /v2/send HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
        chunk = b"a" * 800
        body = (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 2 + b"0\r\n\r\n"
        answer = _raw_request(service.port, chunked, body)
        assert answer.startswith(b"HTTP/1.1 413"), answer
    finally:
        service.stop()
