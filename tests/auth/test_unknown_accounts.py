"""A number that is no account of the service: every route that names an account answers it
alike (404, one text), generated from the route table, websocket included. Over real HTTP.

A route added later with a `{number}` is in this test without anyone listing it; one whose
number may be any number must say so (`@any_number`) and is listed here.
"""

from __future__ import annotations

import json
import re

import pytest

from signal_rest.auth.scopes import RouteTable
from tests.auth.test_route_scopes import VALUES, Call, _methods, request
from tests.support.flows import ALICE, BOB, register
from tests.support.service import RunningService

UNKNOWN = "+4915100000009"
NOT_AN_ACCOUNT = {
    "error": f"{UNKNOWN} is no account of this service: register it with "
    f"POST /v1/register/{UNKNOWN} or link it with GET /v1/qrcodelink?device_name=<name>; "
    "GET /v1/accounts lists the accounts"
}
# The routes whose `{number}` need not be an account: registering one, an account's data left
# after it was unregistered, and the sandbox's outside phones.
ANY_NUMBER = {
    "POST /v1/register/{number}",
    "POST /v1/register/{number}/verify/{token}",
    "DELETE /v1/devices/{number}/local-data",
    "GET /v1/sandbox/verification-code/{number}",
    "GET /v1/sandbox/received/{number}",
    "PUT /v1/sandbox/numbers/{number}",
    "PUT /v1/sandbox/profiles/{number}",
    "POST /v1/sandbox/reinstall/{number}",
    "PUT /v1/sandbox/rate-limits/{number}",
}


class UnknownCall(Call):
    def url_path(self) -> str:
        return re.sub(
            r"\{(\w+)(:\w+)?\}", lambda m: UNKNOWN if m[1] == "number" else VALUES[m[1]], self.path
        )


def _calls(service: RunningService) -> tuple[list[UnknownCall], set[str]]:
    """The calls of the routes naming an account, and the routes with a `{number}` that don't."""
    table: RouteTable = service.app.state.route_table
    naming, other = [], set()
    for route in table.routes():
        path = getattr(route, "path", "")
        for method in _methods(route):
            if table.names_account(route):
                naming.append(UnknownCall(method, path, table.scope_of(route) or ""))
            elif "{number}" in path:
                other.add(f"{method} {path}")
    return naming, other


def test_every_account_route_answers_a_number_that_is_no_account_alike(
    accounts: RunningService,
) -> None:
    naming, other = _calls(accounts)
    assert other == ANY_NUMBER
    assert {"GET /v1/receive/{number}", "WEBSOCKET /v1/receive/{number}"} <= {
        str(call) for call in naming
    }
    assert len(naming) >= 45
    answers = {str(call): request(accounts, call) for call in naming}
    assert answers == {str(call): (404, NOT_AN_ACCOUNT) for call in naming}


def test_percent_encoded_unknown_number_gets_the_same_answer(accounts: RunningService) -> None:
    response = accounts.client.get(f"/v1/groups/{UNKNOWN.replace('+', '%252B')}")
    assert (response.status_code, response.json()) == (404, NOT_AN_ACCOUNT)


@pytest.mark.parametrize("route", ["/v2/send", "/v1/send"])
def test_send_from_a_number_that_is_no_account_gets_the_same_answer(
    accounts: RunningService, route: str
) -> None:
    body = {"number": UNKNOWN, "recipients": [BOB], "message": "hi"}
    response = accounts.client.post(route, content=json.dumps(body))
    assert (response.status_code, response.json()) == (404, NOT_AN_ACCOUNT)
    assert accounts.client.get(f"/v1/sandbox/received/{BOB}").json() == []


def test_an_account_registered_a_moment_ago_is_found(accounts: RunningService) -> None:
    assert accounts.client.get(f"/v1/groups/{UNKNOWN}").status_code == 404
    register(accounts.client, UNKNOWN)
    response = accounts.client.get(f"/v1/groups/{UNKNOWN}")
    assert (response.status_code, response.json()) == (200, [])


def test_an_account_whose_data_was_deleted_is_no_account_any_more(
    accounts: RunningService,
) -> None:
    assert accounts.client.get(f"/v1/groups/{ALICE}").status_code == 200
    body = {"delete_account": False, "delete_local_data": True}
    assert accounts.client.post(f"/v1/unregister/{ALICE}", json=body).status_code == 204
    response = accounts.client.get(f"/v1/groups/{ALICE}")
    assert (response.status_code, response.json()) == (
        404,
        {"error": NOT_AN_ACCOUNT["error"].replace(UNKNOWN, ALICE)},
    )
