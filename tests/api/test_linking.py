"""Linking this service as a new device of a phone, end to end, over real HTTP, on the sandbox."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import segno

from signal_rest.domain.qrcodes import qr_png
from signal_rest.errors import ValidationError
from tests.support.flows import receive_until, register
from tests.support.service import RunningService

ALICE = "+4915100000001"  # an account registered here
CAROL = "+4915100000003"  # an outside Signal user whose phone links this service
DAVE = "+4915100000004"  # another outside user

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LINK_URI = re.compile(r"^sgnl://linkdevice\?uuid=[A-Za-z0-9%]+&pub_key=[A-Za-z0-9%]+$")


def raw_uri(service: RunningService, device_name: str = "bot") -> str:
    response = service.client.get("/v1/qrcodelink/raw", params={"device_name": device_name})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    uri: str = response.json()["device_link_uri"]
    assert response.json() == {"device_link_uri": uri}
    assert LINK_URI.match(uri), uri
    return uri


def scan(service: RunningService, uri: str, number: str) -> Any:
    return service.client.post("/v1/sandbox/link", json={"device_link_uri": uri, "number": number})


def wait_for_account(service: RunningService, number: str, timeout: float = 5.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        response = service.client.get("/v1/accounts")
        assert response.status_code == 200, response.text
        accounts: list[str] = response.json()
        if number in accounts or time.monotonic() > deadline:
            return accounts
        time.sleep(0.05)


def test_qrcodelink_returns_a_png(service: RunningService) -> None:
    response = service.client.get("/v1/qrcodelink", params={"device_name": "bot"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(PNG_SIGNATURE)
    width, height = (int.from_bytes(response.content[o : o + 4], "big") for o in (16, 20))
    assert width == height >= 256  # IHDR: a square image at least as large as the Go project's


@pytest.mark.parametrize("version", ["15", "40"], ids=["larger", "largest"])
def test_qrcodelink_honours_a_valid_qrcode_version(service: RunningService, version: str) -> None:
    params = {"device_name": "bot", "qrcode_version": version}
    response = service.client.get("/v1/qrcodelink", params=params)
    assert response.status_code == 200, response.text
    assert response.content.startswith(PNG_SIGNATURE)


def test_qrcodelink_raw_gives_a_fresh_uri_on_each_call(service: RunningService) -> None:
    first = raw_uri(service)
    second = raw_uri(service)
    assert first != second


@pytest.mark.parametrize("path", ["/v1/qrcodelink", "/v1/qrcodelink/raw"], ids=["png", "raw"])
@pytest.mark.parametrize("params", [{}, {"device_name": ""}], ids=["missing", "empty"])
def test_qrcodelink_requires_a_device_name(
    service: RunningService, path: str, params: dict[str, str]
) -> None:
    response = service.client.get(path, params=params)
    assert (response.status_code, response.json()) == (
        400,
        {"error": "Please provide a name for the device"},
    )


@pytest.mark.parametrize(
    "version",
    ["x", "1.5", "", " 15", "1_5", "\u0661\u0665"],
    ids=["letter", "float", "empty", "space", "underscore", "arabic-indic-digits"],
)
def test_qrcodelink_rejects_a_non_integer_version(service: RunningService, version: str) -> None:
    params = {"device_name": "bot", "qrcode_version": version}
    response = service.client.get("/v1/qrcodelink", params=params)
    assert (response.status_code, response.json()) == (
        400,
        {"error": "The qrcode_version parameter needs to be an integer!"},
    )


@pytest.mark.parametrize("version", ["0", "41", "-1"], ids=["zero", "too-large", "negative"])
def test_qrcodelink_rejects_an_impossible_version(service: RunningService, version: str) -> None:
    params = {"device_name": "bot", "qrcode_version": version}
    response = service.client.get("/v1/qrcodelink", params=params)
    assert response.status_code == 400, response.text
    assert response.json() == {"error": f"Couldn't create QR code: invalid version {version}"}


def test_qrcodelink_rejects_a_version_too_small_for_the_uri(service: RunningService) -> None:
    params = {"device_name": "bot", "qrcode_version": "1"}
    response = service.client.get("/v1/qrcodelink", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith("Couldn't create QR code: ")


def test_scanning_a_link_adds_the_account(service: RunningService) -> None:
    uri = raw_uri(service)
    response = scan(service, uri, CAROL)
    assert (response.status_code, response.content) == (204, b"")
    assert wait_for_account(service, CAROL) == [CAROL]


def test_scanning_the_png_link_adds_the_account(service: RunningService) -> None:
    # The PNG route starts its own link; without a QR decoder, take its URI from the sandbox.
    response = service.client.get("/v1/qrcodelink", params={"device_name": "bot"})
    assert response.status_code == 200
    assert service.backend.sandbox is not None
    pending = list(service.backend.sandbox.links._pending)
    assert len(pending) == 1
    assert scan(service, pending[0], CAROL).status_code == 204
    assert wait_for_account(service, CAROL) == [CAROL]


def test_linked_account_sends_and_receives(service: RunningService) -> None:
    register(service.client, ALICE)
    uri = raw_uri(service, "bridge")
    assert scan(service, uri, CAROL).status_code == 204
    assert wait_for_account(service, CAROL) == [ALICE, CAROL]

    response = service.client.post(
        "/v2/send", json={"number": CAROL, "recipients": [ALICE, DAVE], "message": "from link"}
    )
    assert response.status_code == 201, response.text
    [entry] = response.json()
    assert entry == {"timestamp": entry["timestamp"]}
    [message] = receive_until(service.client, ALICE, 1)
    assert message["account"] == ALICE
    assert message["envelope"]["source"] == CAROL
    assert message["envelope"]["dataMessage"]["message"] == "from link"
    received = service.client.get(f"/v1/sandbox/received/{DAVE}").json()
    assert [e["envelope"]["dataMessage"]["message"] for e in received] == ["from link"]

    response = service.client.post(
        "/v1/sandbox/send", json={"from": DAVE, "recipients": [CAROL], "message": "to link"}
    )
    assert response.status_code == 201, response.text
    [message] = receive_until(service.client, CAROL, 1)
    assert message["account"] == CAROL
    assert message["envelope"]["source"] == DAVE
    assert message["envelope"]["dataMessage"]["message"] == "to link"


@pytest.mark.parametrize(
    "uri",
    ["sgnl://linkdevice?uuid=unknown&pub_key=unknown", "not a uri"],
    ids=["unknown", "garbage"],
)
def test_scanning_an_unknown_uri_is_refused(service: RunningService, uri: str) -> None:
    raw_uri(service)
    response = scan(service, uri, CAROL)
    assert (response.status_code, response.json()) == (
        400,
        {"error": f"Unknown device link uri: {uri}"},
    )
    assert service.client.get("/v1/accounts").json() == []


def test_scanning_a_uri_twice_is_refused(service: RunningService) -> None:
    uri = raw_uri(service)
    assert scan(service, uri, CAROL).status_code == 204
    assert wait_for_account(service, CAROL) == [CAROL]
    response = scan(service, uri, DAVE)
    assert (response.status_code, response.json()) == (
        400,
        {"error": f"Unknown device link uri: {uri}"},
    )
    assert service.client.get("/v1/accounts").json() == [CAROL]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            b"{not json",
            "Couldn't process request - invalid JSON at line 1, column 2: "
            "Expecting property name enclosed in double quotes",
        ),
        (b"[]", "Couldn't process request - the body must be a JSON object, got a list"),
        (
            b'{"device_link_uri": 5, "number": "+4915100000003"}',
            "Couldn't process request - device_link_uri must be a string, got 5",
        ),
        (
            b'{"number": "+4915100000003"}',
            "Couldn't process request - device_link_uri and number are needed",
        ),
        (
            b'{"device_link_uri": "sgnl://x"}',
            "Couldn't process request - device_link_uri and number are needed",
        ),
    ],
    ids=["malformed", "array", "number-for-uri", "no-uri", "no-number"],
)
def test_sandbox_link_rejects_bad_bodies(service: RunningService, body: bytes, error: str) -> None:
    response = service.client.post("/v1/sandbox/link", content=body)
    assert (response.status_code, response.json()) == (400, {"error": error})


def test_qr_code_of_a_long_link_grows_beyond_version_10_unless_one_is_asked_for() -> None:
    # Now and then a link URI needs more than version 10 at the highest error correction
    # (each "+", "/" and "=" of its base64 becomes three characters).
    long_uri = "sgnl://linkdevice?uuid=" + "%2B" * 12 + "&pub_key=" + "%2F" * 20
    assert int(segno.make_qr(long_uri, error="h").version) > 10
    png = qr_png(long_uri)
    assert png.startswith(PNG_SIGNATURE)
    short_png = qr_png("sgnl://linkdevice?uuid=a&pub_key=b")
    width = int.from_bytes(short_png[16:20], "big")
    assert width == int.from_bytes(qr_png("x" * 100)[16:20], "big")  # both version 10
    with pytest.raises(ValidationError, match=r"^Couldn't create QR code: "):
        qr_png(long_uri, 10)
