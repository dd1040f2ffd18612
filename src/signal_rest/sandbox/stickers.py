"""Sticker packs: network-wide uploads, and which packs each number's device knows.

A pack lives on the network once someone creates it (the control `sandbox.createStickerPack`,
standing in for signal-cli's uploadStickerPack). A number knows a pack after creating it, after
`addStickerPack` (installed) or after receiving a sticker from it (known, not installed), as
signal-cli stores every pack it sees. Only a known pack can be sent from or read with getSticker;
`listStickerPacks` lists the known ones in the order they became known.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from typing import Any

from .attachments import sniff
from .errors import INTERNAL_ERROR, RpcError, user_error
from .network import Network

STICKER_TYPES = ("image/webp", "image/png", "image/gif")
MAX_STICKERS = 200  # Signal's limit per pack
_STICKER = re.compile(r"([0-9a-f]+):([0-9]+)")


def url(pack_id: str, pack_key: str) -> str:
    return f"https://signal.art/addstickers/#pack_id={pack_id}&pack_key={pack_key}"


def java_hex(text: str) -> bytes:
    """signal-cli's Hex.toByteArray: pairs of Character.digit values, -1 for a non-hex char."""

    def digit(char: str) -> int:
        return int(char, 16) if char in "0123456789abcdefABCDEF" else -1

    return bytes(
        ((digit(text[i]) << 4) + digit(text[i + 1])) & 0xFF for i in range(0, len(text) - 1, 2)
    )


def pack_id_of(text: str) -> str | None:
    """The lowercase hex id a pack-id string names, as Hex.fromStringCondensed reads it."""
    if len(text) % 2:
        return None
    return java_hex(text).hex()


def _decode_sticker(index: int, entry: Any) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise user_error(f"stickers[{index}] must be an object with emoji and data")
    emoji = entry.get("emoji", "")
    data = entry.get("data")
    if not isinstance(emoji, str):
        raise user_error(f"stickers[{index}].emoji must be a string")
    if not isinstance(data, str) or not data:
        raise user_error(f"stickers[{index}].data must be a base64 WebP or PNG image")
    try:
        raw = base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        raise user_error(f"stickers[{index}].data is not valid base64") from None
    content_type = sniff(raw, None)
    if content_type not in STICKER_TYPES:
        raise user_error(f"stickers[{index}].data must be a WebP, PNG or GIF image")
    return {"emoji": emoji, "contentType": content_type, "data": base64.b64encode(raw).decode()}


def create(network: Network, creator: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Upload a pack as `creator` (who then knows it); its id, key and signal.art URL."""
    title = raw.get("title")
    author = raw.get("author", "")
    stickers = raw.get("stickers")
    if not isinstance(title, str) or not title:
        raise user_error("title must be a non-empty string")
    if not isinstance(author, str):
        raise user_error("author must be a string")
    if not isinstance(stickers, list) or not 1 <= len(stickers) <= MAX_STICKERS:
        raise user_error(f"stickers must be a list of 1 to {MAX_STICKERS} stickers")
    entries = [_decode_sticker(i, entry) for i, entry in enumerate(stickers)]
    pack_id, pack_key = secrets.token_hex(16), secrets.token_hex(32)
    manifest = {"title": title, "author": author, "stickers": entries}
    with network.store.transaction():
        network.store.run(
            "INSERT INTO sticker_packs (pack_id, pack_key, manifest) VALUES (?, ?, ?)",
            pack_id,
            pack_key,
            json.dumps(manifest),
        )
        learn(network, creator, pack_id, installed=False)
    return {"packId": pack_id, "packKey": pack_key, "url": url(pack_id, pack_key)}


def _pack(network: Network, pack_id: str) -> tuple[str, dict[str, Any]] | None:
    row = network.store.one(
        "SELECT pack_key, manifest FROM sticker_packs WHERE pack_id = ?", pack_id
    )
    return None if row is None else (str(row["pack_key"]), json.loads(row["manifest"]))


def install(network: Network, number: str, pack_id: str | None, pack_key: bytes) -> bool:
    """Download and install a pack for `number`; False when the network has no such pack or
    the key does not decrypt it (signal-cli cannot tell the two apart either)."""
    found = _pack(network, pack_id) if pack_id is not None else None
    if found is None or bytes.fromhex(found[0]) != pack_key:
        return False
    learn(network, number, str(pack_id), installed=True)
    return True


def learn(network: Network, number: str, pack_id: str, *, installed: bool) -> None:
    """`number`'s device now knows the pack; installing is sticky, learning never uninstalls."""
    network.store.run(
        "INSERT INTO sticker_views (number, pack_id, installed) VALUES (?, ?, ?) "
        "ON CONFLICT (number, pack_id) DO UPDATE SET installed = installed OR excluded.installed",
        number,
        pack_id,
        int(installed),
    )


def known(network: Network, number: str, pack_id: str) -> dict[str, Any] | None:
    """The manifest of a pack `number` knows, or None."""
    row = network.store.one(
        "SELECT 1 FROM sticker_views WHERE number = ? AND pack_id = ?", number, pack_id
    )
    found = _pack(network, pack_id) if row is not None else None
    return None if found is None else found[1]


def listing(network: Network, number: str) -> list[dict[str, Any]]:
    """signal-cli's listStickerPacks items for `number`."""
    rows = network.store.all(
        "SELECT v.pack_id, v.installed, p.pack_key, p.manifest FROM sticker_views v "
        "JOIN sticker_packs p ON p.pack_id = v.pack_id WHERE v.number = ? ORDER BY v.rowid",
        number,
    )
    out = []
    for row in rows:
        manifest = json.loads(row["manifest"])
        stickers = [
            {"id": i, "emoji": s["emoji"], "contentType": s["contentType"]}
            for i, s in enumerate(manifest["stickers"])
        ]
        out.append(
            {
                "packId": row["pack_id"],
                "url": url(row["pack_id"], row["pack_key"]),
                "installed": bool(row["installed"]),
                "title": manifest["title"],
                "author": manifest["author"],
                "cover": stickers[0] if stickers else None,
                "stickers": stickers,
            }
        )
    return out


def parse_sticker(value: str) -> tuple[str, int]:
    """A `send` sticker param as signal-cli's SendCommand parses it: (pack id, sticker id)."""
    match = _STICKER.fullmatch(value)
    if match is None or len(match.group(1)) % 2:
        raise user_error(f"Invalid sticker syntax ({value}) expected 'stickerPackId:stickerId'")
    digits = match.group(2)
    if int(digits) >= 2**31:
        raise RpcError(INTERNAL_ERROR, f'For input string: "{digits}" (NumberFormatException)')
    return match.group(1), int(digits)


def check_sendable(network: Network, me: str, value: str) -> None:
    """What signal-cli checks before it sends a sticker: the pack is known and holds the id."""
    pack_id, sticker_id = parse_sticker(value)
    manifest = known(network, me, pack_id)
    if manifest is None:
        raise user_error("Failed to send sticker: Sticker pack not found")
    if sticker_id >= len(manifest["stickers"]):
        raise user_error("Failed to send sticker: Sticker id not part of this pack")


def learn_from(network: Network, pack_id: str, results: list[dict[str, Any]]) -> None:
    """Every device a sticker reached now knows its pack (signal-cli downloads it on receipt)."""
    with network.store.transaction():
        for result in results:
            number = result["recipientAddress"].get("number")
            if result["type"] == "SUCCESS" and number:
                learn(network, number, pack_id, installed=False)
