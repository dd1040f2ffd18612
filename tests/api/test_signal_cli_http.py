"""signal-cli's own HTTP API (`POST /api/v1/rpc`, `GET /api/v1/check`) on the sandbox, over HTTP.

The answers are signal-cli's (its HTTP daemon's status codes, empty bodies, JSON-RPC errors with
200); tests/api/test_signal_cli_http_realcli.py compares them with the real signal-cli 0.13.19.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.api.test_hostile_input import connect, read_answer
from tests.support.flows import ALICE, BOB
from tests.support.service import RunningService, start_service
from tests.support.shapes import DAEMON_GONE, data_message
from tests.support.tokens import bearer, create_token

CAROL = "+4915100000003"  # an outside Signal user
JSON = {"Content-Type": "application/json"}
NOT_IMPLEMENTED = {"code": -32601, "message": "Method not implemented", "data": None}


def rpc(client: httpx.Client, body: Any, **headers: str) -> httpx.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post("/api/v1/rpc", content=raw, headers={**JSON, **headers})


def answered(response: httpx.Response) -> Any:
    """The JSON body of a 200 answer, after checking its headers."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-length"] == str(len(response.content))
    return json.loads(response.content)


def assert_empty(response: httpx.Response, status: int) -> None:
    assert (response.status_code, response.content) == (status, b"")
    assert response.headers["content-length"] == "0"
    assert "content-type" not in response.headers
    assert "allow" not in response.headers


