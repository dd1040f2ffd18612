"""signal-cli's listGroups items in the Go project's shape, and the group-create rules.

Every entry carries every key, with `""` and `[]` rather than null (signalbot validates them).
One deliberate fix: `permissions.edit_group` comes from `permissionEditDetails`; the Go project
copies `send_messages` there.
"""

from __future__ import annotations

from typing import Any

from signal_rest.domain.groupids import internal_to_rest
from signal_rest.domain.recipients import classify
from signal_rest.errors import ValidationError

__all__ = [
    "GROUP_LINKS",
    "PERMISSION_VALUES",
    "group_entry",
    "member_param",
    "permission_params",
]

PERMISSION_VALUES = ("every-member", "only-admins")
GROUP_LINKS = ("disabled", "enabled", "enabled-with-approval")
_PERMISSIONS = {"EVERY_MEMBER": "every-member", "ONLY_ADMINS": "only-admins"}


def _member_text(member: Any) -> str:
    if not isinstance(member, dict):
        return str(member)
    return str(member.get("number") or member.get("uuid") or "")


def _member_object(member: Any) -> dict[str, str]:
    if not isinstance(member, dict):
        return {"number": str(member), "uuid": ""}
    return {"number": member.get("number") or "", "uuid": member.get("uuid") or ""}


def group_entry(group: dict[str, Any], *, expand: bool = False) -> dict[str, Any]:
    """One `GET /v1/groups/{number}` entry from one signal-cli listGroups item."""
    convert = _member_object if expand else _member_text

    def members(key: str) -> list[Any]:
        value = group.get(key)
        return [convert(m) for m in value] if isinstance(value, list) else []

    internal_id = str(group.get("id") or "")
    return {
        "name": group.get("name") or "",
        "description": group.get("description") or "",
        "id": internal_to_rest(internal_id),
        "internal_id": internal_id,
        "members": members("members"),
        "blocked": bool(group.get("isBlocked")),
        "member": bool(group.get("isMember")),
        "pending_invites": members("pendingMembers"),
        "pending_requests": members("requestingMembers"),
        "invite_link": group.get("groupInviteLink") or "",
        "admins": members("admins"),
        "permissions": {
            "add_members": _PERMISSIONS.get(str(group.get("permissionAddMember")), ""),
            "edit_group": _PERMISSIONS.get(str(group.get("permissionEditDetails")), ""),
            "send_messages": _PERMISSIONS.get(str(group.get("permissionSendMessage")), ""),
        },
    }


def permission_params(
    add_members: str, edit_group: str, send_messages: str, group_link: str
) -> dict[str, str]:
    """updateGroup params for the given permissions and link, checked with the Go texts."""
    checks = (
        (add_members, "Invalid add members permission provided"),
        (edit_group, "Invalid edit group permissions provided"),
        (send_messages, "Invalid send messages permissions provided"),
    )
    for value, text in checks:
        if value and value not in PERMISSION_VALUES:
            raise ValidationError(f"{text} - only 'every-member' and 'only-admins' allowed!")
    if group_link and group_link not in GROUP_LINKS:
        raise ValidationError(
            "Invalid group link provided - only 'enabled', 'enabled-with-approval' and "
            "'disabled' allowed!"
        )
    params = {
        "setPermissionAddMember": add_members,
        "setPermissionEditDetails": edit_group,
        "setPermissionSendMessages": send_messages,
        "link": group_link,
    }
    return {key: value for key, value in params.items() if value}


def member_param(member: str) -> str:
    """A member as signal-cli takes it: usernames as `u:<name>`, as the Go project sends them."""
    return f"u:{member}" if classify(member).kind == "username" else member
