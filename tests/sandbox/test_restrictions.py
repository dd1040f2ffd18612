"""Registration-lock PINs, discoverability and rate limits on the sandbox, as signal-cli 0.13.19
answers for them."""

from __future__ import annotations

import asyncio
from typing import Any

from .client import LineClient
from .conftest import make_account

ALICE = "+14155550100"  # local
BOB = "+14155550101"  # local
CAROL = "+14155550102"  # outside user
TOKEN = "a36f8c39-5c1b-4f7d-b5c0-572fbe928efa"
CAPTCHA = "signalcaptcha://signal-hcaptcha.5fad97ac.challenge.P1_eyJ0eXAiOiJKV1Qi"
LOCKED = (
    "Verification failed! This number is locked with a pin. Hours remaining until reset: 168\n"
    "Use '--pin PIN_CODE' to specify the registration lock PIN"
)
REJECTED = (
    "Captcha rejected, it may be outdated, already used or solved from a different IP address."
)


def err(code: int, message: str, data: Any = None) -> dict[str, Any]:
    return {"code": code, "message": message, "data": data}


async def reregister(rpc: LineClient, number: str) -> str:
    assert await rpc.call("register", {"account": number, "reregister": True}) == {}
    code = await rpc.call("sandbox.getVerificationCode", {"number": number})
    return str(code["code"])


