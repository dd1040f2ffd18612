"""Registering and verifying numbers end to end, over real HTTP, on the sandbox."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.service import RunningService

ALICE = "+4915100000001"
CAPTCHA_REQUIRED = (
    "Captcha required for verification, use --captcha CAPTCHA\n"
    "To get the token, go to https://signalcaptchas.org/registration/generate.html\n"
    'After solving the captcha, right-click on the "Open Signal" link and copy the link.'
)
LOCKED = (
    "Verification failed! This number is locked with a pin. Hours remaining until reset: 168\n"
    "Use '--pin PIN_CODE' to specify the registration lock PIN"
)
TOKEN = "signal-hcaptcha.5fad97ac.registration.P1_abc"


def sent_code(service: RunningService, number: str) -> dict[str, Any]:
    response = service.client.get(f"/v1/sandbox/verification-code/{number}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert re.fullmatch(r"\d{6}", body["code"]), body
    return body


def set_number(service: RunningService, number: str, **settings: Any) -> None:
    response = service.client.put(f"/v1/sandbox/numbers/{number}", json=settings)
    assert response.status_code == 200, response.text


def assert_created(response: Any) -> None:
    assert (response.status_code, response.content) == (201, b""), response.text


def accounts(service: RunningService) -> Any:
    response = service.client.get("/v1/accounts")
    assert response.status_code == 200, response.text
    return response.json()


def test_register_sends_sms_then_voice_code(service: RunningService) -> None:
    assert_created(service.client.post(f"/v1/register/{ALICE}"))
    sms = sent_code(service, ALICE)
    assert sms == {"number": ALICE, "code": sms["code"], "transport": "sms"}

    assert_created(service.client.post(f"/v1/register/{ALICE}", json={"use_voice": True}))
    voice = sent_code(service, ALICE)
    assert voice == {"number": ALICE, "code": voice["code"], "transport": "voice"}
    assert accounts(service) == []


def test_register_accepts_percent_encoded_number(service: RunningService) -> None:
    assert_created(service.client.post("/v1/register/%2B4915100000001", content=b""))
    assert sent_code(service, ALICE)["transport"] == "sms"


def test_register_voice_without_sms_first_is_refused(service: RunningService) -> None:
    response = service.client.post(f"/v1/register/{ALICE}", json={"use_voice": True})
    assert (response.status_code, response.json()) == (
        400,
        {
            "error": "Failed to register: Invalid verification method: Before requesting voice "
            "verification you need to request SMS verification and wait a minute."
        },
    )


P = "Couldn't process request - "
BAD_BODIES = [
    pytest.param(
        "register",
        b"{not json",
        P + "invalid JSON at line 1, column 2: Expecting property name enclosed in double quotes",
        id="register-malformed",
    ),
    pytest.param(
        "register",
        b"[1]",
        P + "the body must be a JSON object, got a list",
        id="register-array",
    ),
    pytest.param(
        "register",
        b'"x"',
        P + 'the body must be a JSON object, got the string "x"',
        id="register-string",
    ),
    pytest.param(
        "register",
        b'{"use_voice": "yes"}',
        P + 'use_voice must be true or false, got the string "yes"',
        id="register-string-for-bool",
    ),
    pytest.param(
        "register",
        b'{"captcha": 5}',
        P + "captcha must be a string, got 5",
        id="register-number-for-string",
    ),
    pytest.param(
        "verify",
        b'{\n  "pin": 1234,,\n}',
        P + "invalid JSON at line 2, column 15: Expecting property name enclosed in double quotes",
        id="verify-malformed",
    ),
    pytest.param(
        "verify", b"[1]", P + "the body must be a JSON object, got a list", id="verify-array"
    ),
    pytest.param(
        "verify",
        b'{"pin": 1234}',
        P + "pin must be a string, got 1234",
        id="verify-number-for-string",
    ),
    pytest.param(
        "verify",
        b'{"pin": ["1234"]}',
        P + "pin must be a string, got a list",
        id="verify-list-for-string",
    ),
]


@pytest.mark.parametrize(("route", "body", "error"), BAD_BODIES)
def test_register_and_verify_say_what_is_wrong_with_a_body(
    service: RunningService, route: str, body: bytes, error: str
) -> None:
    path = f"/v1/register/{ALICE}" + ("/verify/123-456" if route == "verify" else "")
    response = service.client.post(path, content=body)
    assert (response.status_code, response.json()) == (400, {"error": error})
    assert response.headers["content-type"] == "application/json"
    assert accounts(service) == []


def test_register_requires_captcha_when_the_network_demands_it(service: RunningService) -> None:
    set_number(service, ALICE, requires_captcha=True)
    response = service.client.post(f"/v1/register/{ALICE}")
    assert (response.status_code, response.json()) == (400, {"error": CAPTCHA_REQUIRED})
    assert response.json()["error"].startswith("Captcha required for verification")
    missing = service.client.get(f"/v1/sandbox/verification-code/{ALICE}")
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "captcha", [f"signalcaptcha://{TOKEN}", TOKEN], ids=["with-scheme", "bare-token"]
)
def test_register_with_captcha_succeeds_by_sms_and_voice(
    service: RunningService, captcha: str
) -> None:
    set_number(service, ALICE, requires_captcha=True)
    assert_created(service.client.post(f"/v1/register/{ALICE}", json={"captcha": captcha}))
    assert sent_code(service, ALICE)["transport"] == "sms"
    body = {"captcha": captcha, "use_voice": True}
    assert_created(service.client.post(f"/v1/register/{ALICE}", json=body))
    assert sent_code(service, ALICE)["transport"] == "voice"


@pytest.mark.parametrize("dashed", [True, False], ids=["123-456", "123456"])
def test_verify_accepts_code_with_and_without_dash(service: RunningService, dashed: bool) -> None:
    assert_created(service.client.post(f"/v1/register/{ALICE}"))
    code = sent_code(service, ALICE)["code"]
    token = f"{code[:3]}-{code[3:]}" if dashed else code
    assert_created(service.client.post(f"/v1/register/{ALICE}/verify/{token}"))
    assert accounts(service) == [ALICE]
    # The code is used up.
    assert service.client.get(f"/v1/sandbox/verification-code/{ALICE}").status_code == 404


def test_verify_rejects_a_wrong_code(service: RunningService) -> None:
    assert_created(service.client.post(f"/v1/register/{ALICE}"))
    code = sent_code(service, ALICE)["code"]
    wrong = "000000" if code != "000000" else "111111"
    response = service.client.post(f"/v1/register/{ALICE}/verify/{wrong}")
    assert (response.status_code, response.json()) == (
        400,
        {"error": "Verify error: [403] Authorization failed!"},
    )
    assert accounts(service) == []


NO_REGISTRATION = {
    "error": f"No registration is pending for {ALICE}: request a code with "
    f"POST /v1/register/{ALICE} first; a code works once"
}


def test_verify_without_register_says_to_request_a_code_first(service: RunningService) -> None:
    response = service.client.post(f"/v1/register/{ALICE}/verify/123456")
    assert (response.status_code, response.json()) == (400, NO_REGISTRATION)
    assert accounts(service) == []


def test_verify_with_a_code_used_before_says_a_code_works_once(service: RunningService) -> None:
    assert_created(service.client.post(f"/v1/register/{ALICE}"))
    code = sent_code(service, ALICE)["code"]
    assert_created(service.client.post(f"/v1/register/{ALICE}/verify/{code}"))
    response = service.client.post(f"/v1/register/{ALICE}/verify/{code}")
    assert (response.status_code, response.json()) == (400, NO_REGISTRATION)
    assert accounts(service) == [ALICE]


def test_verify_honours_the_registration_lock(service: RunningService) -> None:
    set_number(service, ALICE, registration_lock_pin="1234")
    assert_created(service.client.post(f"/v1/register/{ALICE}"))
    code = sent_code(service, ALICE)["code"]
    path = f"/v1/register/{ALICE}/verify/{code}"

    response = service.client.post(path)
    assert (response.status_code, response.json()) == (400, {"error": LOCKED})
    response = service.client.post(path, json={"pin": "0000"})
    assert (response.status_code, response.json()) == (
        400,
        {"error": "Verification failed! Invalid pin, tries remaining: 9"},
    )
    assert accounts(service) == []

    assert_created(service.client.post(path, json={"pin": "1234"}))
    assert accounts(service) == [ALICE]


def test_register_again_after_verify_is_refused(service: RunningService) -> None:
    assert_created(service.client.post(f"/v1/register/{ALICE}"))
    code = sent_code(service, ALICE)["code"]
    assert_created(service.client.post(f"/v1/register/{ALICE}/verify/{code}"))
    response = service.client.post(f"/v1/register/{ALICE}")
    assert (response.status_code, response.json()) == (
        400,
        {"error": "Failed to register: Account is already registered (IOException)"},
    )


def test_register_rejects_a_number_without_country_code(service: RunningService) -> None:
    response = service.client.post("/v1/register/015100000001")
    assert (response.status_code, response.json()) == (
        400,
        {"error": "Invalid account (phone number), make sure you include the country code."},
    )


@pytest.mark.parametrize(
    ("number", "status", "error"),
    [
        (ALICE, 404, f"No verification code pending for {ALICE}"),
        ("abc", 400, "Invalid number 'abc': expected E.164, e.g. +14155550100"),
    ],
    ids=["none-sent", "not-a-number"],
)
def test_sandbox_verification_code_errors(
    service: RunningService, number: str, status: int, error: str
) -> None:
    response = service.client.get(f"/v1/sandbox/verification-code/{number}")
    assert (response.status_code, response.json()) == (status, {"error": error})


def test_accounts_is_an_empty_list_at_first(service: RunningService) -> None:
    response = service.client.get("/v1/accounts")
    assert (response.status_code, response.json()) == (200, [])
    assert response.headers["content-type"] == "application/json"
