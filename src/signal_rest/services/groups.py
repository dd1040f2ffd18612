"""Groups: listing an account's groups and updates that carry an avatar file."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from signal_rest.backend import Backend
from signal_rest.domain.attachments import AttachmentSpec, TempAttachments
from signal_rest.errors import PayloadTooLarge, ValidationError

__all__ = ["fetch_groups", "update_with_avatar"]


async def fetch_groups(backend: Backend, number: str) -> list[dict[str, Any]]:
    """signal-cli's listGroups items of the account `number`."""
    groups = await backend.rpc.call("listGroups", {"account": number})
    return [g for g in groups if isinstance(g, dict)] if isinstance(groups, list) else []


def _write_avatar(files: TempAttachments, value: str) -> Path:
    # Raw base64 only, as in Go: a data URI fails to decode.
    try:
        return files.add_spec(AttachmentSpec(value))
    except PayloadTooLarge:
        raise
    except ValidationError as exc:
        raise ValidationError(f"Couldn't decode base64 encoded avatar: {exc.message}") from exc


async def update_with_avatar(backend: Backend, params: dict[str, Any], base64_avatar: str) -> None:
    """`updateGroup` with `params`, plus the avatar (raw base64) written to a temp file."""
    files = TempAttachments(backend.tmp_dir, max_bytes=backend.settings.max_attachment_bytes)
    try:
        if base64_avatar:
            # Decoding a large avatar takes a while: keep the event loop free meanwhile.
            path = await asyncio.to_thread(_write_avatar, files, base64_avatar)
            params = {**params, "avatar": str(path)}
        await backend.rpc.call("updateGroup", params)
    finally:
        await asyncio.to_thread(files.cleanup)
