"""getAvatar: a group's avatar, or a contact's or profile's, as signal-cli keeps them on disk."""

from __future__ import annotations

import base64
from typing import Any

from ..context import Context
from ..errors import INTERNAL_ERROR, RpcError, not_registered, user_error
from ..params import Params
from ..recipients import group_id, resolve

NO_AVATAR = "Could not find avatar"


def _person_avatar(ctx: Context, identifier: str) -> bytes | None:
    number = resolve(ctx.network, identifier)
    if not ctx.network.is_registered(number):
        raise not_registered(number)
    # The sandbox has no contact sync from a primary device, so a contact's avatar is the one
    # their profile shows.
    return ctx.network.profile_avatar(number)


def _group_avatar(ctx: Context, text: str | None) -> bytes | None:
    if text is None:
        # signal-cli passes the missing id on to its avatar store, which dereferences it.
        raise RpcError(
            INTERNAL_ERROR,
            'Cannot invoke "org.asamk.signal.manager.api.GroupId.toBase64()" because "groupId" '
            "is null (NullPointerException)",
        )
    gid = group_id(text)
    group = ctx.network.store.group(gid)
    # An account has the avatar file of the groups it knows; any other is "not found" too.
    if group is None or gid not in ctx.network.store.group_ids_for(ctx.me):
        return None
    avatar = group.get("avatar")
    return base64.b64decode(avatar) if avatar else None


async def get_avatar(ctx: Context, raw: dict[str, Any]) -> Any:
    p = Params(raw)
    contact, profile = p.text("contact"), p.text("profile")
    person = contact if contact is not None else profile
    data = _person_avatar(ctx, person) if person is not None else None
    if person is None:
        data = _group_avatar(ctx, p.text("groupId"))
    if data is None:
        raise user_error(NO_AVATAR)
    return {"data": base64.b64encode(data).decode("ascii")}
