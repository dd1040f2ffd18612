"""updateGroup, listGroups, quitGroup."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from .. import groups
from ..context import Context
from ..errors import INTERNAL_ERROR, RpcError, user_error
from ..network import Network
from ..params import Params
from ..recipients import group_id, resolve
from .delivery import send_group_update


def _people(network: Network, values: list[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        number = resolve(network, value)
        if not network.is_registered(number):
            raise user_error(f"The user {value} is not registered.")
        if number not in out:
            out.append(number)
    return out


def _read_avatar(path: str) -> str:
    # signal-cli uploads the file; the sandbox keeps its bytes (base64) in the group record.
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise user_error(
            f'Failed to add avatar attachment for group": {path} ({exc.strerror})'
        ) from None
    return base64.b64encode(data).decode("ascii")


def _apply(network: Network, group: dict[str, Any], p: Params, invite: list[str]) -> bool:
    """Apply updateGroup params to the record; True when something changed."""
    before = dict(group)
    for key in ("name", "description"):
        value = p.text(key)
        if value is not None:
            group[key] = value
    for number in _people(network, p.items("member")):
        if number not in group["members"]:
            group["members"] = [*group["members"], number]
        group["pending"] = [n for n in group["pending"] if n != number]
        group["requesting"] = [n for n in group["requesting"] if n != number]
        group["banned"] = [n for n in group["banned"] if n != number]
    for number in invite:
        if number not in group["members"] and number not in group["pending"]:
            group["pending"] = [*group["pending"], number]
    for number in _people(network, p.items("removeMember")):
        group["members"] = [n for n in group["members"] if n != number]
        group["admins"] = [n for n in group["admins"] if n != number]
        group["pending"] = [n for n in group["pending"] if n != number]
    for number in _people(network, p.items("admin")):
        if number in group["members"] and number not in group["admins"]:
            group["admins"] = [*group["admins"], number]
    for number in _people(network, p.items("removeAdmin")):
        group["admins"] = [n for n in group["admins"] if n != number]
    for number in _people(network, p.items("ban")):
        group["members"] = [n for n in group["members"] if n != number]
        group["admins"] = [n for n in group["admins"] if n != number]
        if number not in group["banned"]:
            group["banned"] = [*group["banned"], number]
    for number in _people(network, p.items("unban")):
        group["banned"] = [n for n in group["banned"] if n != number]
    link = p.text("link")
    if link is not None:
        if link not in groups.LINK_STATES:
            raise user_error(f"Invalid group link state: {link}")
        group["link"] = groups.LINK_STATES[link]
        if group["link"] != "disabled" and not group["linkSecret"]:
            group["linkSecret"] = groups.new_link_secret()
    if p.flag("resetLink"):
        group["linkSecret"] = groups.new_link_secret()
    for param, key in (
        ("setPermissionAddMember", "permissionAddMember"),
        ("setPermissionEditDetails", "permissionEditDetails"),
        ("setPermissionSendMessages", "permissionSendMessage"),
    ):
        value = p.text(param)
        if value is not None:
            if value not in groups.PERMISSIONS:
                raise user_error(f"Invalid group permission: {value}")
            group[key] = groups.PERMISSIONS[value]
    avatar = p.text("avatar")
    if avatar is not None:
        group["avatar"] = _read_avatar(avatar)
    expiration = p.integer("expiration")
    if expiration is not None:
        group["expiration"] = expiration
    return group != before


def update_group_as(network: Network, me: str, raw: dict[str, Any], invite: list[str]) -> Any:
    """updateGroup on behalf of `me`; `invite` adds pending members (sandbox.updateGroup only)."""
    p = Params(raw)
    gid_text = p.text("groupId")
    sender = network.sender(me)
    if gid_text is None:
        group = groups.new_group(me, p.text("name"), p.text("description"))
        _apply(network, group, p, invite)
        outcome = send_group_update(network, sender, group)
        return {"groupId": group["id"], **outcome}
    group = groups.load(network, group_id(gid_text))
    accepted = False
    if me in group["pending"]:
        # Accepting an invitation: an update from a pending member makes it a full member.
        group["pending"] = [n for n in group["pending"] if n != me]
        group["members"] = [*group["members"], me]
        accepted = True
    elif me not in group["members"]:
        raise groups.not_member(group)
    old_members = list(group["members"]) + list(group["pending"])
    changed = _apply(network, group, p, invite)
    if not (changed or accepted):
        return {}
    group["revision"] += 1
    removed = [n for n in old_members if n not in group["members"] and n not in group["pending"]]
    return send_group_update(network, sender, group, removed)


async def update_group(ctx: Context, raw: dict[str, Any]) -> Any:
    return update_group_as(ctx.network, ctx.me, raw, [])


async def list_groups(ctx: Context, raw: dict[str, Any]) -> Any:
    network = ctx.network
    wanted = [group_id(g) for g in Params(raw).items("groupId")]
    out = []
    for gid in network.store.group_ids_for(ctx.me):
        group = network.store.group(gid)
        if group is not None and (not wanted or gid in wanted):
            out.append(groups.to_json(network, ctx.me, group))
    return out


async def quit_group(ctx: Context, raw: dict[str, Any]) -> Any:
    network, p, me = ctx.network, Params(raw), ctx.me
    gid_text = p.text("groupId")
    if gid_text is None:
        raise RpcError(
            INTERNAL_ERROR,
            'Cannot invoke "String.length()" because "s" is null (NullPointerException)',
        )
    gid = group_id(gid_text)
    group = network.store.group(gid)
    if group is None or gid not in network.store.group_ids_for(me):
        raise user_error(f"Failed to send to group: Group not found: {gid}")
    result: Any = {}
    if me in group["members"] or me in group["pending"]:
        if me in group["pending"]:
            group["pending"] = [n for n in group["pending"] if n != me]
        else:
            new_admins = [n for n in _people(network, p.items("admin")) if n in group["members"]]
            new_admins = [n for n in new_admins if n not in group["admins"]]
            if group["admins"] == [me] and len(group["members"]) > 1 and not new_admins:
                raise user_error(
                    "You need to specify a new admin with --admin: User is last admin in group: "
                    + groups.title(group)
                )
            group["admins"] = [n for n in group["admins"] + new_admins if n != me]
            group["members"] = [n for n in group["members"] if n != me]
        group["revision"] += 1
        result = send_group_update(network, network.sender(me), group)
    if p.flag("delete"):
        network.store.forget_group(me, gid)
    return result
