"""Group permissions beyond sending, enforced step by step as Signal's server does."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from .client import LineClient
from .conftest import make_account

ALICE = "+14155550100"  # local, a plain member
BOB = "+14155550101"  # local, not in the group at first
CAROL = "+14155550102"  # outside user, the group's admin
DAVE = "+14155550103"  # outside user, a plain member

REFUSED = {
    "code": -32603,
    "message": "Failed to send message: [403] Authorization failed! "
    "(AuthorizationFailedException) (UnexpectedErrorException)",
    "data": None,
}


async def carols_group(rpc: LineClient, **settings: Any) -> str:
    await make_account(rpc, ALICE)
    await make_account(rpc, BOB)
    created = await rpc.call(
        "sandbox.updateGroup",
        {"from": CAROL, "name": "Club", "members": [ALICE, DAVE], **settings},
    )
    return str(created["groupId"])


async def state(rpc: LineClient) -> dict[str, Any]:
    [group] = await rpc.call("listGroups", {"account": ALICE})
    return {
        "name": group["name"],
        "members": [m["number"] for m in group["members"]],
        "admins": [a["number"] for a in group["admins"]],
        "banned": [b["number"] for b in group["banned"]],
        "expiration": group["messageExpirationTime"],
        "link": group["groupInviteLink"],
        "permissions": [
            group["permissionAddMember"],
            group["permissionEditDetails"],
            group["permissionSendMessage"],
        ],
    }


CLUB = {
    "name": "Club",
    "members": [CAROL, ALICE, DAVE],
    "admins": [CAROL],
    "banned": [],
    "expiration": 0,
    "link": None,
    "permissions": ["EVERY_MEMBER", "ONLY_ADMINS", "EVERY_MEMBER"],
}


@pytest.mark.parametrize(
    "change",
    [
        {"name": "Mine"},
        {"description": "mine"},
        {"expiration": 60},
    ],
    ids=["name", "description", "expiration"],
)
async def test_only_admins_edit_details_when_the_group_says_so(
    rpc: LineClient, change: dict[str, Any]
) -> None:
    gid = await carols_group(rpc, setPermissionEditDetails="only-admins")
    params = {"account": ALICE, "groupId": gid, **change}
    assert await rpc.error("updateGroup", params) == REFUSED
    assert await state(rpc) == CLUB


async def test_every_member_edits_details_by_default(rpc: LineClient) -> None:
    gid = await carols_group(rpc)
    result = await rpc.call("updateGroup", {"account": ALICE, "groupId": gid, "name": "Ours"})
    assert [r["recipientAddress"]["number"] for r in result["results"]] == [CAROL, DAVE]
    assert (await state(rpc))["name"] == "Ours"


async def test_only_admins_add_members_when_the_group_says_so(rpc: LineClient) -> None:
    gid = await carols_group(rpc, setPermissionAddMember="only-admins")
    params = {"account": ALICE, "groupId": gid, "member": [BOB]}
    assert await rpc.error("updateGroup", params) == REFUSED
    assert (await state(rpc))["members"] == [CAROL, ALICE, DAVE]
    assert await rpc.call("listGroups", {"account": BOB}) == []
    # Naming someone who already is a member changes nothing, so nothing is refused.
    assert await rpc.call("updateGroup", {**params, "member": [DAVE]}) == {}


@pytest.mark.parametrize(
    "change",
    [
        {"removeMember": [DAVE]},
        {"admin": [DAVE]},
        {"removeAdmin": [CAROL]},
        {"ban": [DAVE]},
        {"resetLink": True},
        {"link": "enabled"},
        {"setPermissionAddMember": "every-member"},
        {"setPermissionEditDetails": "every-member"},
        {"setPermissionSendMessages": "only-admins"},
    ],
    ids=[
        "remove_member",
        "make_admin",
        "remove_admin",
        "ban",
        "reset_link",
        "link",
        "add_member_permission",
        "edit_details_permission",
        "send_messages_permission",
    ],
)
async def test_only_admins_manage_members_admins_links_and_permissions(
    rpc: LineClient, change: dict[str, Any]
) -> None:
    gid = await carols_group(rpc, setPermissionEditDetails="only-admins")
    params = {"account": ALICE, "groupId": gid, **change}
    assert await rpc.error("updateGroup", params) == REFUSED
    assert await state(rpc) == CLUB


async def test_steps_before_a_refused_one_are_kept(rpc: LineClient) -> None:
    # signal-cli commits member additions before details: Bob is in, the name is not changed.
    gid = await carols_group(rpc, setPermissionEditDetails="only-admins")
    params = {"account": ALICE, "groupId": gid, "member": [BOB], "name": "Mine"}
    assert await rpc.error("updateGroup", params) == REFUSED
    assert await state(rpc) == {**CLUB, "members": [CAROL, ALICE, DAVE, BOB]}
    [update] = await rpc.call("receive", {"account": BOB, "timeout": 0.05})
    assert update["envelope"]["dataMessage"]["groupInfo"] == {
        "groupId": gid,
        "groupName": "Club",
        "revision": 1,
        "type": "UPDATE",
    }


async def test_an_admin_may_do_everything(rpc: LineClient) -> None:
    gid = await carols_group(rpc, setPermissionEditDetails="only-admins")
    await rpc.call("sandbox.updateGroup", {"from": CAROL, "groupId": gid, "admin": [ALICE]})
    change = {"account": ALICE, "groupId": gid, "name": "Ours", "ban": [DAVE], "expiration": 9}
    await rpc.call("updateGroup", {**change, "setPermissionAddMember": "only-admins"})
    assert await state(rpc) == {
        **CLUB,
        "name": "Ours",
        "members": [CAROL, ALICE],
        "admins": [CAROL, ALICE],
        "banned": [DAVE],
        "expiration": 9,
        "permissions": ["ONLY_ADMINS", "ONLY_ADMINS", "EVERY_MEMBER"],
    }


async def test_quit_group_hands_over_to_a_member_named_admin(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    created = await rpc.call("updateGroup", {"account": ALICE, "name": "Mine", "member": [DAVE]})
    gid = created["groupId"]
    last = {
        "code": -1,
        "message": f"You need to specify a new admin with --admin: User is last admin in group: "
        f"Mine ({gid})",
        "data": None,
    }
    quit_params = {"account": ALICE, "groupId": gid}
    assert await rpc.error("quitGroup", quit_params) == last
    # Someone outside the group does not count, as in signal-cli.
    assert await rpc.error("quitGroup", {**quit_params, "admin": [CAROL]}) == last
    left = await rpc.call("quitGroup", {**quit_params, "admin": [DAVE], "delete": True})
    assert [r["recipientAddress"]["number"] for r in left["results"]] == [DAVE]
    assert await rpc.call("listGroups", {"account": ALICE}) == []
    received = await rpc.call("sandbox.listReceived", {"number": DAVE})
    assert received[-1]["envelope"]["dataMessage"]["groupInfo"]["revision"] == 1


async def test_quit_group_resolves_new_admins_before_the_group(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    nobodys = base64.b64encode(bytes(32)).decode()
    params = {"account": ALICE, "groupId": nobodys, "admin": ["nope"]}
    assert await rpc.error("quitGroup", params) == {
        "code": -1,
        "message": "Invalid phone number 'nope': The string supplied did not seem to be a "
        "phone number.",
        "data": None,
    }
