"""What an account manages about itself — username, registration-lock PIN, settings, the
rate-limit captcha — and search, end to end over real HTTP on the sandbox."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.flows import ALICE, BOB, receive_until
from tests.support.service import RunningService
from tests.support.tokens import bearer, create_token

CAROL = "+4915100000003"  # an outside Signal user
DAVE = "+4915100000004"  # an outside Signal user who left Signal
LINK = re.compile(r"^https://signal\.me/#eu/[A-Za-z0-9_-]{64}$")
TOKEN = "a36f8c39-5c1b-4f7d-b5c0-572fbe928efa"
CAPTCHA = "signalcaptcha://signal-hcaptcha.5fad97ac.challenge.P1_eyJ0eXAiOiJKV1Qi"
REJECTED = (
    "Captcha rejected, it may be outdated, already used or solved from a different IP address."
)
P = "Couldn't process request - "
EMPTY = {"error": P + "the body is empty: this route needs a JSON object"}


def send(service: RunningService, sender: str, recipient: str, text: str) -> Any:
    body = {"number": sender, "recipients": [recipient], "message": text}
    return service.client.post("/v2/send", json=body)


def texts(service: RunningService, number: str, count: int) -> list[tuple[str, str]]:
    got = receive_until(service.client, number, count)
    return [(m["envelope"]["sourceNumber"], m["envelope"]["dataMessage"]["message"]) for m in got]


def search(service: RunningService, path: str, *numbers: str) -> Any:
    response = service.client.get(path, params={"numbers": list(numbers)})
    assert response.status_code == 200, response.text
    return response.json()


def number_settings(service: RunningService, number: str) -> dict[str, Any]:
    response = service.client.put(f"/v1/sandbox/numbers/{number}", json={})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# username


def test_username_is_given_a_discriminator_and_reaches_its_holder(
    accounts: RunningService,
) -> None:
    response = accounts.client.post(f"/v1/accounts/{ALICE}/username", json={"username": "ally"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body == {"username": body["username"], "username_link": body["username_link"]}
    assert re.fullmatch(r"ally\.\d{2}", body["username"]), body
    assert LINK.match(body["username_link"]), body
    username = body["username"]

    assert send(accounts, BOB, username, "hi by name").status_code == 201
    sent = accounts.client.post(
        "/v1/sandbox/send", json={"from": CAROL, "recipients": [username], "message": "hi too"}
    )
    assert sent.status_code == 201, sent.text
    assert texts(accounts, ALICE, 2) == [(BOB, "hi by name"), (CAROL, "hi too")]
    assert search(accounts, f"/v1/search/{BOB}", username, "nobody.12") == [
        {"number": username, "registered": True},
        {"number": "nobody.12", "registered": False},
    ]


def test_removed_username_no_longer_reaches_anyone(accounts: RunningService) -> None:
    response = accounts.client.post(f"/v1/accounts/{ALICE}/username", json={"username": "ally.42"})
    assert response.status_code == 201, response.text
    assert response.json()["username"] == "ally.42"

    response = accounts.client.delete(f"/v1/accounts/{ALICE}/username")
    assert (response.status_code, response.content) == (204, b"")
    response = send(accounts, BOB, "ally.42", "anyone there?")
    assert (response.status_code, response.json()) == (
        400,
        {"error": "Failed to send message (ally.42: UNREGISTERED_FAILURE)"},
    )
    assert search(accounts, f"/v1/search/{BOB}", "ally.42") == [
        {"number": "ally.42", "registered": False}
    ]


@pytest.mark.parametrize(
    ("username", "error"),
    [
        ("", "Invalid username: Name cannot be empty (CannotBeEmptyException)"),
        (
            "x!",
            "Invalid username: Nickname contains disallowed character "
            "(BadNicknameCharacterException)",
        ),
        ("carol.07", "Invalid username: Username is already registered"),
    ],
    ids=["empty", "bad-character", "taken"],
)
def test_username_refusal_names_signal_clis_reason(
    accounts: RunningService, username: str, error: str
) -> None:
    taken = accounts.client.put(f"/v1/sandbox/numbers/{CAROL}", json={"username": "carol.07"})
    assert taken.status_code == 200, taken.text
    response = accounts.client.post(f"/v1/accounts/{ALICE}/username", json={"username": username})
    assert (response.status_code, response.json()) == (400, {"error": error})


# registration-lock PIN


def test_pin_is_set_as_the_numbers_registration_lock_and_removed(
    accounts: RunningService,
) -> None:
    response = accounts.client.post(f"/v1/accounts/{ALICE}/pin", json={"pin": "1234"})
    assert (response.status_code, response.content) == (201, b"")
    # The lock the sandbox enforces at verify (tests/api/test_registration.py shows how).
    assert number_settings(accounts, ALICE) == {
        "number": ALICE,
        "registered": True,
        "requires_captcha": False,
        "registration_lock_pin": "1234",
        "username": None,
        "username_link": None,
    }
    response = accounts.client.delete(f"/v1/accounts/{ALICE}/pin")
    assert (response.status_code, response.content) == (204, b"")
    assert number_settings(accounts, ALICE)["registration_lock_pin"] is None


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"pin": ""}', {"error": "Couldn't process request - pin missing"}),
        (b"{}", {"error": "Couldn't process request - pin missing"}),
        (b'{"pin": 1234}', {"error": P + "pin must be a string, got 1234"}),
        (b"", EMPTY),
    ],
    ids=["empty", "absent", "number", "no-body"],
)
def test_pin_refuses_bad_bodies(accounts: RunningService, body: bytes, error: Any) -> None:
    response = accounts.client.post(f"/v1/accounts/{ALICE}/pin", content=body)
    assert (response.status_code, response.json()) == (400, error)
    assert number_settings(accounts, ALICE)["registration_lock_pin"] is None


# settings


def test_undiscoverable_account_is_hidden_from_others_searches(accounts: RunningService) -> None:
    path = f"/v1/accounts/{ALICE}/settings"
    response = accounts.client.put(path, json={"discoverable_by_number": False})
    assert (response.status_code, response.content) == (201, b"")
    assert search(accounts, f"/v1/search/{BOB}", ALICE, CAROL) == [
        {"number": ALICE, "registered": False},
        {"number": CAROL, "registered": True},
    ]
    assert search(accounts, f"/v1/search/{ALICE}", ALICE) == [{"number": ALICE, "registered": True}]
    # A setting left out stays as it is (the Go project would send null for it).
    response = accounts.client.put(path, json={"share_number": False})
    assert (response.status_code, response.content) == (201, b"")
    assert search(accounts, f"/v1/search/{BOB}", ALICE) == [{"number": ALICE, "registered": False}]
    response = accounts.client.put(path, json={"discoverable_by_number": True})
    assert response.status_code == 201, response.text
    assert search(accounts, f"/v1/search/{BOB}", ALICE) == [{"number": ALICE, "registered": True}]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"", EMPTY),
        (b"[]", {"error": P + "the body must be a JSON object, got a list"}),
        (
            b'{"discoverable_by_number": "no"}',
            {"error": P + 'discoverable_by_number must be true or false, got the string "no"'},
        ),
    ],
    ids=["empty", "array", "string"],
)
def test_settings_refuse_bad_bodies(accounts: RunningService, body: bytes, error: Any) -> None:
    response = accounts.client.put(f"/v1/accounts/{ALICE}/settings", content=body)
    assert (response.status_code, response.json()) == (400, error)


# rate limits


def test_rate_limited_send_answers_429_until_the_challenge_is_solved(
    accounts: RunningService,
) -> None:
    limited = accounts.client.put(f"/v1/sandbox/rate-limits/{ALICE}", json={"challenge": TOKEN})
    assert (limited.status_code, limited.json()) == (
        200,
        {"number": ALICE, "challenge": TOKEN, "retry_after_seconds": 86400},
    )
    response = send(accounts, ALICE, BOB, "too soon")
    assert (response.status_code, response.json()) == (
        429,
        {
            "error": "Failed to send message due to rate limiting. Use the attached challenge "
            "tokens to lift the rate limit restrictions via the "
            "'/v1/accounts/{number}/rate-limit-challenge' endpoint.",
            "challenge_tokens": [TOKEN],
            "account": ALICE,
        },
    )

    path = f"/v1/accounts/{ALICE}/rate-limit-challenge"
    wrong = accounts.client.post(path, json={"challenge_token": "guess", "captcha": CAPTCHA})
    assert (wrong.status_code, wrong.json()) == (400, {"error": REJECTED})
    solved = accounts.client.post(path, json={"challenge_token": TOKEN, "captcha": CAPTCHA})
    assert (solved.status_code, solved.content) == (204, b"")

    assert send(accounts, ALICE, BOB, "now it works").status_code == 201
    assert texts(accounts, BOB, 1) == [(ALICE, "now it works")]


def test_a_rate_limit_is_429_on_the_other_sending_routes_too(accounts: RunningService) -> None:
    assert send(accounts, ALICE, BOB, "before").status_code == 201
    limited = accounts.client.put(f"/v1/sandbox/rate-limits/{ALICE}", json={"challenge": TOKEN})
    assert limited.status_code == 200, limited.text
    v1 = accounts.client.post(
        "/v1/send", json={"number": ALICE, "recipients": [BOB], "message": "too soon"}
    )
    reaction = accounts.client.post(
        f"/v1/reactions/{ALICE}",
        json={
            "recipient": BOB,
            "reaction": "👍",
            "target_author": BOB,
            "timestamp": 1752436800000,
        },
    )
    refused = {
        "error": "Failed to send message due to rate limiting. Use the attached challenge "
        "tokens to lift the rate limit restrictions via the "
        "'/v1/accounts/{number}/rate-limit-challenge' endpoint.",
        "challenge_tokens": [TOKEN],
        "account": ALICE,
    }
    answers = [(r.status_code, r.json()) for r in (v1, reaction)]
    assert answers == [(429, refused), (429, refused)]
    assert texts(accounts, BOB, 1) == [(ALICE, "before")]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"captcha": CAPTCHA}, "Couldn't process request - challenge token missing"),
        ({"challenge_token": TOKEN}, "Couldn't process request - captcha missing"),
        ({"challenge_token": 5, "captcha": CAPTCHA}, P + "challenge_token must be a string, got 5"),
    ],
    ids=["no-token", "no-captcha", "token-not-string"],
)
def test_rate_limit_challenge_refuses_bad_bodies(
    accounts: RunningService, body: dict[str, Any], error: str
) -> None:
    response = accounts.client.post(f"/v1/accounts/{ALICE}/rate-limit-challenge", json=body)
    assert (response.status_code, response.json()) == (400, {"error": error})


# search


def test_search_answers_who_is_on_signal_with_or_without_an_account(
    accounts: RunningService,
) -> None:
    gone = accounts.client.put(f"/v1/sandbox/numbers/{DAVE}", json={"registered": False})
    assert gone.status_code == 200, gone.text
    expected = [
        {"number": BOB, "registered": True},
        {"number": CAROL, "registered": True},
        {"number": DAVE, "registered": False},
    ]
    assert search(accounts, f"/v1/search/{ALICE}", BOB, CAROL, DAVE) == expected
    assert search(accounts, "/v1/search", BOB, CAROL, DAVE) == expected


@pytest.mark.parametrize("path", [f"/v1/search/{ALICE}", "/v1/search"], ids=["account", "any"])
def test_search_without_numbers_is_refused(accounts: RunningService, path: str) -> None:
    response = accounts.client.get(path)
    assert (response.status_code, response.json()) == (
        400,
        {"error": "Please provide numbers to query for"},
    )


def test_search_without_any_account_says_so(service: RunningService) -> None:
    response = service.client.get("/v1/search", params={"numbers": CAROL})
    assert (response.status_code, response.json()) == (
        400,
        {
            "error": "Couldn't process request - there is no account to search with; "
            "register one first"
        },
    )


def test_search_without_an_account_searches_as_the_first_account_the_token_covers(
    accounts: RunningService,
) -> None:
    path = f"/v1/accounts/{ALICE}/settings"
    response = accounts.client.put(path, json={"discoverable_by_number": False})
    assert (response.status_code, response.content) == (201, b"")
    # ALICE finds herself; to BOB she is hidden: the answer tells who searched.
    assert search(accounts, "/v1/search", ALICE) == [{"number": ALICE, "registered": True}]
    bobs = bearer(
        create_token(accounts.settings.data_dir, "bob", "--scope", "all", "--account", BOB)
    )
    response = accounts.client.get("/v1/search", params={"numbers": [ALICE]}, headers=bobs)
    assert (response.status_code, response.json()) == (
        200,
        [{"number": ALICE, "registered": False}],
    )


def test_search_keeps_the_order_asked_and_looks_up_usernames_and_their_links(
    accounts: RunningService,
) -> None:
    named = accounts.client.post(f"/v1/accounts/{ALICE}/username", json={"username": "ally"})
    assert named.status_code == 201, named.text
    link = named.json()["username_link"]
    gone = accounts.client.put(f"/v1/sandbox/numbers/{DAVE}", json={"registered": False})
    assert gone.status_code == 200, gone.text
    assert search(accounts, f"/v1/search/{BOB}", DAVE, link, "nobody.12", CAROL) == [
        {"number": DAVE, "registered": False},
        {"number": link, "registered": True},
        {"number": "nobody.12", "registered": False},
        {"number": CAROL, "registered": True},
    ]


def _register_again(client: Any, number: str) -> str:
    """Unregister `number` (local data gone) and request a new code: the verify path."""
    response = client.post(f"/v1/unregister/{number}", json={"delete_local_data": True})
    assert (response.status_code, response.content) == (204, b""), response.text
    response = client.post(f"/v1/register/{number}")
    assert response.status_code == 201, response.text
    code = client.get(f"/v1/sandbox/verification-code/{number}").json()["code"]
    return f"/v1/register/{number}/verify/{code}"


def test_registering_again_needs_the_pin_set_over_rest(accounts: RunningService) -> None:
    client = accounts.client
    assert client.post(f"/v1/accounts/{ALICE}/pin", json={"pin": "1234"}).status_code == 201
    verify = _register_again(client, ALICE)

    response = client.post(verify)
    assert (response.status_code, response.json()) == (
        400,
        {
            "error": "Verification failed! This number is locked with a pin. Hours remaining "
            "until reset: 168\nUse '--pin PIN_CODE' to specify the registration lock PIN"
        },
    )
    assert client.get("/v1/accounts").json() == [BOB]
    response = client.post(verify, json={"pin": "1234"})
    assert (response.status_code, response.content) == (201, b"")
    assert client.get("/v1/accounts").json() == [BOB, ALICE]


def test_registering_again_after_the_pin_was_removed_needs_none(accounts: RunningService) -> None:
    client = accounts.client
    assert client.post(f"/v1/accounts/{ALICE}/pin", json={"pin": "1234"}).status_code == 201
    assert client.delete(f"/v1/accounts/{ALICE}/pin").status_code == 204
    response = client.post(_register_again(client, ALICE))
    assert (response.status_code, response.content) == (201, b"")
    assert client.get("/v1/accounts").json() == [BOB, ALICE]
