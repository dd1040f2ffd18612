"""Web pages cannot use the API through their visitor's browser: Origin and Host rules, CORS
for configured origins, and trailing-slash redirects that do not follow the Host header.
Over real HTTP and real websockets, on the sandbox."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

from tests.support.flows import ALICE, BOB, receive_until, register
from tests.support.service import RunningService, start_service

CAROL = "+4915100000003"  # an outside Signal user
EVIL = "http://evil.example"
DASH = "https://dash.example"
SEND = {"number": ALICE, "recipients": [CAROL], "message": "cross-site"}


def origin_refusal(origin: str) -> dict[str, str]:
    return {
        "error": f"Origin {origin!r} is not allowed: web pages may use this API only from the "
        "origins in SIGNAL_REST_ALLOWED_ORIGINS"
    }


def host_refusal(host: str) -> dict[str, str]:
    return {
        "error": f"Host {host!r} is not allowed: this service answers only to localhost, "
        "127.x.x.x, [::1] and the names in SIGNAL_REST_ALLOWED_HOSTS"
    }


def cors_headers(response_headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in response_headers.items() if k.startswith("access-control-")}


def send_from_outside(service: RunningService, to: str, text: str) -> None:
    response = service.client.post(
        "/v1/sandbox/send", json={"from": CAROL, "recipients": [to], "message": text}
    )
    assert response.status_code == 201, response.text


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[RunningService]:
    """The service with one web origin allowed."""
    running = start_service(tmp_path / "data", allowed_origins=DASH)
    try:
        register(running.client, ALICE)
        yield running
    finally:
        running.stop()


def test_cross_origin_text_plain_send_is_refused_and_sends_nothing(
    accounts: RunningService,
) -> None:
    # What a form or fetch() on any web page can send without a preflight.
    response = accounts.client.post(
        "/v2/send",
        content=json.dumps(SEND),
        headers={"Content-Type": "text/plain", "Origin": EVIL},
    )

    assert (response.status_code, response.json()) == (403, origin_refusal(EVIL))
    assert accounts.client.get(f"/v1/sandbox/received/{CAROL}").json() == []


def test_null_origin_is_refused(accounts: RunningService) -> None:
    # Sandboxed iframes and file:// pages send `Origin: null`.
    response = accounts.client.post("/v2/send", json=SEND, headers={"Origin": "null"})

    assert (response.status_code, response.json()) == (403, origin_refusal("null"))
    assert accounts.client.get(f"/v1/sandbox/received/{CAROL}").json() == []


@pytest.mark.parametrize("with_origin", [False, True], ids=["no-origin", "same-origin"])
def test_send_without_or_from_own_origin_is_sent(
    accounts: RunningService, with_origin: bool
) -> None:
    headers = {"Origin": accounts.url} if with_origin else {}

    response = accounts.client.post("/v2/send", json=SEND, headers=headers)

    assert response.status_code == 201, response.text
    assert cors_headers(dict(response.headers)) == {}
    received = accounts.client.get(f"/v1/sandbox/received/{CAROL}").json()
    assert [m["envelope"]["dataMessage"]["message"] for m in received] == ["cross-site"]


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_tag_or_link_from_another_site_is_refused_and_consumes_nothing(
    accounts: RunningService, site: str
) -> None:
    # <img src="http://127.0.0.1:8080/v1/receive/..."> on any page: no Origin, but this.
    send_from_outside(accounts, ALICE, "for the owner")
    headers = {"Sec-Fetch-Site": site, "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image"}

    response = accounts.client.get(f"/v1/receive/{ALICE}", headers=headers)

    assert (response.status_code, response.json()) == (
        403,
        {
            "error": "A request from another site without an Origin header (an <img> or "
            "<script> tag, a link) is not allowed: web pages may use this API only with fetch() "
            "from the origins in SIGNAL_REST_ALLOWED_ORIGINS"
        },
    )
    messages = receive_until(accounts.client, ALICE, 1)
    assert [m["envelope"]["dataMessage"]["message"] for m in messages] == ["for the owner"]


@pytest.mark.parametrize("site", ["none", "same-origin"], ids=["address-bar", "own-page"])
def test_browser_loads_from_the_address_bar_or_own_pages_work(
    service: RunningService, site: str
) -> None:
    response = service.client.get("/v1/about", headers={"Sec-Fetch-Site": site})

    assert response.status_code == 200, response.text


def test_websocket_from_foreign_origin_is_refused_and_consumes_nothing(
    accounts: RunningService,
) -> None:
    send_from_outside(accounts, ALICE, "for the owner")

    with (
        pytest.raises(InvalidStatus) as refused,
        connect(f"{accounts.ws_url}/v1/receive/{ALICE}", origin=Origin(EVIL)),
    ):
        pass

    assert refused.value.response.status_code == 403
    assert json.loads(refused.value.response.body or b"") == origin_refusal(EVIL)
    messages = receive_until(accounts.client, ALICE, 1)
    assert [m["envelope"]["dataMessage"]["message"] for m in messages] == ["for the owner"]


def test_websocket_from_own_origin_receives(accounts: RunningService) -> None:
    send_from_outside(accounts, BOB, "for the dashboard")

    with connect(f"{accounts.ws_url}/v1/receive/{BOB}", origin=Origin(accounts.url)) as websocket:
        frame = json.loads(websocket.recv(timeout=10))

    assert frame["envelope"]["dataMessage"]["message"] == "for the dashboard"


@pytest.mark.parametrize(
    "host",
    ["evil.example", "evil.example:{port}", "127.0.0.1.evil.example", "localhost.evil.example"],
    ids=["name", "name-and-port", "ip-prefixed-name", "localhost-prefixed-name"],
)
def test_foreign_host_is_refused_while_bound_to_loopback(
    service: RunningService, host: str
) -> None:
    # DNS rebinding: a page at evil.example:PORT whose name now resolves to 127.0.0.1.
    host = host.format(port=service.port)

    response = service.client.get("/v1/about", headers={"Host": host})

    assert (response.status_code, response.json()) == (403, host_refusal(host))


def test_foreign_host_websocket_is_refused_while_bound_to_loopback(
    accounts: RunningService,
) -> None:
    host = f"evil.example:{accounts.port}"
    # The page's own origin and Host, over a connection to 127.0.0.1 (what rebinding does).
    with (
        socket.create_connection(("127.0.0.1", accounts.port)) as sock,
        pytest.raises(InvalidStatus) as refused,
        connect(f"ws://{host}/v1/receive/{ALICE}", origin=Origin(f"http://{host}"), sock=sock),
    ):
        pass

    assert refused.value.response.status_code == 403
    assert json.loads(refused.value.response.body or b"") == host_refusal(host)


@pytest.mark.parametrize(
    "host",
    ["localhost:{port}", "127.0.0.1:{port}", "127.1.2.3:{port}", "[::1]:{port}", "localhost"],
    ids=["localhost", "127.0.0.1", "127.1.2.3", "ipv6", "no-port"],
)
def test_loopback_host_is_served_while_bound_to_loopback(
    service: RunningService, host: str
) -> None:
    response = service.client.get("/v1/about", headers={"Host": host.format(port=service.port)})

    assert response.status_code == 200, response.text


def test_any_host_is_served_when_bound_elsewhere(tmp_path: Path) -> None:
    # settings.host says 0.0.0.0 (Docker); the test still listens on 127.0.0.1 only.
    running = start_service(tmp_path / "data", host="0.0.0.0", bind="127.0.0.1")
    try:
        for host in ("evil.example", "signal-cli-rest-api:8080", "192.168.1.5:8080"):
            response = running.client.get("/v1/about", headers={"Host": host})
            assert response.status_code == 200, (host, response.text)
    finally:
        running.stop()


@pytest.mark.parametrize("bound", ["0.0.0.0", "127.0.0.1"], ids=["elsewhere", "loopback"])
def test_allowed_hosts_are_the_only_names_served(tmp_path: Path, bound: str) -> None:
    running = start_service(
        tmp_path / "data",
        host=bound,
        bind="127.0.0.1",
        allowed_hosts="signal.example, *.lan.example",
    )
    try:
        served = {}
        for host in (
            "signal.example",
            "SIGNAL.example:8080",
            "box.lan.example",
            "localhost:8080",
            "evil.example",
            "lan.example.evil.example",
        ):
            served[host] = running.client.get("/v1/about", headers={"Host": host}).status_code
        refused = running.client.get("/v1/about", headers={"Host": "evil.example"})
    finally:
        running.stop()

    assert served == {
        "signal.example": 200,
        "SIGNAL.example:8080": 200,
        "box.lan.example": 200,
        "localhost:8080": 200,
        "evil.example": 403,
        "lan.example.evil.example": 403,
    }
    assert refused.json() == host_refusal("evil.example")


def test_cors_preflight_answers_a_configured_origin(dashboard: RunningService) -> None:
    response = dashboard.client.options(
        "/v2/send",
        headers={
            "Origin": DASH,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )

    assert response.status_code == 204
    assert response.content == b""
    assert cors_headers(dict(response.headers)) == {
        "access-control-allow-origin": DASH,
        "access-control-allow-methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
        "access-control-allow-headers": "Authorization, Content-Type, X-Request-Id",
        "access-control-max-age": "600",
    }
    assert response.headers["vary"] == "Origin"


def test_cors_response_carries_the_configured_origin(dashboard: RunningService) -> None:
    response = dashboard.client.post("/v2/send", json=SEND, headers={"Origin": DASH})

    assert response.status_code == 201, response.text
    assert cors_headers(dict(response.headers)) == {
        "access-control-allow-origin": DASH,
        "access-control-expose-headers": "X-Request-Id, Retry-After, WWW-Authenticate",
    }
    assert response.headers["vary"] == "Origin"
    received = dashboard.client.get(f"/v1/sandbox/received/{CAROL}").json()
    assert [m["envelope"]["dataMessage"]["message"] for m in received] == ["cross-site"]


def test_cors_is_not_answered_for_other_origins(dashboard: RunningService) -> None:
    preflight = dashboard.client.options(
        "/v2/send", headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"}
    )
    response = dashboard.client.get("/v1/about", headers={"Origin": EVIL})

    assert (preflight.status_code, preflight.json()) == (403, origin_refusal(EVIL))
    assert (response.status_code, response.json()) == (403, origin_refusal(EVIL))
    assert cors_headers(dict(preflight.headers)) == {}
    assert cors_headers(dict(response.headers)) == {}


def test_cors_is_off_without_configured_origins(service: RunningService) -> None:
    preflight = service.client.options(
        "/v2/send", headers={"Origin": DASH, "Access-Control-Request-Method": "POST"}
    )
    own = service.client.get("/v1/about", headers={"Origin": service.url})
    plain = service.client.get("/v1/about")

    assert (preflight.status_code, preflight.json()) == (403, origin_refusal(DASH))
    assert [cors_headers(dict(r.headers)) for r in (preflight, own, plain)] == [{}, {}, {}]
    assert (own.status_code, plain.status_code) == (200, 200)


@pytest.mark.parametrize(
    ("method", "path", "status", "location"),
    [
        ("GET", "/v1/about/", 301, "/v1/about"),
        (
            "GET",
            "/v1/receive/%2B4915100000001/?timeout=1",
            301,
            "/v1/receive/%2B4915100000001?timeout=1",
        ),
        ("POST", "/v2/send/", 307, "/v2/send"),
        ("GET", "/swagger/index.html/", 301, "/swagger/index.html"),
    ],
    ids=["get", "get-with-query", "post", "docs"],
)
def test_trailing_slash_redirect_is_relative(
    service: RunningService, method: str, path: str, status: int, location: str
) -> None:
    # Behind a proxy the Host header is the proxy's business; the Location must not repeat it.
    response = service.client.request(method, path, headers={"Host": f"localhost:{service.port}"})

    assert (response.status_code, response.headers["location"]) == (status, location)


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v1/about/"), ("GET", "/v1/nothing/"), ("GET", "//evil.example/")],
    ids=["other-method", "no-route", "protocol-relative"],
)
def test_trailing_slash_without_a_route_is_not_found(
    service: RunningService, method: str, path: str
) -> None:
    # The path as it is: httpx would read `//evil.example/` as a host and ask for `/`.
    url = httpx.URL(service.url).copy_with(raw_path=path.encode())
    response = service.client.request(method, url)

    assert (response.status_code, response.json()) == (404, {"error": "404 page not found"})
    assert "location" not in response.headers
