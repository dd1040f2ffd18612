"""Avatars signal-cli keeps: fetched with `getAvatar`, which answers the file base64.

    avatar = await group_avatar(backend, "+4915…", internal_group_id)
    avatar.content_type, avatar.data          # "image/png", b"\\x89PNG…"

Avatars are small (Signal limits them to a few MB), so each is decoded whole.
"""

from __future__ import annotations

from dataclasses import dataclass

from signal_rest.backend import Backend
from signal_rest.domain import b64
from signal_rest.domain.sniffing import content_type
from signal_rest.errors import InternalError, NotFound, RpcError

__all__ = ["NO_AVATAR", "Avatar", "group_avatar", "person_avatar"]

NO_AVATAR = "No avatar found."
_SIGNAL_CLI_NO_AVATAR = "Could not find avatar"


@dataclass(frozen=True)
class Avatar:
    content_type: str
    data: bytes


async def group_avatar(backend: Backend, account: str, group_id: str) -> Avatar:
    """The avatar of the group with the internal id `group_id`; NotFound without one."""
    return await _get_avatar(backend, {"groupId": group_id, "account": account})


async def person_avatar(backend: Backend, account: str, recipient: str) -> Avatar:
    """The profile avatar of `recipient` (a number or ACI); NotFound without one."""
    return await _get_avatar(backend, {"profile": recipient, "account": account})


async def _get_avatar(backend: Backend, params: dict[str, str]) -> Avatar:
    try:
        result = await backend.rpc.call("getAvatar", params)
    except RpcError as exc:
        if exc.message == _SIGNAL_CLI_NO_AVATAR:
            raise NotFound(NO_AVATAR) from exc
        raise
    encoded = result.get("data") if isinstance(result, dict) else None
    try:
        data = b64.decode(encoded if isinstance(encoded, str) else "")
    except b64.Base64Error as exc:
        raise InternalError("signal-cli answered getAvatar with data that is not base64") from exc
    return Avatar(content_type(data), data)
