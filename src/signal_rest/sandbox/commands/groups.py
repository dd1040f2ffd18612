"""updateGroup, listGroups, quitGroup."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import groups
from ..context import Context
from ..errors import INTERNAL_ERROR, RpcError, user_error
from ..network import Network, Sender
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


class _Change:
    """One updateGroup request, applied as signal-cli commits it: one step after another, each
    checked by the server against the group's permissions at that moment (see _STEPS)."""

    me: str
    group: dict[str, Any]
    p: Params
    invite: list[str]
    people: dict[str, list[str]]

    def __init__(
        self, network: Network, me: str, group: dict[str, Any], p: Params, invite: list[str]
    ) -> None:
        # Checked before anything is committed, as signal-cli does.
        link = p.text("link")
        if link is not None and link not in groups.LINK_STATES:
            raise user_error(f"Invalid group link state: {link}")
        for param in _PERMISSION_PARAMS:
            value = p.text(param)
            if value is not None and value not in groups.PERMISSIONS:
                raise user_error(f"Invalid group permission: {value}")
        self.me = me
        self.group = group
        self.p = p
        self.invite = invite
        self.people = {
            key: _people(network, p.items(key))
            for key in ("member", "removeMember", "admin", "removeAdmin", "ban", "unban")
        }

    def run(self) -> bool:
        """Apply every step; True when something changed. A refused step raises after the
        steps before it were kept (the caller commits them)."""
        before = dict(self.group)
        for wanted, need, apply in _STEPS:
            if wanted(self):
                if not groups.allowed(self.group, self.me, need):
                    raise groups.refused()
                apply(self)
        return self.group != before


def _add_wanted(c: _Change) -> bool:
    group = c.group
    return any(n not in group["members"] for n in c.people["member"]) or any(
        n not in group["members"] and n not in group["pending"] for n in c.invite
    )


def _add(c: _Change) -> None:
    group = c.group
    for number in c.people["member"]:
        if number not in group["members"]:
            group["members"] = [*group["members"], number]
        for key in ("pending", "requesting", "banned"):
            group[key] = [n for n in group[key] if n != number]
    for number in c.invite:
        if number not in group["members"] and number not in group["pending"]:
            group["pending"] = [*group["pending"], number]


def _remove_wanted(c: _Change) -> bool:
    group = c.group
    others = [n for n in c.people["removeMember"] if n != c.me]
    return any(n in group["members"] or n in group["pending"] for n in others)


def _remove(c: _Change) -> None:
    group = c.group
    for number in c.people["removeMember"]:
        if number == c.me:
            continue  # leaving is quitGroup's job; signal-cli skips itself here
        for key in ("members", "admins", "pending"):
            group[key] = [n for n in group[key] if n != number]


def _admin_wanted(c: _Change) -> bool:
    group = c.group
    return any(n in group["members"] and n not in group["admins"] for n in c.people["admin"])


def _admin(c: _Change) -> None:
    group = c.group
    for number in c.people["admin"]:
        if number in group["members"] and number not in group["admins"]:
            group["admins"] = [*group["admins"], number]


def _unadmin(c: _Change) -> None:
    removed = c.people["removeAdmin"]
    c.group["admins"] = [n for n in c.group["admins"] if n not in removed]


def _ban(c: _Change) -> None:
    group = c.group
    for number in c.people["ban"]:
        group["members"] = [n for n in group["members"] if n != number]
        group["admins"] = [n for n in group["admins"] if n != number]
        if number not in group["banned"]:
            group["banned"] = [*group["banned"], number]


def _unban(c: _Change) -> None:
    c.group["banned"] = [n for n in c.group["banned"] if n not in c.people["unban"]]


def _reset_link(c: _Change) -> None:
    c.group["linkSecret"] = groups.new_link_secret()


def _link(c: _Change) -> None:
    group = c.group
    group["link"] = groups.LINK_STATES[str(c.p.text("link"))]
    if group["link"] != "disabled" and not group["linkSecret"]:
        group["linkSecret"] = groups.new_link_secret()


def _permission(param: str, key: str) -> Callable[[_Change], None]:
    def apply(c: _Change) -> None:
        c.group[key] = groups.PERMISSIONS[str(c.p.text(param))]

    return apply


def _expiration(c: _Change) -> None:
    c.group["expiration"] = c.p.integer("expiration")


def _details(c: _Change) -> None:
    for key in ("name", "description"):
        value = c.p.text(key)
        if value is not None:
            c.group[key] = value
    avatar = c.p.text("avatar")
    if avatar is not None:
        c.group["avatar"] = _read_avatar(avatar)


def _has(*params: str) -> Callable[[_Change], bool]:
    return lambda c: any(c.p.has(param) for param in params)


_PERMISSION_PARAMS = (
    "setPermissionAddMember",
    "setPermissionEditDetails",
    "setPermissionSendMessages",
)

# signal-cli's GroupHelper.updateGroupV2 order: (is it wanted, who may, apply). Each wanted step
# is one commit the server checks; a refused one ends the update, earlier ones stay.
_STEPS: list[tuple[Callable[[_Change], bool], str, Callable[[_Change], None]]] = [
    (_add_wanted, "addMember", _add),
    (_remove_wanted, "admin", _remove),
    (_admin_wanted, "admin", _admin),
    (lambda c: any(n in c.group["admins"] for n in c.people["removeAdmin"]), "admin", _unadmin),
    (lambda c: any(n not in c.group["banned"] for n in c.people["ban"]), "admin", _ban),
    (lambda c: any(n in c.group["banned"] for n in c.people["unban"]), "admin", _unban),
    (lambda c: c.p.flag("resetLink"), "admin", _reset_link),
    (_has("link"), "admin", _link),
    (
        _has("setPermissionAddMember"),
        "admin",
        _permission("setPermissionAddMember", "permissionAddMember"),
    ),
    (
        _has("setPermissionEditDetails"),
        "admin",
        _permission("setPermissionEditDetails", "permissionEditDetails"),
    ),
    (_has("expiration"), "editDetails", _expiration),
    (
        _has("setPermissionSendMessages"),
        "admin",
        _permission("setPermissionSendMessages", "permissionSendMessage"),
    ),
    (_has("name", "description", "avatar"), "editDetails", _details),
]


def update_group_as(network: Network, me: str, raw: dict[str, Any], invite: list[str]) -> Any:
    """updateGroup on behalf of `me`; `invite` adds pending members (sandbox.updateGroup only)."""
    p = Params(raw)
    gid_text = p.text("groupId")
    sender = network.sender(me)
    if gid_text is None:
        group = groups.new_group(me, p.text("name"), p.text("description"))
        _Change(network, me, group, p, invite).run()
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
    before = dict(group)
    change = _Change(network, me, group, p, invite)
    try:
        change.run()
    except RpcError:
        # Steps before the failing one were committed: members hear of them, then the error.
        if group != before or accepted:
            _commit(network, sender, group, old_members)
        raise
    if group == before and not accepted:
        return {}
    return _commit(network, sender, group, old_members)


def _commit(
    network: Network, sender: Sender, group: dict[str, Any], old_members: list[str]
) -> dict[str, Any]:
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
    # signal-cli resolves the new admins before it looks the group up.
    admins = _people(network, p.items("admin"))
    group = network.store.group(gid)
    if group is None or gid not in network.store.group_ids_for(me):
        raise user_error(f"Failed to send to group: Group not found: {gid}")
    result: Any = {}
    if me in group["members"] or me in group["pending"]:
        if me in group["pending"]:
            group["pending"] = [n for n in group["pending"] if n != me]
        else:
            new_admins = [n for n in admins if n in group["members"]]
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
