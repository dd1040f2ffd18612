"""Groups: listing an account's groups and updates that carry an avatar file."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from signal_rest.backend import Backend
from signal_rest.domain.attachments import AttachmentSpec, Decoded, TempAttachments
from signal_rest.errors import NotFound, PayloadTooLarge, RpcError, ValidationError

__all__ = ["fetch_groups", "leave_group", "update_group", "update_with_avatar", "write_avatar"]

_NO_GROUP = "Failed to send to group: Group not found"
_LAST_ADMIN = "You need to specify a new admin with --admin"
ONLY_ADMIN = (
    "You are the only admin of this group: name a member as new admin with "
    "?new_admin=<number> to leave it (members: {}) (signal-cli: {})"
)

# What signal-cli says when Signal's server refuses a group change the account may not make.
_REFUSED = "Authorization failed! (AuthorizationFailedException)"
NOT_ALLOWED = (
    "The group's permissions do not allow this account that change: only an admin may make "
    "it, or change who may (signal-cli: {})"
)


async def fetch_groups(backend: Backend, number: str) -> list[dict[str, Any]]:
    """signal-cli's listGroups items of the account `number`."""
    groups = await backend.rpc.call("listGroups", {"account": number})
    return [g for g in groups if isinstance(g, dict)] if isinstance(groups, list) else []


async def update_group(backend: Backend, params: dict[str, Any]) -> Any:
    """`updateGroup`; a change the group's permissions refuse says so in REST terms."""
    try:
        return await backend.rpc.call("updateGroup", params)
    except RpcError as exc:
        if _REFUSED not in exc.message:
            raise
        raise RpcError(exc.code, NOT_ALLOWED.format(exc.message), exc.data) from exc


def write_avatar(files: TempAttachments, value: str) -> Path:
    """An avatar (raw base64 only, as in Go: a data URI fails to decode) as a temp file."""
    try:
        return files.add_spec(AttachmentSpec(value))
    except PayloadTooLarge:
        raise
    except ValidationError as exc:
        raise ValidationError(f"Couldn't decode base64 encoded avatar: {exc.message}") from exc


async def update_with_avatar(
    backend: Backend,
    params: dict[str, Any],
    base64_avatar: str,
    decoded: Mapping[str, Decoded] | None = None,
) -> None:
    """`updateGroup` with `params`, plus the avatar (raw base64) written to a temp file (or
    already `decoded` by the body reader, see TempAttachments)."""
    files = TempAttachments(
        backend.tmp_dir, max_bytes=backend.settings.max_attachment_bytes, decoded=decoded
    )
    try:
        if base64_avatar:
            # Decoding a large avatar takes a while: keep the event loop free meanwhile.
            path = await asyncio.to_thread(write_avatar, files, base64_avatar)
            params = {**params, "avatar": str(path)}
        await update_group(backend, params)
    finally:
        await asyncio.to_thread(files.cleanup)


async def leave_group(
    backend: Backend, number: str, internal_id: str, new_admins: list[str], *, delete: bool
) -> None:
    """Leave the group (making `new_admins` admins first); with `delete`, forget it locally."""
    params: dict[str, Any] = {"groupId": internal_id, "account": number}
    if delete:
        params["delete"] = True
    if new_admins:
        params["admin"] = new_admins
    try:
        await backend.rpc.call("quitGroup", params)
    except RpcError as exc:
        if exc.message.startswith(_NO_GROUP):
            raise NotFound("No group with that id found") from exc
        if not exc.message.startswith(_LAST_ADMIN):
            raise
        group = next(
            (g for g in await fetch_groups(backend, number) if g.get("id") == internal_id), {}
        )
        others = [
            str(m.get("number") or m.get("uuid"))
            for m in group.get("members") or []
            if isinstance(m, dict) and m.get("number") != number
        ]
        text = ONLY_ADMIN.format(", ".join(others), exc.message)
        raise RpcError(exc.code, text, exc.data) from exc
