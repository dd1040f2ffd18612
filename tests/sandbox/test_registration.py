from __future__ import annotations

import asyncio
import re
from urllib.parse import parse_qs, urlparse

from .client import LineClient
from .conftest import Sandbox, make_account

NUMBER = "+14155550100"
CAPTCHA_TEXT = (
    "Captcha required for verification, use --captcha CAPTCHA\n"
    "To get the token, go to https://signalcaptchas.org/registration/generate.html\n"
    'After solving the captcha, right-click on the "Open Signal" link and copy the link.'
)


def err(code: int, message: str) -> dict[str, object]:
    return {"code": code, "message": message, "data": None}


async def test_register_and_verify_adds_local_account(rpc: LineClient) -> None:
    assert await rpc.call("register", {"account": NUMBER}) == {}
    code = await rpc.call("sandbox.getVerificationCode", {"number": NUMBER})
    assert code["number"] == NUMBER and code["transport"] == "sms"
    assert re.fullmatch(r"\d{6}", code["code"])
    dashed = code["code"][:3] + "-" + code["code"][3:]
    assert await rpc.call("verify", {"account": NUMBER, "verificationCode": dashed}) == {}
    assert await rpc.call("listAccounts") == [{"number": NUMBER}]
    assert await rpc.error("sandbox.getVerificationCode", {"number": NUMBER}) == err(
        -1, f"No verification code pending for {NUMBER}"
    )
    devices = await rpc.call("listDevices", {"account": NUMBER})
    assert [(d["id"], d["name"]) for d in devices] == [(1, None)]


async def test_register_rejects_registered_account_without_reregister(rpc: LineClient) -> None:
    await make_account(rpc, NUMBER)
    assert await rpc.error("register", {"account": NUMBER}) == err(
        -3, "Failed to register: Account is already registered (IOException)"
    )
    assert await rpc.call("register", {"account": NUMBER, "reregister": True}) == {}


async def test_register_requires_captcha_when_number_demands_it(rpc: LineClient) -> None:
    settings = await rpc.call("sandbox.setNumber", {"number": NUMBER, "requiresCaptcha": True})
    assert settings == {
        "number": NUMBER,
        "registered": True,
        "requiresCaptcha": True,
        "registrationLockPin": None,
        "username": None,
        "usernameLink": None,
    }
    assert await rpc.error("register", {"account": NUMBER}) == err(-1, CAPTCHA_TEXT)
    token = "signalcaptcha://signal-hcaptcha.5fad97ac.registration.P1_abc"
    assert await rpc.call("register", {"account": NUMBER, "captcha": token}) == {}
    assert await rpc.call("register", {"account": NUMBER, "captcha": "P1_abc", "voice": True}) == {}
    code = await rpc.call("sandbox.getVerificationCode", {"number": NUMBER})
    assert code["transport"] == "voice"


async def test_register_voice_needs_sms_first(rpc: LineClient) -> None:
    assert await rpc.error("register", {"account": NUMBER, "voice": True}) == err(
        -1,
        "Failed to register: Invalid verification method: Before requesting voice verification "
        "you need to request SMS verification and wait a minute.",
    )


async def test_verify_wrong_code_and_registration_lock(rpc: LineClient) -> None:
    await rpc.call("sandbox.setNumber", {"number": NUMBER, "registrationLockPin": "1234"})
    await rpc.call("register", {"account": NUMBER})
    code = (await rpc.call("sandbox.getVerificationCode", {"number": NUMBER}))["code"]
    wrong = "000000" if code != "000000" else "111111"
    assert await rpc.error("verify", {"account": NUMBER, "verificationCode": wrong}) == err(
        -3, "Verify error: [403] Authorization failed!"
    )
    assert await rpc.error("verify", {"account": NUMBER, "verificationCode": code}) == err(
        -1,
        "Verification failed! This number is locked with a pin. Hours remaining until reset: "
        "168\nUse '--pin PIN_CODE' to specify the registration lock PIN",
    )
    params = {"account": NUMBER, "verificationCode": code, "pin": "0000"}
    assert await rpc.error("verify", params) == err(
        -1, "Verification failed! Invalid pin, tries remaining: 9"
    )
    assert await rpc.error("verify", params) == err(
        -1, "Verification failed! Invalid pin, tries remaining: 8"
    )
    assert await rpc.call("verify", {**params, "pin": "1234"}) == {}
    assert await rpc.call("listAccounts") == [{"number": NUMBER}]


async def test_link_flow_adds_linked_device(rpc: LineClient) -> None:
    uri = (await rpc.call("startLink"))["deviceLinkUri"]
    query = parse_qs(urlparse(uri).query)
    assert uri.startswith("sgnl://linkdevice?uuid=")
    assert len(query["uuid"][0]) == 24 and len(query["pub_key"][0]) == 44
    assert (await rpc.call("startLink"))["deviceLinkUri"] != uri
    finishing = asyncio.create_task(
        rpc.request("finishLink", {"deviceLinkUri": uri, "deviceName": "bridge"})
    )
    await asyncio.sleep(0.05)
    # finishLink blocks; other requests on the same connection are still answered.
    assert await rpc.call("version") == {"version": "0.13.19"}
    assert not finishing.done()
    assert await rpc.call("sandbox.scanLink", {"deviceLinkUri": uri, "number": NUMBER}) == {}
    response = await finishing
    assert response["result"] == {"number": NUMBER}
    assert await rpc.call("listAccounts") == [{"number": NUMBER}]
    devices = await rpc.call("listDevices", {"account": NUMBER})
    assert [(d["id"], d["name"]) for d in devices] == [(1, None), (2, "bridge")]
    assert await rpc.error("finishLink", {"deviceLinkUri": uri}) == err(
        -1, "Unknown device link uri."
    )
    assert await rpc.error("block", {"account": NUMBER, "recipient": "+14155550101"}) == err(
        -1, "This command doesn't work on linked devices."
    )


async def test_finish_link_for_existing_account_fails(sandbox: Sandbox, rpc: LineClient) -> None:
    await make_account(rpc, NUMBER)
    uri = (await rpc.call("startLink"))["deviceLinkUri"]
    await rpc.call("sandbox.scanLink", {"deviceLinkUri": uri, "number": NUMBER})
    path = sandbox.data_dir / "data" / NUMBER
    assert await rpc.error("finishLink", {"deviceLinkUri": uri}) == err(
        -1, f'The user {NUMBER} already exists\nDelete "{path}" before trying again.'
    )


async def test_finish_link_times_out(sandbox: Sandbox, rpc: LineClient) -> None:
    assert sandbox.daemon is not None
    sandbox.daemon.links.timeout = 0.05
    uri = (await rpc.call("startLink"))["deviceLinkUri"]
    assert await rpc.error("finishLink", {"deviceLinkUri": uri}) == err(
        -1, "Link request timed out, please try again."
    )
    assert await rpc.error("sandbox.scanLink", {"deviceLinkUri": uri, "number": NUMBER}) == err(
        -1, f"Unknown device link uri: {uri}"
    )


async def test_finish_link_rejects_invalid_uri(rpc: LineClient) -> None:
    assert await rpc.error("finishLink", {"deviceLinkUri": "sgnl://link device"}) == err(
        -1, "Invalid device link uri."
    )


async def test_single_local_account_is_used_without_account_param(rpc: LineClient) -> None:
    await make_account(rpc, NUMBER)
    assert await rpc.call("listGroups") == []
    await make_account(rpc, "+14155550101")
    assert await rpc.error("listGroups") == err(-32602, "Method requires valid account parameter")
