"""Group permissions over REST: an outside admin's group refuses what a plain member may not do."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.support.flows import ALICE, BOB
from tests.support.service import RunningService

CAROL = "+4915100000003"  # an outside Signal user, the group's admin
NOT_ALLOWED = {
    "error": "The group's permissions do not allow this account that change: only an admin "
    "may make it, or change who may (signal-cli: Failed to send message: [403] Authorization "
    "failed! (AuthorizationFailedException) (UnexpectedErrorException))"
}


def carols_group(service: RunningService, **settings: Any) -> str:
    # No HTTP route lets an outside user create a group: the sandbox control does.
    params = {"from": CAROL, "name": "Club", "member": [ALICE], **settings}
    result = service.run(service.backend.rpc.call("sandbox.updateGroup", params))
    return "group." + base64.b64encode(result["groupId"].encode()).decode()


def entry(service: RunningService, group_id: str) -> dict[str, Any]:
    response = service.client.get(f"/v1/groups/{ALICE}/{group_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def club(group_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "name": "Club",
        "description": "",
        "id": group_id,
        "internal_id": base64.b64decode(group_id.removeprefix("group.")).decode(),
        "members": [CAROL, ALICE],
        "blocked": False,
        "member": True,
        "pending_invites": [],
        "pending_requests": [],
        "invite_link": "",
        "admins": [CAROL],
        "permissions": {
            "add_members": "only-admins",
            "edit_group": "only-admins",
            "send_messages": "every-member",
        },
        **changes,
    }


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "", {"name": "Mine"}),
        ("PUT", "", {"expiration_time": 60}),
        ("PUT", "", {"permissions": {"add_members": "every-member"}}),
        ("PUT", "", {"group_link": "enabled"}),
        ("POST", "/members", {"members": [BOB]}),
        ("DELETE", "/members", {"members": [CAROL]}),
        ("POST", "/admins", {"admins": [ALICE]}),
        ("DELETE", "/admins", {"admins": [CAROL]}),
    ],
    ids=[
        "rename",
        "expiration",
        "permissions",
        "link",
        "add-member",
        "remove-member",
        "add-admin",
        "remove-admin",
    ],
)
def test_a_plain_member_is_refused_what_only_admins_may_do(
    accounts: RunningService, method: str, path: str, body: dict[str, Any]
) -> None:
    group_id = carols_group(
        accounts, setPermissionAddMember="only-admins", setPermissionEditDetails="only-admins"
    )
    response = accounts.client.request(method, f"/v1/groups/{ALICE}/{group_id}{path}", json=body)
    assert (response.status_code, response.json()) == (400, NOT_ALLOWED)
    assert entry(accounts, group_id) == club(group_id)


def test_a_plain_member_may_rename_and_add_when_every_member_may(
    accounts: RunningService,
) -> None:
    group_id = carols_group(accounts)
    response = accounts.client.put(f"/v1/groups/{ALICE}/{group_id}", json={"name": "Ours"})
    assert response.status_code == 204, response.text
    response = accounts.client.post(
        f"/v1/groups/{ALICE}/{group_id}/members", json={"members": [BOB]}
    )
    assert response.status_code == 204, response.text
    every = {"add_members": "every-member", "edit_group": "every-member"}
    assert entry(accounts, group_id) == club(
        group_id,
        name="Ours",
        members=[CAROL, ALICE, BOB],
        permissions={**every, "send_messages": "every-member"},
    )
