"""A `{number}` in a path that is not UTF-8, over real HTTP: always a 400 `{"error"}`, never 500.

`%FF` is invalid UTF-8 at the server's own percent-decoding; `%25FF` decodes to `%FF` there and
only becomes the invalid byte at the second, Go-style decoding of `number_from_path`.
"""

from __future__ import annotations

import json

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.support.flows import ALICE
from tests.support.service import RunningService

MALFORMED = {"error": "Couldn't process request - malformed number"}

UNDECODABLE = [
    pytest.param("%FF", id="invalid-byte"),
    pytest.param("+49%FF", id="invalid-byte-after-digits"),
    pytest.param("%2B49%25FF", id="invalid-byte-after-second-decoding"),
    pytest.param("%25FF", id="invalid-byte-only-after-second-decoding"),
    pytest.param("%2B49%25ED%25A0%2580", id="encoded-surrogate-after-second-decoding"),
    pytest.param("%EF%BF%BD", id="replacement-character"),
]

# One route of each kind that reads `{number}` first: GET and POST, JSON body or none.
ROUTES = [
    pytest.param("GET", "/v1/groups/{number}", None, id="list-groups"),
    pytest.param("POST", "/v1/groups/{number}", {"name": "g", "members": []}, id="create-group"),
    pytest.param("GET", "/v1/receive/{number}", None, id="receive"),
    pytest.param("POST", "/v1/register/{number}", None, id="register"),
    pytest.param("POST", "/v1/register/{number}/verify/123-456", None, id="verify"),
    pytest.param("GET", "/v1/sandbox/verification-code/{number}", None, id="sandbox-code"),
]


@pytest.mark.parametrize("number", UNDECODABLE)
@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_route_rejects_undecodable_number(
    service: RunningService, method: str, path: str, body: object, number: str
) -> None:
    response = service.client.request(method, path.format(number=number), json=body)
    assert (response.status_code, response.json()) == (400, MALFORMED)
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize("number", UNDECODABLE)
def test_group_route_rejects_undecodable_number_before_the_group(
    accounts: RunningService, number: str
) -> None:
    group = accounts.client.post(f"/v1/groups/{ALICE}", json={"name": "g", "members": []})
    assert group.status_code == 201, group.text
    path = f"/v1/groups/{number}/{group.json()['id']}"
    response = accounts.client.get(path)
    assert (response.status_code, response.json()) == (400, MALFORMED)
    # Nothing happened to the group.
    assert [g["id"] for g in accounts.client.get(f"/v1/groups/{ALICE}").json()] == [
        group.json()["id"]
    ]


def refused_handshake(service: RunningService, number: str) -> InvalidStatus:
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{service.ws_url}/v1/receive/{number}", open_timeout=10).close()
    return refused.value


@pytest.mark.parametrize("number", UNDECODABLE)
def test_websocket_refuses_undecodable_number(service: RunningService, number: str) -> None:
    response = refused_handshake(service, number).response
    assert 400 <= response.status_code < 500


def test_websocket_refuses_undecodable_number_with_json_error(service: RunningService) -> None:
    response = refused_handshake(service, "%25FF").response
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert json.loads(bytes(response.body)) == MALFORMED
