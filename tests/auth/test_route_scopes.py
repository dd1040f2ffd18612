"""Every route of the app, taken from its route table, with API tokens on: no token, a token of
another scope, a token for another account, the right token. Over real HTTP and websockets.

A route added later is in these tests without anyone listing it; one whose path has a parameter
this module has no value for fails `test_every_route_has_a_scope_and_a_test_value`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Route, WebSocketRoute
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from signal_rest.auth.guard import NO_TOKEN
from signal_rest.auth.scopes import OPEN, RouteTable
from signal_rest.auth.tokens import SCOPES
from tests.support.flows import ALICE, BOB, register
from tests.support.service import RunningService, start_service
from tests.support.tokens import bearer, create_token

CAROL = "+4915100000003"  # never an account: the number admin routes are called with
# Well-formed, but no group has it.
UNKNOWN_GROUP = "group.QUFFQ0F3UUZCZ2NJQ1FvTERBME9EeEFSRWhNVUZSWVhHQmthR3h3ZEhoOD0="
VALUES = {
    "groupid": UNKNOWN_GROUP,
    "token": "123456",
    "name": "swagger-ui.css",
    "attachment": "nope.png",
    "numberToTrust": "+4915100000004",
    "uuid": "3f2c1f0e-0000-4000-8000-000000000000",
    "deviceId": "2",
}
WWW_AUTHENTICATE = 'Bearer realm="signal-rest", Basic realm="signal-rest"'


@dataclass(frozen=True)
class Call:
    """One request to one route: HTTP with a method, or a websocket handshake."""

    method: str  # "WEBSOCKET" for the handshake
    path: str
    scope: str

    @property
    def names_account(self) -> bool:
        return "{number}" in self.path

    def url_path(self) -> str:
        number = CAROL if self.scope == "admin" else ALICE
        return re.sub(
            r"\{(\w+)(:\w+)?\}", lambda m: number if m[1] == "number" else VALUES[m[1]], self.path
        )

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _methods(route: BaseRoute) -> list[str]:
    if isinstance(route, (APIRoute, Route)):
        return sorted((route.methods or set()) - {"HEAD"})
    assert isinstance(route, WebSocketRoute), f"a route of an unknown kind: {route!r}"
    return ["WEBSOCKET"]


def calls_of(app: FastAPI) -> list[Call]:
    table: RouteTable = app.state.route_table
    calls = []
    for route in table.routes():
        scope = table.scope_of(route)
        assert scope is not None, f"{route!r} has no scope: mount it in app._routes"
        path = getattr(route, "path", "")
        for method in _methods(route):
            calls.append(Call(method, path, scope))
    return calls


def request(
    service: RunningService, call: Call, headers: dict[str, str] | None = None, query: str = ""
) -> tuple[int, Any]:
    """The status and JSON body (None if there is none) of `call`; 101 for an accepted
    websocket."""
    path = call.url_path()
    if call.method == "WEBSOCKET":
        try:
            with connect(f"{service.ws_url}{path}{query}", additional_headers=headers or {}):
                return 101, None
        except InvalidStatus as exc:
            response = exc.response
            assert response.headers.get("WWW-Authenticate") == (
                WWW_AUTHENTICATE if response.status_code == 401 else None
            )
            return response.status_code, json.loads(response.body or b"null")
    body = b"{}" if call.method in ("POST", "PUT", "DELETE") else None
    with service.client.stream(call.method, path, content=body, headers=headers) as answer:
        if answer.headers.get("content-type") == "text/event-stream":
            return answer.status_code, None  # an event stream does not end: its status will do
        answer.read()
    assert answer.headers.get("WWW-Authenticate") == (
        WWW_AUTHENTICATE if answer.status_code == 401 else None
    ), call
    try:
        return answer.status_code, answer.json()
    except ValueError:
        return answer.status_code, None


@dataclass
class Tokened:
    service: RunningService
    calls: list[Call]
    without_tokens: dict[str, int]
    every_scope: str
    missing: dict[str, str]  # scope -> a token with every scope but that one
    for_bob: str


@pytest.fixture(scope="module")
def tokened(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tokened]:
    """A service on which every route was called once without tokens; then tokens were made."""
    data_dir = tmp_path_factory.mktemp("tokened") / "data"
    service = start_service(data_dir)
    try:
        register(service.client, ALICE)
        register(service.client, BOB)
        calls = calls_of(service.app)
        without = {str(call): request(service, call)[0] for call in calls}
        every = create_token(data_dir, "every-scope", "--scope", "all")
        missing = {
            scope: create_token(
                data_dir, f"not-{scope}", *[f"--scope={s}" for s in SCOPES if s != scope]
            )
            for scope in SCOPES
        }
        for_bob = create_token(data_dir, "bob", "--scope", "all", "--account", BOB)
        yield Tokened(service, calls, without, every, missing, for_bob)
    finally:
        service.stop()


def test_every_route_has_a_scope_and_a_test_value(tokened: Tokened) -> None:
    calls = calls_of(tokened.service.app)
    assert {call.scope for call in calls} == {OPEN, *SCOPES}
    for call in calls:
        call.url_path()  # a KeyError names a path parameter VALUES lacks
    # The routes the issue names are among them, with the scopes it names.
    by_call = {str(call): call.scope for call in calls}
    assert {
        "GET /v1/about": OPEN,
        "GET /v1/health": OPEN,
        "POST /v1/register/{number}": "admin",
        "GET /v1/qrcodelink": "admin",
        "GET /v1/accounts": "admin",
        "POST /v2/send": "send",
        "GET /v1/receive/{number}": "receive",
        "WEBSOCKET /v1/receive/{number}": "receive",
        "GET /v1/groups/{number}": "groups",
        "POST /v1/groups/{number}/{groupid}/members": "groups",
        "POST /v1/sandbox/send": "admin",
        "GET /swagger/doc.json": OPEN,
        "GET /swagger/index.html": OPEN,
        "GET /swagger/{name}": OPEN,
        "GET /openapi.json": OPEN,
    }.items() <= by_call.items()


def test_openapi_document_gives_every_operation_its_scope(tokened: Tokened) -> None:
    spec = tokened.service.client.get("/swagger/doc.json").json()
    assert set(spec["components"]["securitySchemes"]) == {"bearerToken", "basicToken"}
    scopes = {call.scope for call in tokened.calls}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert operation["x-scope"] in scopes, (method, path)
            security: list[dict[str, list[str]]] = [{"bearerToken": []}, {"basicToken": []}]
            assert operation.get("security") == (
                None if operation["x-scope"] == OPEN else security
            ), (method, path)


def test_every_route_without_a_token_is_refused_unless_open(tokened: Tokened) -> None:
    answers = {str(call): request(tokened.service, call) for call in tokened.calls}
    expected = {
        str(call): (tokened.without_tokens[str(call)], answers[str(call)][1])
        if call.scope == OPEN
        else (401, {"error": NO_TOKEN})
        for call in tokened.calls
    }
    assert answers == expected


def test_every_route_refuses_a_token_without_its_scope(tokened: Tokened) -> None:
    answers = {
        str(call): request(tokened.service, call, bearer(tokened.missing[call.scope]))
        for call in tokened.calls
        if call.scope != OPEN
    }
    expected = {}
    for call in tokened.calls:
        if call.scope != OPEN:
            others = ", ".join(s for s in SCOPES if s != call.scope)
            text = (
                f"This API token may not use this route: it needs the '{call.scope}' scope "
                f"(the token has {others})"
            )
            expected[str(call)] = (403, {"error": text})
    assert answers == expected


def test_every_route_naming_an_account_refuses_a_token_for_another(tokened: Tokened) -> None:
    naming = [call for call in tokened.calls if call.names_account and call.scope != OPEN]
    assert len(naming) >= 10
    answers = {
        str(call): request(tokened.service, call, bearer(tokened.for_bob)) for call in naming
    }
    expected = {}
    for call in naming:
        number = CAROL if call.scope == "admin" else ALICE
        expected[str(call)] = (403, {"error": f"This API token may not act for account {number}"})
    assert answers == expected


def test_every_route_answers_the_right_token_as_without_tokens(tokened: Tokened) -> None:
    answers = {}
    for call in tokened.calls:
        if call.method == "WEBSOCKET":
            status, _ = request(tokened.service, call, query=f"?token={tokened.every_scope}")
        else:
            status, _ = request(tokened.service, call, bearer(tokened.every_scope))
        answers[str(call)] = status
    assert answers == tokened.without_tokens
    assert not {s for s in answers.values() if s in (401, 403, 429) or s >= 500}, answers


def test_route_outside_the_table_is_refused_to_every_token(
    service: RunningService, tmp_path: Path
) -> None:
    async def unscoped() -> dict[str, str]:
        return {"secret": "data"}

    service.app.add_api_route("/v1/unscoped", unscoped)
    assert service.client.get("/v1/unscoped").json() == {"secret": "data"}  # tokens off
    secret = create_token(service.settings.data_dir, "admin", "--scope", "all")
    answer = service.client.get("/v1/unscoped", headers=bearer(secret))
    assert (answer.status_code, answer.json()) == (
        403,
        {"error": "This route has no scope in the route table; no token may use it"},
    )
    assert service.client.get("/v1/unscoped").status_code == 401
