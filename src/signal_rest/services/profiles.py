"""The account's own profile: name, about text and avatar, as its contacts see them.

    await update_profile(backend, "+4915…", name="Bot", about="beep", base64_avatar="")

Unlike the Go project, an update without an avatar keeps the current one: the Go project asks
signal-cli to remove it whenever `base64_avatar` is empty.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from signal_rest.backend import Backend
from signal_rest.domain.attachments import Decoded, TempAttachments
from signal_rest.services.groups import write_avatar

__all__ = ["update_profile"]


async def update_profile(
    backend: Backend,
    number: str,
    *,
    name: str,
    about: str | None,
    base64_avatar: str,
    decoded: Mapping[str, Decoded] | None = None,
) -> None:
    """`updateProfile`: the given name, the about text when given, the avatar when given (or
    already `decoded` by the body reader, see TempAttachments)."""
    params: dict[str, Any] = {"givenName": name}
    if about is not None:
        params["about"] = about
    files = TempAttachments(
        backend.tmp_dir, max_bytes=backend.settings.max_attachment_bytes, decoded=decoded
    )
    try:
        if base64_avatar:
            # Decoding a large avatar takes a while: keep the event loop free meanwhile.
            path = await asyncio.to_thread(write_avatar, files, base64_avatar)
            params["avatar"] = str(path)
        params["account"] = number
        await backend.rpc.call("updateProfile", params)
    finally:
        await asyncio.to_thread(files.cleanup)