async def test_set_pin_locks_the_next_registration_until_removed(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    assert await rpc.call("setPin", {"account": ALICE, "pin": "1234"}) == {}

    code = await reregister(rpc, ALICE)
    verify = {"account": ALICE, "verificationCode": code}
    assert await rpc.error("verify", verify) == err(-1, LOCKED)
    assert await rpc.error("verify", {**verify, "pin": "9999"}) == err(
        -1, "Verification failed! Invalid pin, tries remaining: 9"
    )
    assert await rpc.call("verify", {**verify, "pin": "1234"}) == {}

    assert await rpc.call("removePin", {"account": ALICE}) == {}
    code = await reregister(rpc, ALICE)
    assert await rpc.call("verify", {"account": ALICE, "verificationCode": code}) == {}


async def test_set_pin_without_pin_fails_like_optional_of_null(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    assert await rpc.error("setPin", {"account": ALICE}) == err(
        -32603, "null (NullPointerException)"
    )


async def test_undiscoverable_account_is_not_found_by_number_by_others(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    await make_account(rpc, BOB)
    update = {"account": BOB, "discoverable-by-number": False, "number-sharing": False}
    assert await rpc.call("updateAccount", update) == {}

    hidden = await rpc.call("getUserStatus", {"account": ALICE, "recipient": [BOB, CAROL]})
    assert hidden == [
        {"recipient": BOB, "number": BOB, "uuid": None, "isRegistered": False},
        {"recipient": CAROL, "number": CAROL, "uuid": hidden[1]["uuid"], "isRegistered": True},
    ]
    own = await rpc.call("getUserStatus", {"account": BOB, "recipient": BOB})
    assert own == [{"recipient": BOB, "number": BOB, "uuid": own[0]["uuid"], "isRegistered": True}]

    assert await rpc.call("updateAccount", {"account": BOB, "discoverableByNumber": True}) == {}
    found = await rpc.call("getUserStatus", {"account": ALICE, "recipient": [BOB]})
    assert found == [
        {"recipient": BOB, "number": BOB, "uuid": own[0]["uuid"], "isRegistered": True}
    ]


async def test_rate_limited_account_sends_nothing_until_it_solves_the_captcha(
    rpc: LineClient,
) -> None:
    await make_account(rpc, ALICE)
    limit = await rpc.call("sandbox.rateLimit", {"number": ALICE, "challenge": TOKEN})
    assert limit == {"number": ALICE, "challenge": TOKEN, "retryAfterSeconds": 86400}
    carol = (await rpc.call("getUserStatus", {"account": ALICE, "recipient": CAROL}))[0]["uuid"]

    failed = await rpc.error("send", {"account": ALICE, "recipient": CAROL, "message": "hi"})
    response = failed["data"]["response"]
    assert failed == err(
        -5,
        "Failed to send message due to rate limiting",
        {
            "response": {
                "timestamp": response["timestamp"],
                "results": [
                    {
                        "recipientAddress": {"uuid": carol, "number": CAROL, "username": None},
                        "type": "RATE_LIMIT_FAILURE",
                        "token": TOKEN,
                        "retryAfterSeconds": 86400,
                    }
                ],
            }
        },
    )
    assert await rpc.call("sandbox.listReceived", {"number": CAROL}) == []

    challenge = {"account": ALICE, "challenge": "wrong-token", "captcha": CAPTCHA}
    assert await rpc.error("submitRateLimitChallenge", challenge) == err(-1, REJECTED)
    no_captcha = {"account": ALICE, "challenge": TOKEN}
    assert await rpc.error("submitRateLimitChallenge", no_captcha) == err(-1, REJECTED)
    assert await rpc.call("submitRateLimitChallenge", {**challenge, "challenge": TOKEN}) == {}
    # A token is good once.
    assert await rpc.error("submitRateLimitChallenge", {**challenge, "challenge": TOKEN}) == err(
        -1, REJECTED
    )

    sent = await rpc.call("send", {"account": ALICE, "recipient": CAROL, "message": "hi"})
    assert [r["type"] for r in sent["results"]] == ["SUCCESS"]
    received = await rpc.call("sandbox.listReceived", {"number": CAROL})
    assert [m["envelope"]["dataMessage"]["message"] for m in received] == ["hi"]


async def test_rate_limit_without_a_challenge_hands_out_a_new_token(rpc: LineClient) -> None:
    limit = await rpc.call("sandbox.rateLimit", {"number": ALICE})
    assert limit == {"number": ALICE, "challenge": limit["challenge"], "retryAfterSeconds": 86400}
    assert len(limit["challenge"]) == 36
    assert await rpc.error("sandbox.rateLimit", {"number": "123"}) == err(
        -1, "number must be an E.164 number, e.g. +14155550100"
    )


async def test_rate_limit_holds_for_usernames_and_groups_but_not_notes_to_self(
    rpc: LineClient,
) -> None:
    await make_account(rpc, ALICE)
    await make_account(rpc, BOB)
    await rpc.call("updateAccount", {"account": BOB, "username": "bob.42"})
    [bob] = await rpc.call("getUserStatus", {"account": BOB, "recipient": BOB})
    [carol] = await rpc.call("getUserStatus", {"account": ALICE, "recipient": CAROL})
    created = await rpc.call("updateGroup", {"account": ALICE, "name": "G", "member": [CAROL]})
    gid = created["groupId"]
    before = await rpc.call("sandbox.listReceived", {"number": CAROL})
    await rpc.call("sandbox.rateLimit", {"number": ALICE, "challenge": TOKEN})
    failure = {"type": "RATE_LIMIT_FAILURE", "token": TOKEN, "retryAfterSeconds": 86400}

    by_name = await rpc.error("send", {"account": ALICE, "username": "bob.42", "message": "x"})
    assert (by_name["code"], by_name["data"]["response"]["results"]) == (
        -5,
        [
            {
                "recipientAddress": {"uuid": bob["uuid"], "number": None, "username": "bob.42"},
                **failure,
            }
        ],
    )
    to_group = await rpc.error("send", {"account": ALICE, "groupId": gid, "message": "x"})
    address = {"uuid": carol["uuid"], "number": CAROL, "username": None}
    assert (to_group["code"], to_group["data"]["response"]["results"]) == (
        -5,
        [{"recipientAddress": address, "groupId": gid, **failure}],
    )
    assert await rpc.call("receive", {"account": BOB, "timeout": 0}) == []
    assert await rpc.call("sandbox.listReceived", {"number": CAROL}) == before

    to_self = await rpc.call("send", {"account": ALICE, "noteToSelf": True, "message": "memo"})
    assert [r["type"] for r in to_self["results"]] == ["SUCCESS"]


async def test_a_linked_device_can_neither_set_nor_remove_the_pin(rpc: LineClient) -> None:
    uri = (await rpc.call("startLink"))["deviceLinkUri"]
    finishing = asyncio.create_task(rpc.call("finishLink", {"deviceLinkUri": uri}))
    assert await rpc.call("sandbox.scanLink", {"deviceLinkUri": uri, "number": ALICE}) == {}
    assert await finishing == {"number": ALICE}

    linked = err(-1, "This command doesn't work on linked devices.")
    assert await rpc.error("setPin", {"account": ALICE, "pin": "1234"}) == linked
    assert await rpc.error("removePin", {"account": ALICE}) == linked
    settings = await rpc.call("sandbox.setNumber", {"number": ALICE})
    assert settings["registrationLockPin"] is None
