"""addDevice, removeDevice, unregister and deleteLocalAccountData on the sandbox's JSON-RPC:
the rules only a primary device passes, the device limit, and accounts leaving the daemon."""

from __future__ import annotations

from typing import Any

from .client import LineClient
from .conftest import Sandbox, make_account
from .test_devices import link

ALICE = "+14155550100"  # registered here: a primary device
BOB = "+14155550101"  # linked here as device 2; his phone is outside
CAROL = "+14155550102"  # outside user

NOT_PRIMARY = {"code": -1, "message": "This command doesn't work on linked devices.", "data": None}


async def new_device(rpc: LineClient, name: str) -> str:
    uri: str = (await rpc.call("sandbox.newDevice", {"name": name}))["deviceLinkUri"]
    return uri


async def test_a_linked_device_may_not_add_or_remove_devices(rpc: LineClient) -> None:
    await link(rpc, BOB)
    uri = await new_device(rpc, "Desktop")
    assert await rpc.error("addDevice", {"account": BOB, "uri": uri}) == NOT_PRIMARY
    assert await rpc.error("removeDevice", {"account": BOB, "deviceId": 1}) == NOT_PRIMARY
    assert [d["id"] for d in await rpc.call("listDevices", {"account": BOB})] == [1, 2]


async def test_an_account_links_at_most_five_devices(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    for n in range(5):
        uri = await new_device(rpc, f"device {n}")
        assert await rpc.call("addDevice", {"account": ALICE, "uri": uri}) == {}
    uri = await new_device(rpc, "one too many")
    assert await rpc.error("addDevice", {"account": ALICE, "uri": uri}) == {
        "code": -1,
        "message": "Account has too many linked devices already",
        "data": None,
    }
    devices = await rpc.call("listDevices", {"account": ALICE})
    assert [(d["id"], d["name"]) for d in devices] == [(1, None)] + [
        (n + 2, f"device {n}") for n in range(5)
    ]


async def test_remove_device_needs_an_integer_id(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    assert await rpc.error("removeDevice", {"account": ALICE}) == {
        "code": -32603,
        "message": 'Cannot invoke "java.lang.Integer.intValue()" because the return value of '
        '"net.sourceforge.argparse4j.inf.Namespace.getInt(String)" is null (NullPointerException)',
        "data": None,
    }
    assert await rpc.error("removeDevice", {"account": ALICE, "deviceId": "2"}) == {
        "code": -32603,
        "message": "class java.lang.String cannot be cast to class java.lang.Integer "
        "(java.lang.String and java.lang.Integer are in module java.base of loader 'bootstrap') "
        "(ClassCastException)",
        "data": None,
    }


async def test_unregistering_a_linked_device_leaves_the_number_registered(
    rpc: LineClient,
) -> None:
    await link(rpc, BOB)
    assert await rpc.call("unregister", {"account": BOB}) == {}
    assert await rpc.call("listAccounts") == []
    result = await rpc.call(
        "sandbox.send", {"from": CAROL, "recipient": BOB, "message": "to your phone"}
    )
    assert [r["type"] for r in result["results"]] == ["SUCCESS"]
    got: list[dict[str, Any]] = await rpc.call("sandbox.listReceived", {"number": BOB})
    assert [m["envelope"]["dataMessage"]["message"] for m in got] == ["to your phone"]


async def test_an_unregistered_account_ends_its_own_subscription(sandbox: Sandbox) -> None:
    rpc = await sandbox.connect()
    await make_account(rpc, ALICE)
    await make_account(rpc, CAROL)
    subscription = await rpc.call("subscribeReceive", {"account": ALICE})
    assert await rpc.call("unregister", {"account": ALICE}) == {}
    assert await rpc.error("unsubscribeReceive", {"subscription": subscription}) == {
        "code": -1,
        "message": "Unknown subscription id",
        "data": None,
    }
    assert await rpc.error("listDevices", {"account": ALICE}) == {
        "code": -32602,
        "message": "Specified account does not exist",
        "data": None,
    }


async def test_an_unregistered_account_stays_gone_after_a_restart_until_it_registers(
    sandbox: Sandbox,
) -> None:
    rpc = await sandbox.connect()
    await make_account(rpc, ALICE)
    assert await rpc.call("unregister", {"account": ALICE}) == {}
    await sandbox.restart()
    rpc = await sandbox.connect()
    assert await rpc.call("listAccounts") == []
    assert await rpc.call("deleteLocalAccountData", {"account": ALICE}) == {}
    await make_account(rpc, ALICE)
    assert await rpc.call("listAccounts") == [{"number": ALICE}]