def request(method: str, request_id: Any, **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": request_id}
    if params:
        body["params"] = params
    return body


def test_a_request_is_answered_with_its_id_whatever_its_type(service: RunningService) -> None:
    for request_id in (1, "abc", None, 1.5, 2**40):
        response = rpc(service.client, request("version", request_id))
        assert answered(response) == {
            "jsonrpc": "2.0",
            "result": {"version": "0.13.19"},
            "id": request_id,
        }
    # Byte for byte as signal-cli writes it: compact, `id` last.
    assert rpc(service.client, request("version", 7)).content == (
        b'{"jsonrpc":"2.0","result":{"version":"0.13.19"},"id":7}'
    )


def test_ids_that_collide_with_ours_stay_the_callers(service: RunningService) -> None:
    # Our connection numbers its calls "1", "2", ...; a caller using the same ids gets its own.
    batch = [request("version", "1"), request("version", "2"), request("listAccounts", 1)]
    assert answered(rpc(service.client, batch)) == [
        {"jsonrpc": "2.0", "result": {"version": "0.13.19"}, "id": "1"},
        {"jsonrpc": "2.0", "result": {"version": "0.13.19"}, "id": "2"},
        {"jsonrpc": "2.0", "result": [], "id": 1},
    ]


def test_a_batch_answers_each_request_but_not_the_notifications(service: RunningService) -> None:
    batch = [
        request("version", 1),
        request("nope", "x"),
        {"jsonrpc": "2.0", "method": "version"},
        5,
    ]
    assert answered(rpc(service.client, batch)) == [
        {"jsonrpc": "2.0", "result": {"version": "0.13.19"}, "id": 1},
        {"jsonrpc": "2.0", "error": NOT_IMPLEMENTED, "id": "x"},
        {
            "jsonrpc": "2.0",
            "error": {
                "code": -32600,
                "message": "Cannot construct instance of `org.asamk.signal.jsonrpc.JsonRpcRequest`"
                " (although at least one Creator exists): no int/Int-argument constructor/factory"
                " method to deserialize from Number value (5)\n at [Source: UNKNOWN; byte offset:"
                " #UNKNOWN]",
                "data": None,
            },
            "id": None,
        },
    ]
    assert_empty(rpc(service.client, [{"jsonrpc": "2.0", "method": "version"}]), 201)
    assert answered(rpc(service.client, [])) == {
        "jsonrpc": "2.0",
        "error": {"code": -32600, "message": "invalid request", "data": None},
        "id": None,
    }


def test_a_notification_is_carried_out_and_answered_201(accounts: RunningService) -> None:
    client = accounts.client
    params = {"account": ALICE, "recipient": [CAROL], "message": "noted"}
    assert_empty(rpc(client, {"jsonrpc": "2.0", "method": "send", "params": params}), 201)
    outside = client.get(f"/v1/sandbox/received/{CAROL}").json()
    assert [m["envelope"]["dataMessage"]["message"] for m in outside] == ["noted"]
    # A notification that fails is still 201: nobody asked for its answer.
    assert_empty(rpc(client, {"jsonrpc": "2.0", "method": "nope"}), 201)


def test_errors_are_the_daemons_error_objects_with_200(service: RunningService) -> None:
    client = service.client
    assert answered(rpc(client, request("nope", 3))) == {
        "jsonrpc": "2.0",
        "error": NOT_IMPLEMENTED,
        "id": 3,
    }
    assert answered(rpc(client, request("send", 4, account="+491"))) == {
        "jsonrpc": "2.0",
        "error": {"code": -32602, "message": "Specified account does not exist", "data": None},
        "id": 4,
    }
    assert answered(rpc(client, {"method": "version"})) == {
        "jsonrpc": "2.0",
        "error": {
            "code": -32600,
            "message": "only jsonrpc version 2.0 is supported",
            "data": None,
        },
        "id": None,
    }


def test_subscriptions_are_not_implemented_over_http(accounts: RunningService) -> None:
    for method in ("subscribeReceive", "unsubscribeReceive", "subscribeCallEvents"):
        assert answered(rpc(accounts.client, request(method, 9, account=ALICE))) == {
            "jsonrpc": "2.0",
            "error": NOT_IMPLEMENTED,
            "id": 9,
        }
    # Our own subscription is untouched: a message still reaches the inbox.
    sent = accounts.client.post(
        "/v2/send", json={"number": ALICE, "recipients": [BOB], "message": "hi"}
    )
    assert sent.status_code == 201, sent.text


def test_receive_is_refused_while_we_are_subscribed(accounts: RunningService) -> None:
    # Passed through: the daemon refuses it, as signal-cli does while something else receives.
    assert answered(rpc(accounts.client, request("receive", 2, account=ALICE))) == {
        "jsonrpc": "2.0",
        "error": {
            "code": -1,
            "message": "Receive command cannot be used if messages are already being received.",
            "data": None,
        },
        "id": 2,
    }


def test_unparsable_bodies_are_answered_as_signal_cli_does(service: RunningService) -> None:
    def error(code: int, message: str) -> dict[str, Any]:
        return {
            "jsonrpc": "2.0",
            "error": {"code": code, "message": message, "data": None},
            "id": None,
        }

    assert answered(rpc(service.client, b"{bad")) == error(
        -32700,
        "Unexpected character ('b' (code 98)): was expecting double-quote to start field name\n"
        " at [Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); "
        "line: 1, column: 2]",
    )
    assert answered(rpc(service.client, b"")) == error(-32600, "unexpected type: MISSING")
    assert answered(rpc(service.client, b"5")) == error(-32600, "unexpected type: NUMBER")
    # Jackson reads the first value: trailing text is ignored.
    trailing = answered(rpc(service.client, json.dumps(request("version", 1)).encode() + b" x"))
    assert trailing == {"jsonrpc": "2.0", "result": {"version": "0.13.19"}, "id": 1}


def test_content_type_must_start_with_application_json(service: RunningService) -> None:
    body = json.dumps(request("version", 1)).encode()
    for content_type in ("text/plain", "application/x-www-form-urlencoded", ""):
        response = service.client.post(
            "/api/v1/rpc", content=body, headers={"Content-Type": content_type}
        )
        assert_empty(response, 415)
    no_type = service.client.post("/api/v1/rpc", content=body)
    assert_empty(no_type, 415)
    charset = rpc(service.client, body, **{"Content-Type": "application/json; charset=utf-8"})
    assert answered(charset)["result"] == {"version": "0.13.19"}


def test_wrong_methods_and_paths_answer_as_signal_cli(service: RunningService) -> None:
    client = service.client
    for method in ("GET", "PUT", "DELETE", "PATCH"):
        assert_empty(client.request(method, "/api/v1/rpc"), 405)
    for method in ("POST", "PUT", "DELETE"):
        assert_empty(client.request(method, "/api/v1/check"), 405)
    head = client.head("/api/v1/check")  # signal-cli's server sends no Content-Length here
    assert (head.status_code, head.content) == (405, b"")
    assert "content-length" not in head.headers and "content-type" not in head.headers
    for path in ("/api/v1/rpc/x", "/api/v1/checkx"):
        assert_empty(client.get(path), 404)
    other = client.get("/api/v1/other")
    assert (other.status_code, other.content) == (
        404,
        b"<h1>404 Not Found</h1>No context found for request",
    )
    assert other.headers["content-type"] == "text/html"


def test_check_is_200_empty_while_the_daemon_answers(service: RunningService) -> None:
    response = service.client.get("/api/v1/check")
    assert_empty(response, 200)


def test_check_and_rpc_are_503_when_the_daemon_is_gone(service: RunningService) -> None:
    sandbox = service.backend.sandbox
    assert sandbox is not None
    service.run(sandbox.close())
    for response in (
        service.client.get("/api/v1/check"),
        rpc(service.client, request("version", 1)),
    ):
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/json"
        assert response.json() in DAEMON_GONE
    # Answered here, without the daemon: still signal-cli's answers.
    assert answered(rpc(service.client, b"5"))["error"]["message"] == "unexpected type: NUMBER"


def test_a_send_through_the_passthrough_reaches_an_outside_user(accounts: RunningService) -> None:
    client = accounts.client
    answer = answered(
        rpc(client, request("send", "s1", account=ALICE, recipient=[CAROL], message="Hi"))
    )
    assert list(answer) == ["jsonrpc", "result", "id"]
    assert answer["id"] == "s1"
    ts = answer["result"]["timestamp"]
    outside = client.get(f"/v1/sandbox/received/{CAROL}").json()
    assert [m["envelope"]["dataMessage"] for m in outside] == [data_message(ts, "Hi")]
    assert outside[0]["envelope"]["sourceNumber"] == ALICE


def test_only_admin_tokens_for_all_accounts_may_use_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    admin = create_token(data_dir, "admin", "--scope", "admin")
    sender = create_token(data_dir, "sender", "--scope", "send")
    alice_admin = create_token(data_dir, "alice", "--scope", "admin", "--account", ALICE)
    running = start_service(data_dir)
    try:
        client = running.client
        version = request("version", 1)
        assert answered(rpc(client, version, **bearer(admin)))["result"] == {"version": "0.13.19"}
        assert rpc(client, version).status_code == 401
        refused = rpc(client, version, **bearer(sender))
        assert refused.status_code == 403
        limited = rpc(client, request("listContacts", 1, account=ALICE), **bearer(alice_admin))
        assert (limited.status_code, limited.json()) == (
            403,
            {
                "error": "This API token is limited to some accounts; /api/v1/rpc can act for "
                "every account and needs a token for all accounts"
            },
        )
        # The liveness check is open, like /v1/health.
        assert_empty(client.get("/api/v1/check"), 200)
    finally:
        running.stop()


def test_a_body_is_held_to_the_large_limit_since_a_send_may_carry_attachments(
    tmp_path: Path,
) -> None:
    service = start_service(tmp_path / "data", max_small_body_bytes=1000, max_body_bytes=10_000)
    try:
        padded = {"jsonrpc": "2.0", "method": "version", "id": "x" * 5000}
        response = service.client.post("/api/v1/rpc", json=padded, headers=JSON)
        assert (response.status_code, response.json()) == (
            200,
            {"jsonrpc": "2.0", "result": {"version": "0.13.19"}, "id": "x" * 5000},
        )
        with connect(service) as conn:
            # More announced than the limit, nothing sent: refused before anything is read.
            conn.sendall(
                b"POST /api/v1/rpc HTTP/1.1\r\nHost: localhost\r\n"
                b"Content-Type: application/json\r\nContent-Length: 10001\r\n\r\n"
            )
            status, _, body = read_answer(conn)
        assert (status, body) == (
            413,
            {"error": "Request body is larger than the limit of 10000 bytes"},
        )
    finally:
        service.stop()
