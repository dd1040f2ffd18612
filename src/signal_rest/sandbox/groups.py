"""Groups as network-wide records; every member's listGroups shows the same record."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from .errors import INTERNAL_ERROR, RpcError, user_error
from .network import Network

PERMISSIONS = {
    "every-member": "EVERY_MEMBER",
    "everyMember": "EVERY_MEMBER",
    "only-admins": "ONLY_ADMINS",
    "onlyAdmins": "ONLY_ADMINS",
}
LINK_STATES = {
    "enabled": "enabled",
    "enabled-with-approval": "enabled-with-approval",
    "enabledWithApproval": "enabled-with-approval",
    "disabled": "disabled",
}


def new_group(creator: str, name: str | None, description: str | None) -> dict[str, Any]:
    return {
        "id": base64.b64encode(secrets.token_bytes(32)).decode(),
        "name": name,
        "description": description,
        "revision": 0,
        "members": [creator],
        "admins": [creator],
        "pending": [],
        "requesting": [],
        "banned": [],
        "permissionAddMember": "EVERY_MEMBER",
        "permissionEditDetails": "EVERY_MEMBER",
        "permissionSendMessage": "EVERY_MEMBER",
        "link": "disabled",
        "linkSecret": None,
        "expiration": 0,
        "avatar": None,  # base64 of the avatar file given to updateGroup
    }


def load(network: Network, group_id: str) -> dict[str, Any]:
    group = network.store.group(group_id)
    if group is None:
        raise user_error(f"Group not found: {group_id}")
    return group


def title(group: dict[str, Any]) -> str:
    return f"{group['name']} ({group['id']})"


def not_member(group: dict[str, Any]) -> Exception:
    return user_error(f"User is not a member in group: {title(group)}")


# The server refuses a change the member may not make (HTTP 403); signal-cli's updateGroup turns
# the AuthorizationFailedException into this unexpected error.
REFUSED = (
    "Failed to send message: [403] Authorization failed! (AuthorizationFailedException) "
    "(UnexpectedErrorException)"
)


def allowed(group: dict[str, Any], number: str, need: str) -> bool:
    """May member `number` make a change that needs `need` (admin, addMember, editDetails)?"""
    if number in group["admins"]:
        return True
    if need == "addMember":
        return bool(group["permissionAddMember"] == "EVERY_MEMBER")
    if need == "editDetails":
        return bool(group["permissionEditDetails"] == "EVERY_MEMBER")
    return False


def refused() -> RpcError:
    return RpcError(INTERNAL_ERROR, REFUSED)


def info(group: dict[str, Any], kind: str) -> dict[str, Any]:
    return {
        "groupId": group["id"],
        "groupName": group["name"],
        "revision": group["revision"],
        "type": kind,
    }


def invite_link(group: dict[str, Any]) -> str | None:
    if group["link"] == "disabled" or not group["linkSecret"]:
        return None
    return "https://signal.group/#" + str(group["linkSecret"])


def new_link_secret() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(48)).decode().rstrip("=")


def blocked(network: Network, account: str, target: str) -> bool:
    row = network.store.one(
        "SELECT 1 FROM blocked WHERE account = ? AND target = ?", account, target
    )
    return row is not None


def to_json(network: Network, account: str, group: dict[str, Any]) -> dict[str, Any]:
    def person(number: str) -> dict[str, Any]:
        return {"number": number, "uuid": network.uuid_of(number)}

    return {
        "id": group["id"],
        "name": group["name"],
        "description": group["description"],
        "isMember": account in group["members"],
        "isBlocked": blocked(network, account, group["id"]),
        "messageExpirationTime": group["expiration"],
        "members": [{**person(n), "isAdmin": n in group["admins"]} for n in group["members"]],
        "pendingMembers": [person(n) for n in group["pending"]],
        "requestingMembers": [person(n) for n in group["requesting"]],
        "admins": [person(n) for n in group["members"] if n in group["admins"]],
        "banned": [person(n) for n in group["banned"]],
        "permissionAddMember": group["permissionAddMember"],
        "permissionEditDetails": group["permissionEditDetails"],
        "permissionSendMessage": group["permissionSendMessage"],
        "groupInviteLink": invite_link(group),
    }
