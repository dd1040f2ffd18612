from __future__ import annotations

import base64
from typing import Any

from .client import LineClient
from .conftest import Sandbox, make_account

ALICE = "+14155550100"  # local
BOB = "+14155550101"  # local
CAROL = "+14155550102"  # outside user


async def people(rpc: LineClient, *numbers: str) -> dict[str, dict[str, Any]]:
    status = await rpc.call("getUserStatus", {"account": ALICE, "recipient": list(numbers)})
    return {s["number"]: {"number": s["number"], "uuid": s["uuid"]} for s in status}


async def test_group_create_list_send_and_quit(sandbox: Sandbox, rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    await make_account(rpc, BOB)
    p = await people(rpc, ALICE, BOB, CAROL)
    created = await rpc.call(
        "updateGroup",
        {"account": ALICE, "name": "Team", "members": [BOB, CAROL], "description": "d"},
    )
    gid = created["groupId"]
    assert len(base64.b64decode(gid)) == 32
    assert created == {
        "groupId": gid,
        "timestamp": created["timestamp"],
        "results": [
            {"recipientAddress": {**p[BOB], "username": None}, "groupId": gid, "type": "SUCCESS"},
            {"recipientAddress": {**p[CAROL], "username": None}, "groupId": gid, "type": "SUCCESS"},
        ],
    }
    listed = {
        "id": gid,
        "name": "Team",
        "description": "d",
        "isMember": True,
        "isBlocked": False,
        "messageExpirationTime": 0,
        "members": [{**p[n], "isAdmin": n == ALICE} for n in (ALICE, BOB, CAROL)],
        "pendingMembers": [],
        "requestingMembers": [],
        "admins": [p[ALICE]],
        "banned": [],
        "permissionAddMember": "EVERY_MEMBER",
        "permissionEditDetails": "EVERY_MEMBER",
        "permissionSendMessage": "EVERY_MEMBER",
        "groupInviteLink": None,
    }
    assert await rpc.call("listGroups", {"account": ALICE}) == [listed]
    assert await rpc.call("listGroups", {"account": BOB}) == [listed]
    # Bob got the group-change message.
    update = (await rpc.call("receive", {"account": BOB, "timeout": 0.05}))[0]["envelope"]
    assert update["dataMessage"]["groupInfo"] == {
        "groupId": gid,
        "groupName": "Team",
        "revision": 0,
        "type": "UPDATE",
    }
    # An outside member writes to the group; both local members get it.
    sent = await rpc.call("sandbox.send", {"from": CAROL, "groupId": gid, "message": "hello team"})
    assert [r["recipientAddress"]["number"] for r in sent["results"]] == [ALICE, BOB]
    got = (await rpc.call("receive", {"account": BOB, "timeout": 0.05}))[0]["envelope"]
    assert got["dataMessage"] == {
        "timestamp": sent["timestamp"],
        "message": "hello team",
        "expiresInSeconds": 0,
        "isExpirationUpdate": False,
        "viewOnce": False,
        "groupInfo": {"groupId": gid, "groupName": "Team", "revision": 0, "type": "DELIVER"},
    }
    # Nothing to change → {}.
    assert await rpc.call("updateGroup", {"account": ALICE, "groupId": gid, "name": "Team"}) == {}
    assert await rpc.error("quitGroup", {"account": ALICE, "groupId": gid}) == {
        "code": -1,
        "message": "You need to specify a new admin with --admin: "
        f"User is last admin in group: Team ({gid})",
        "data": None,
    }
    quit_result = await rpc.call("quitGroup", {"account": ALICE, "groupId": gid, "admin": BOB})
    assert [r["recipientAddress"]["number"] for r in quit_result["results"]] == [BOB, CAROL]
    after = (await rpc.call("listGroups", {"account": ALICE}))[0]
    assert after["isMember"] is False
    assert after["members"] == [{**p[BOB], "isAdmin": True}, {**p[CAROL], "isAdmin": False}]
    assert await rpc.error("send", {"account": ALICE, "groupId": gid, "message": "x"}) == {
        "code": -1,
        "message": f"User is not a member in group: Team ({gid})",
        "data": None,
    }
    # Groups survive a restart.
    await sandbox.restart()
    rpc = await sandbox.connect()
    assert (await rpc.call("listGroups", {"account": BOB}))[0]["members"][0]["isAdmin"] is True
    assert await rpc.call("quitGroup", {"account": ALICE, "groupId": gid, "delete": True}) == {}
    assert await rpc.call("listGroups", {"account": ALICE}) == []


async def test_group_update_changes_settings(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    gid = (await rpc.call("updateGroup", {"account": ALICE, "name": "G"}))["groupId"]
    assert (await rpc.call("send", {"account": ALICE, "groupId": gid, "message": "alone"}))[
        "results"
    ] == []
    result = await rpc.call(
        "updateGroup",
        {
            "account": ALICE,
            "group-id": gid,
            "member": CAROL,
            "admin": CAROL,
            "link": "enabled",
            "setPermissionSendMessages": "only-admins",
            "expiration": 3600,
        },
    )
    assert set(result) == {"timestamp", "results"}
    group = (await rpc.call("listGroups", {"account": ALICE, "groupId": gid}))[0]
    assert group["messageExpirationTime"] == 3600
    assert group["permissionSendMessage"] == "ONLY_ADMINS"
    assert group["groupInviteLink"].startswith("https://signal.group/#")
    assert [m["isAdmin"] for m in group["members"]] == [True, True]
    inbox = await rpc.call("sandbox.listReceived", {"number": CAROL})
    assert inbox[-1]["envelope"]["dataMessage"]["groupInfo"]["revision"] == 1
    assert await rpc.error("updateGroup", {"account": ALICE, "groupId": gid, "link": "on"}) == {
        "code": -1,
        "message": "Invalid group link state: on",
        "data": None,
    }


async def test_pending_member_accepts_invite_with_bare_update(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    created = await rpc.call(
        "sandbox.updateGroup", {"from": CAROL, "name": "Club", "invite": [ALICE]}
    )
    gid = created["groupId"]
    group = (await rpc.call("listGroups", {"account": ALICE}))[0]
    assert group["isMember"] is False
    assert [m["number"] for m in group["pendingMembers"]] == [ALICE]
    accepted = await rpc.call("updateGroup", {"account": ALICE, "groupId": gid})
    assert [r["recipientAddress"]["number"] for r in accepted["results"]] == [CAROL]
    group = (await rpc.call("listGroups", {"account": ALICE}))[0]
    assert group["isMember"] is True and group["pendingMembers"] == []
    assert group["members"][1]["number"] == ALICE


async def test_accounts_survive_restart(sandbox: Sandbox, rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    before = await rpc.call("getUserStatus", {"account": ALICE, "recipient": [ALICE, CAROL]})
    await sandbox.restart()
    rpc = await sandbox.connect()
    assert await rpc.call("listAccounts") == [{"number": ALICE}]
    assert (
        await rpc.call("getUserStatus", {"account": ALICE, "recipient": [ALICE, CAROL]}) == before
    )


async def test_tcp_listener(sandbox: Sandbox) -> None:
    assert sandbox.daemon is not None
    port = await sandbox.daemon.start_tcp("127.0.0.1", 0)
    import asyncio

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b'{"jsonrpc":"2.0","id":1,"method":"version"}\n')
    await writer.drain()
    assert await reader.readline() == b'{"jsonrpc":"2.0","result":{"version":"0.13.19"},"id":1}\n'
    writer.close()
