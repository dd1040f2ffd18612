"""Identity keys and trust on the sandbox, in signal-cli's JSON-RPC shapes and texts."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from signal_rest.sandbox import identities

from .client import LineClient
from .conftest import Sandbox, make_account

ALICE = "+14155550100"  # local
BOB = "+14155550101"  # local
CAROL = "+14155550102"  # outside user
DAVE = "+14155550103"  # outside user

FINGERPRINT = re.compile(r"^05( [0-9a-f]{2}){32}$")
SAFETY_NUMBER = re.compile(r"^[0-9]{5}( [0-9]{5}){11}$")
WRONG_CODE = (
    "Failed to set the trust for this number, make sure the number and the "
    "fingerprint/safety number are correct."
)


def err(code: int, message: str, data: Any = None) -> dict[str, Any]:
    return {"code": code, "message": message, "data": data}


def identity(got: dict[str, Any], number: str, level: str) -> dict[str, Any]:
    """A whole listIdentities item, what only the network knows checked by shape."""
    assert FINGERPRINT.match(got["fingerprint"]), got
    assert SAFETY_NUMBER.match(got["safetyNumber"]), got
    assert len(base64.b64decode(got["scannableSafetyNumber"])) == 74, got
    return {
        "number": number,
        "uuid": got["uuid"],
        "fingerprint": got["fingerprint"],
        "safetyNumber": got["safetyNumber"],
        "scannableSafetyNumber": got["scannableSafetyNumber"],
        "trustLevel": level,
        "addedTimestamp": got["addedTimestamp"],
    }


async def listed(rpc: LineClient, number: str) -> dict[str, Any]:
    found = await rpc.call("listIdentities", {"account": ALICE, "number": number})
    assert len(found) == 1, found
    return dict(found[0])


async def hi(rpc: LineClient, recipient: str) -> dict[str, Any]:
    response = await rpc.request(
        "send", {"account": ALICE, "recipient": [recipient], "message": "hi"}
    )
    return dict(response)


async def test_list_identities_shows_the_own_key_first_then_each_contact(
    rpc: LineClient,
) -> None:
    await make_account(rpc, ALICE)
    await rpc.call("send", {"account": ALICE, "recipient": CAROL, "message": "hi"})

    found = await rpc.call("listIdentities", {"account": ALICE})

    assert found == [
        identity(found[0], ALICE, "TRUSTED_VERIFIED"),
        identity(found[1], CAROL, "TRUSTED_UNVERIFIED"),
    ]
    assert await rpc.call("listIdentities", {"account": ALICE, "number": CAROL}) == [found[1]]
    assert await rpc.call("listIdentities", {"account": ALICE, "number": DAVE}) == []


async def test_safety_numbers_are_the_same_from_both_sides(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    await make_account(rpc, BOB)
    await rpc.call("send", {"account": ALICE, "recipient": BOB, "message": "hi"})
    await rpc.call("send", {"account": BOB, "recipient": ALICE, "message": "hi"})

    alices = await listed(rpc, BOB)
    bobs = (await rpc.call("listIdentities", {"account": BOB, "number": ALICE}))[0]

    assert alices["safetyNumber"] == bobs["safetyNumber"]
    # The scannable codes hold the same two halves, each side's own first.
    mine, theirs = (base64.b64decode(x["scannableSafetyNumber"]) for x in (alices, bobs))
    assert (mine[6:38], mine[42:74]) == (theirs[42:74], theirs[6:38])


async def test_send_to_a_reinstalled_user_fails_with_the_untrusted_error(
    rpc: LineClient,
) -> None:
    await make_account(rpc, ALICE)
    await rpc.call("send", {"account": ALICE, "recipient": CAROL, "message": "hi"})
    await rpc.call("sandbox.reinstall", {"number": CAROL})

    response = await hi(rpc, CAROL)

    error = response["error"]
    outcome = error["data"]["response"]
    assert error == err(
        -4,
        "Failed to send message due to untrusted identities",
        {
            "response": {
                "timestamp": outcome["timestamp"],
                "results": [
                    {
                        "recipientAddress": {
                            "uuid": (await listed(rpc, CAROL))["uuid"],
                            "number": CAROL,
                            "username": None,
                        },
                        "type": "IDENTITY_FAILURE",
                    }
                ],
            }
        },
    )
    assert (await listed(rpc, CAROL))["trustLevel"] == "UNTRUSTED"


async def test_a_message_from_a_reinstalled_user_arrives_as_an_exception(
    rpc: LineClient,
) -> None:
    await make_account(rpc, ALICE)
    await rpc.call("send", {"account": ALICE, "recipient": CAROL, "message": "hi"})
    await rpc.call("receive", {"account": ALICE, "timeout": 0})  # the delivery receipt
    await rpc.call("sandbox.reinstall", {"number": CAROL})
    sent = await rpc.call("sandbox.send", {"from": CAROL, "recipient": ALICE, "message": "x"})

    got = await rpc.call("receive", {"account": ALICE, "timeout": 0})

    envelope = got[0]["envelope"]
    carol = (await listed(rpc, CAROL))["uuid"]
    assert got == [
        {
            "account": ALICE,
            "exception": {
                "message": f"Untrusted identity: {carol}",
                "type": "UntrustedIdentityException",
            },
            "envelope": {
                "source": CAROL,
                "sourceNumber": CAROL,
                "sourceUuid": carol,
                "sourceName": None,
                "sourceDevice": 1,
                "timestamp": sent["timestamp"],
                "serverReceivedTimestamp": envelope["serverReceivedTimestamp"],
                "serverDeliveredTimestamp": envelope["serverDeliveredTimestamp"],
            },
        }
    ]


@pytest.mark.parametrize("form", ["spaced", "digits", "fingerprint", "scanned"])
async def test_trust_verifies_every_form_signal_cli_parses(
    sandbox: Sandbox, rpc: LineClient, form: str
) -> None:
    await make_account(rpc, ALICE)
    await rpc.call("send", {"account": ALICE, "recipient": CAROL, "message": "hi"})
    await rpc.call("sandbox.reinstall", {"number": CAROL})
    await hi(rpc, CAROL)
    entry = await listed(rpc, CAROL)
    assert sandbox.daemon is not None
    network = sandbox.daemon.network
    digits, scannable = identities.safety_numbers(
        network, ALICE, CAROL, identities.key_of(network, CAROL)
    )
    # What CAROL's phone shows has the halves the other way round: version, then
    # localFingerprint (field 2) and remoteFingerprint (field 3), each {content: 32 bytes}.
    assert scannable[:6] == b"\x08\x02\x12\x22\x0a\x20" and scannable[38:42] == b"\x1a\x22\x0a\x20"
    scanned = scannable[:2] + b"\x12\x22" + scannable[40:74] + b"\x1a\x22" + scannable[4:38]
    code = {
        "spaced": entry["safetyNumber"],
        "digits": digits,
        "fingerprint": entry["fingerprint"].replace(" ", "").upper(),
        "scanned": base64.b64encode(scanned).decode(),
    }[form]

    assert (
        await rpc.call(
            "trust", {"account": ALICE, "recipient": CAROL, "verifiedSafetyNumber": code}
        )
        == {}
    )
    assert await listed(rpc, CAROL) == {**entry, "trustLevel": "TRUSTED_VERIFIED"}
    assert "result" in await hi(rpc, CAROL)


@pytest.mark.parametrize(
    ("params", "error"),
    [
        (
            {},
            err(
                -32603,
                'Cannot invoke "String.startsWith(String)" because "identifier" is null '
                "(NullPointerException)",
            ),
        ),
        (
            {"recipient": CAROL},
            err(
                -1,
                "You need to specify the fingerprint/safety number you have verified with "
                "-v SAFETY_NUMBER",
            ),
        ),
        (
            {"recipient": CAROL, "verifiedSafetyNumber": "!!"},
            err(
                -1,
                "Safety number has invalid format, either specify the old hex fingerprint or the "
                "new safety number",
            ),
        ),
        ({"recipient": CAROL, "verifiedSafetyNumber": "1" * 60}, err(-1, WRONG_CODE)),
        ({"recipient": CAROL, "verified-safety-number": "AAAA"}, err(-1, WRONG_CODE)),
        (
            {"recipient": DAVE, "trustAllKnownKeys": True},
            err(-1, "Failed to set the trust for this number, make sure the number is correct."),
        ),
        (
            {"recipient": CAROL, "trustAllKnownKeys": "yes"},
            err(
                -32603,
                "class java.lang.String cannot be cast to class java.lang.Boolean "
                "(java.lang.String and java.lang.Boolean are in module java.base of loader "
                "'bootstrap') "
                "(ClassCastException)",
            ),
        ),
        (
            {"recipient": "nope", "trustAllKnownKeys": True},
            err(
                -1,
                "Invalid phone number 'nope': The string supplied did not seem to be a phone "
                "number.",
            ),
        ),
    ],
    ids=[
        "no_recipient",
        "no_code",
        "malformed_code",
        "wrong_safety_number",
        "wrong_scanned_code",
        "never_seen",
        "flag_not_boolean",
        "bad_recipient",
    ],
)
async def test_trust_refuses_with_signal_clis_texts(
    rpc: LineClient, params: dict[str, Any], error: dict[str, Any]
) -> None:
    await make_account(rpc, ALICE)
    await rpc.call("send", {"account": ALICE, "recipient": CAROL, "message": "hi"})

    assert await rpc.error("trust", {"account": ALICE, **params}) == error


@pytest.mark.parametrize(
    ("mode", "first", "changed"),
    [
        ("on-first-use", "TRUSTED_UNVERIFIED", "UNTRUSTED"),
        ("always", "TRUSTED_UNVERIFIED", "TRUSTED_UNVERIFIED"),
        ("never", "UNTRUSTED", "UNTRUSTED"),
    ],
)
async def test_trust_modes_decide_as_trust_new_identities(
    rpc: LineClient, mode: str, first: str, changed: str
) -> None:
    await make_account(rpc, ALICE)
    assert await rpc.call("sandbox.setTrustMode", {"account": ALICE, "mode": mode}) == {
        "account": ALICE,
        "mode": mode,
    }

    first_send = await hi(rpc, CAROL)
    first_level = (await listed(rpc, CAROL))["trustLevel"]
    await rpc.call("trust", {"account": ALICE, "recipient": CAROL, "trustAllKnownKeys": True})
    await rpc.call("sandbox.reinstall", {"number": CAROL})
    changed_send = await hi(rpc, CAROL)

    assert (first_level, (await listed(rpc, CAROL))["trustLevel"]) == (first, changed)
    assert ("result" in first_send, "result" in changed_send) == (
        mode != "never",
        mode == "always",
    )


async def test_reinstall_and_trust_mode_refuse_unknown_numbers(rpc: LineClient) -> None:
    await rpc.call("sandbox.setNumber", {"number": DAVE, "registered": False})

    assert await rpc.error("sandbox.reinstall", {"number": DAVE}) == err(
        -1, f"The user {DAVE} is not registered."
    )
    assert await rpc.error("sandbox.setTrustMode", {"account": CAROL, "mode": "always"}) == err(
        -1, "Specified account does not exist"
    )


async def test_group_send_skips_a_reinstalled_member_with_an_identity_failure(
    rpc: LineClient,
) -> None:
    await make_account(rpc, ALICE)
    group = await rpc.call("updateGroup", {"account": ALICE, "name": "g", "member": [CAROL, DAVE]})
    gid = group["groupId"]
    await rpc.call("sandbox.reinstall", {"number": CAROL})

    sent = await rpc.call("send", {"account": ALICE, "groupId": gid, "message": "hi"})

    kinds = {r["recipientAddress"]["number"]: (r["type"], r["groupId"]) for r in sent["results"]}
    assert kinds == {CAROL: ("IDENTITY_FAILURE", gid), DAVE: ("SUCCESS", gid)}
