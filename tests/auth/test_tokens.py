"""API tokens on a running service, over real HTTP and websockets: the forms a token may come
in, accounts named in bodies, revoking and turning off, rate limits, a broken token file."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from signal_rest.auth.guard import NO_TOKEN
from signal_rest.auth.tokens import TOKEN_FILE
from tests.support.flows import ALICE, BOB, register
from tests.support.service import RunningService, start_service
from tests.support.tokens import basic, bearer, create_token, token_cli

OUTSIDER = "+4915100000009"
INVALID = {"error": "Invalid or revoked API token"}


def poll(
    service: RunningService, headers: dict[str, str], number: str = ALICE
) -> tuple[int, object]:
    answer = service.client.get(f"/v1/receive/{number}", params={"timeout": "0"}, headers=headers)
    return answer.status_code, answer.json()


def data_dir(service: RunningService) -> Path:
    return service.settings.data_dir


def test_token_is_taken_as_bearer_or_basic_password(accounts: RunningService) -> None:
    secret = create_token(data_dir(accounts), "reader", "--scope", "receive")
    assert poll(accounts, bearer(secret)) == (200, [])
    assert poll(accounts, basic(secret)) == (200, [])
    assert poll(accounts, basic(secret, user="whatever")) == (200, [])
    assert poll(accounts, {}) == (401, {"error": NO_TOKEN})
    assert poll(accounts, bearer(secret + "x")) == (401, INVALID)
    assert poll(accounts, basic(secret + "x")) == (401, INVALID)
    assert poll(accounts, bearer("srt_000000000000_guess")) == (401, INVALID)


@pytest.mark.parametrize(
    ("header", "error"),
    [
        ("Basic !!!", "Malformed HTTP Basic credentials"),
        (
            "Basic " + base64.b64encode(b"api:").decode(),
            "HTTP Basic auth needs the API token as its password",
        ),
        ("Token abc", "Unsupported Authorization header: use Bearer or Basic"),
        ("Bearer", "Unsupported Authorization header: use Bearer or Basic"),
    ],
    ids=["basic-not-base64", "basic-without-password", "other-scheme", "bearer-without-token"],
)
def test_unreadable_authorization_header_is_401(
    accounts: RunningService, header: str, error: str
) -> None:
    create_token(data_dir(accounts), "reader", "--scope", "receive")
    answer = accounts.client.get(f"/v1/receive/{ALICE}", headers={"Authorization": header})
    assert (answer.status_code, answer.json()) == (401, {"error": error})
    assert answer.headers["WWW-Authenticate"] == (
        'Bearer realm="signal-rest", Basic realm="signal-rest"'
    )


def test_open_routes_answer_whatever_credentials_come_along(accounts: RunningService) -> None:
    create_token(data_dir(accounts), "reader", "--scope", "receive")
    # pysignalclirestapi sends its Basic credentials to /v1/about too.
    for headers in ({}, bearer("wrong"), {"Authorization": "Basic !!!"}):
        assert accounts.client.get("/v1/about", headers=headers).status_code == 200
        assert accounts.client.get("/v1/health", headers=headers).status_code == 204
        assert accounts.client.get("/swagger/doc.json", headers=headers).status_code == 200


def test_revoked_token_is_refused_at_once(accounts: RunningService) -> None:
    kept = create_token(data_dir(accounts), "kept", "--scope", "receive")
    revoked = create_token(data_dir(accounts), "revoked", "--scope", "receive")
    assert poll(accounts, bearer(revoked)) == (200, [])
    assert token_cli(data_dir(accounts), "revoke", "revoked").exit_code == 0
    assert poll(accounts, bearer(revoked)) == (401, INVALID)
    assert poll(accounts, bearer(kept)) == (200, [])


def test_revoking_the_last_token_keeps_tokens_on(accounts: RunningService) -> None:
    secret = create_token(data_dir(accounts), "only", "--scope", "all")
    assert token_cli(data_dir(accounts), "revoke", "only").exit_code == 0
    assert poll(accounts, bearer(secret)) == (401, INVALID)
    assert poll(accounts, {}) == (401, {"error": NO_TOKEN})
    assert json.loads((data_dir(accounts) / TOKEN_FILE).read_text()) == {"tokens": []}


def test_tokens_off_opens_the_api_again(accounts: RunningService) -> None:
    create_token(data_dir(accounts), "admin", "--scope", "all")
    assert poll(accounts, {}) == (401, {"error": NO_TOKEN})
    assert token_cli(data_dir(accounts), "off", "--yes").exit_code == 0
    assert poll(accounts, {}) == (200, [])
    assert not (data_dir(accounts) / TOKEN_FILE).exists()


def test_service_without_a_token_file_answers_without_tokens(accounts: RunningService) -> None:
    assert poll(accounts, {}) == (200, [])
    assert poll(accounts, bearer("anything")) == (200, [])
    assert accounts.client.get("/v1/accounts").json() == [ALICE, BOB]
    assert not (data_dir(accounts) / TOKEN_FILE).exists()


def _outsider_received(service: RunningService, admin: str) -> list[str]:
    answer = service.client.get(f"/v1/sandbox/received/{OUTSIDER}", headers=bearer(admin))
    assert answer.status_code == 200, answer.text
    return [m["envelope"]["dataMessage"]["message"] for m in answer.json()]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v2/send", {"number": ALICE, "recipients": [OUTSIDER], "message": "v2"}),
        ("/v1/send", {"number": ALICE, "recipients": [OUTSIDER], "message": "v1"}),
        ("/v1/sandbox/send", {"from": ALICE, "recipients": [OUTSIDER], "message": "sandbox"}),
    ],
    ids=["v2-send", "v1-send", "sandbox-send"],
)
def test_send_refuses_a_sender_the_token_does_not_cover(
    accounts: RunningService, path: str, body: dict[str, object]
) -> None:
    admin = create_token(data_dir(accounts), "admin", "--scope", "all")
    for_bob = create_token(data_dir(accounts), "bob", "--scope", "all", "--account", BOB)
    for_alice = create_token(data_dir(accounts), "alice", "--scope", "all", "--account", ALICE)
    refused = accounts.client.post(path, json=body, headers=bearer(for_bob))
    assert (refused.status_code, refused.json()) == (
        403,
        {"error": f"This API token may not act for account {ALICE}"},
    )
    assert _outsider_received(accounts, admin) == []
    sent = accounts.client.post(path, json=body, headers=bearer(for_alice))
    assert sent.status_code == 201, sent.text
    assert _outsider_received(accounts, admin) == [body["message"]]


def test_sandbox_link_refuses_a_phone_the_token_does_not_cover(accounts: RunningService) -> None:
    for_bob = create_token(data_dir(accounts), "bob", "--scope", "admin", "--account", BOB)
    answer = accounts.client.post(
        "/v1/sandbox/link",
        json={"device_link_uri": "sgnl://linkdevice?uuid=x", "number": ALICE},
        headers=bearer(for_bob),
    )
    assert (answer.status_code, answer.json()) == (
        403,
        {"error": f"This API token may not act for account {ALICE}"},
    )


def test_accounts_lists_only_the_accounts_of_the_token(accounts: RunningService) -> None:
    everyone = create_token(data_dir(accounts), "admin", "--scope", "admin")
    for_bob = create_token(data_dir(accounts), "bob", "--scope", "admin", "--account", BOB)
    assert accounts.client.get("/v1/accounts", headers=bearer(everyone)).json() == [ALICE, BOB]
    assert accounts.client.get("/v1/accounts", headers=bearer(for_bob)).json() == [BOB]


def test_path_account_may_be_percent_encoded_twice(accounts: RunningService) -> None:
    secret = create_token(data_dir(accounts), "alice", "--scope", "receive", "--account", ALICE)
    encoded = ALICE.replace("+", "%252B")
    answer = accounts.client.get(f"/v1/receive/{encoded}?timeout=0", headers=bearer(secret))
    assert (answer.status_code, answer.json()) == (200, [])
    bob = BOB.replace("+", "%252B")
    answer = accounts.client.get(f"/v1/receive/{bob}?timeout=0", headers=bearer(secret))
    assert (answer.status_code, answer.json()) == (
        403,
        {"error": f"This API token may not act for account {BOB}"},
    )


def test_rate_limit_of_a_token_answers_429_with_retry_after(accounts: RunningService) -> None:
    limited = create_token(
        data_dir(accounts), "limited", "--scope", "receive", "--rate-limit", "3/hour"
    )
    other = create_token(data_dir(accounts), "other", "--scope", "receive")
    assert [poll(accounts, bearer(limited)) for _ in range(3)] == [(200, [])] * 3
    answer = accounts.client.get(f"/v1/receive/{ALICE}?timeout=0", headers=bearer(limited))
    assert answer.status_code == 429
    wait = int(answer.headers["Retry-After"])
    assert 1 <= wait <= 1200  # one request per 20 minutes comes back
    assert answer.json() == {
        "error": f"Rate limit of this API token exceeded (3/hour); retry in {wait} s"
    }
    assert poll(accounts, bearer(other)) == (200, [])  # a limit is per token


def test_default_rate_limit_applies_to_tokens_without_their_own(tmp_path: Path) -> None:
    service = start_service(tmp_path / "data", token_rate_limit="2/day")
    try:
        register(service.client, ALICE)
        default = create_token(tmp_path / "data", "default", "--scope", "receive")
        free = create_token(
            tmp_path / "data", "free", "--scope", "receive", "--rate-limit", "unlimited"
        )
        statuses = [poll(service, bearer(default))[0] for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert [poll(service, bearer(free))[0] for _ in range(5)] == [200] * 5
    finally:
        service.stop()


def test_broken_token_file_refuses_instead_of_opening(accounts: RunningService) -> None:
    secret = create_token(data_dir(accounts), "reader", "--scope", "receive")
    path = data_dir(accounts) / TOKEN_FILE
    good = path.read_text()
    path.write_text("{not json")
    answer = accounts.client.get(f"/v1/receive/{ALICE}", headers=bearer(secret))
    assert answer.status_code == 503
    assert answer.json()["error"].startswith("The API token file is unusable: not JSON")
    assert accounts.client.get("/v1/about").status_code == 200
    path.write_text(good)
    assert poll(accounts, bearer(secret)) == (200, [])


def _send_from_outside(service: RunningService, admin: str, text: str) -> None:
    answer = service.client.post(
        "/v1/sandbox/send",
        json={"from": OUTSIDER, "recipients": [ALICE], "message": text},
        headers=bearer(admin),
    )
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize("form", ["query", "bearer", "basic"])
def test_websocket_takes_the_token_from_the_query_or_a_header(
    accounts: RunningService, form: str
) -> None:
    admin = create_token(data_dir(accounts), "admin", "--scope", "all")
    reader = create_token(data_dir(accounts), "reader", "--scope", "receive", "--account", ALICE)
    query, headers = "?max_messages=1", {}
    if form == "query":
        query += f"&token={reader}"
    else:
        headers = bearer(reader) if form == "bearer" else basic(reader)
    with connect(f"{accounts.ws_url}/v1/receive/{ALICE}{query}", additional_headers=headers) as ws:
        _send_from_outside(accounts, admin, f"over {form}")
        frame = json.loads(ws.recv(timeout=10))
    assert frame["account"] == ALICE
    assert frame["envelope"]["dataMessage"]["message"] == f"over {form}"


@pytest.mark.parametrize(
    ("query", "status", "error"),
    [
        ("", 401, NO_TOKEN),
        ("?token=srt_000000000000_guess", 401, "Invalid or revoked API token"),
        ("?token=BOB", 403, f"This API token may not act for account {ALICE}"),
    ],
    ids=["no-token", "wrong-token", "other-account"],
)
def test_websocket_handshake_is_refused_with_the_error_body(
    accounts: RunningService, query: str, status: int, error: str
) -> None:
    for_bob = create_token(data_dir(accounts), "bob", "--scope", "receive", "--account", BOB)
    url = f"{accounts.ws_url}/v1/receive/{ALICE}{query.replace('BOB', for_bob)}"
    with pytest.raises(InvalidStatus) as refused, connect(url):
        pass
    response = refused.value.response
    assert response.status_code == status
    assert json.loads(response.body or b"") == {"error": error}


def test_open_websocket_closes_when_its_token_is_revoked(accounts: RunningService) -> None:
    admin = create_token(data_dir(accounts), "admin", "--scope", "all")
    reader = create_token(data_dir(accounts), "reader", "--scope", "receive")
    with connect(f"{accounts.ws_url}/v1/receive/{ALICE}?token={reader}") as ws:
        _send_from_outside(accounts, admin, "before")
        assert json.loads(ws.recv(timeout=10))["envelope"]["dataMessage"]["message"] == "before"
        assert token_cli(data_dir(accounts), "revoke", "reader").exit_code == 0
        _send_from_outside(accounts, admin, "after")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    # The message the revoked token did not get waits for the next consumer.
    answer = accounts.client.get(
        f"/v1/receive/{ALICE}", params={"timeout": "5"}, headers=bearer(admin)
    )
    assert [m["envelope"]["dataMessage"]["message"] for m in answer.json()] == ["after"]


def test_rate_limit_counts_start_again_when_the_service_restarts(tmp_path: Path) -> None:
    data = tmp_path / "data"
    service = start_service(data)
    try:
        register(service.client, ALICE)
        limited = create_token(data, "limited", "--scope", "receive", "--rate-limit", "1/day")
        assert [poll(service, bearer(limited))[0] for _ in range(2)] == [200, 429]
    finally:
        service.stop()
    service = start_service(data)
    try:
        assert [poll(service, bearer(limited))[0] for _ in range(2)] == [200, 429]
    finally:
        service.stop()


def test_the_service_logs_whether_tokens_are_on_at_start_and_when_the_file_changes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    path = data / TOKEN_FILE
    caplog.set_level(logging.INFO, logger="signal_rest.auth")
    service = start_service(data)
    try:
        assert said(caplog) == [("INFO", f"API tokens are off (no {path})")]
        create_token(data, "admin", "--scope", "all")
        assert service.client.get("/v1/accounts").status_code == 401
        assert said(caplog) == [("INFO", f"API tokens are on: 1 in {path}")]
        assert token_cli(data, "off", "--yes").exit_code == 0
        assert service.client.get("/v1/accounts").status_code == 200
        assert said(caplog) == [("WARNING", f"API tokens are now off: {path} was removed")]
    finally:
        service.stop()


def said(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    """The token lines logged since the last look."""
    lines = [
        (r.levelname, r.getMessage())
        for r in caplog.records
        if r.name.startswith("signal_rest.auth")
    ]
    caplog.clear()
    return lines
