"""Sticker packs: an account's known packs, and installing one from its signal.art link."""

from __future__ import annotations

from typing import Any

from signal_rest.backend import Backend
from signal_rest.errors import ValidationError

__all__ = ["install_pack", "list_packs", "pack_uri"]

INVALID_RESPONSE = "Couldn't process request - invalid signal-cli response"


def pack_uri(pack_id: str, pack_key: str) -> str:
    """The signal.art link signal-cli's addStickerPack takes."""
    return f"https://signal.art/addstickers/#pack_id={pack_id}&pack_key={pack_key}"


async def list_packs(backend: Backend, number: str) -> list[dict[str, Any]]:
    """`listStickerPacks` of `number`, in the Go project's field names."""
    packs = await backend.rpc.call("listStickerPacks", {"account": number})
    if not isinstance(packs, list) or not all(isinstance(p, dict) for p in packs):
        raise ValidationError(INVALID_RESPONSE)
    return [
        {
            "pack_id": p.get("packId"),
            "url": p.get("url"),
            "installed": p.get("installed"),
            "title": p.get("title"),
            "author": p.get("author"),
        }
        for p in packs
    ]


async def install_pack(backend: Backend, number: str, pack_id: str, pack_key: str) -> None:
    """`addStickerPack` with the pack's signal.art link."""
    params = {"uri": pack_uri(pack_id, pack_key), "account": number}
    await backend.rpc.call("addStickerPack", params)
