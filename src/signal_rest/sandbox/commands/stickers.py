"""listStickerPacks, addStickerPack, getSticker."""

from __future__ import annotations

import base64
import string
from typing import Any
from urllib.parse import unquote_plus

from .. import stickers
from ..context import Context
from ..errors import INTERNAL_ERROR, IO_ERROR, RpcError, user_error
from ..params import Params

_UNRESERVED = string.ascii_letters + string.digits + "-_.!~*'()"
_PATH = _UNRESERVED + ":@&=+$,;/"
_URIC = _UNRESERVED + ";/?:@&=+$,[]"


def _npe(call: str, name: str) -> RpcError:
    return RpcError(
        INTERNAL_ERROR,
        f'Cannot invoke "{call}" because "{name}" is null (NullPointerException)',
    )


def _illegal(uri: str, start: int, end: int, allowed: str, component: str) -> str | None:
    i = start
    while i < end:
        char = uri[i]
        if char == "%":
            if not all(c in string.hexdigits for c in uri[i + 1 : i + 3]) or i + 3 > end:
                return f"Malformed escape pair at index {i}: {uri}"
            i += 3
            continue
        if char not in allowed and (ord(char) < 0x80 or not char.isprintable() or char.isspace()):
            return f"Illegal character in {component} at index {i}: {uri}"
        i += 1
    return None


def java_uri_error(uri: str) -> str | None:
    """The URISyntaxException message `new java.net.URI(uri)` throws, or None (a subset:
    illegal characters and bad escapes per component, which is what user input meets)."""
    cut = min([uri.find(c) for c in "/?#" if c in uri] or [len(uri)])
    colon = uri.find(":", 0, cut)
    pos = 0
    if colon == 0:
        return f"Expected scheme name at index 0: {uri}"
    if colon > 0:
        scheme = uri[:colon]
        for i, char in enumerate(scheme):
            ok = char.isascii() and (char.isalpha() or (i and (char.isdigit() or char in "+-.")))
            if not ok:
                return f"Illegal character in scheme name at index {i}: {uri}"
        pos = colon + 1
        if pos == len(uri):
            return f"Expected scheme-specific part at index {pos}: {uri}"
        if uri[pos] != "/":
            end = uri.find("#", pos) if "#" in uri[pos:] else len(uri)
            found = _illegal(uri, pos, end, _URIC, "opaque part")
            return found or _fragment(uri, end)
    if uri.startswith("//", pos):
        end = min([uri.find(c, pos + 2) for c in "/?#" if c in uri[pos + 2 :]] or [len(uri)])
        found = _illegal(uri, pos + 2, end, _PATH.replace("/", "") + "[]", "authority")
        if found:
            return found
        pos = end
    end = min([uri.find(c, pos) for c in "?#" if c in uri[pos:]] or [len(uri)])
    found = _illegal(uri, pos, end, _PATH, "path")
    if found:
        return found
    if end < len(uri) and uri[end] == "?":
        query_end = uri.find("#", end) if "#" in uri[end:] else len(uri)
        found = _illegal(uri, end + 1, query_end, _URIC, "query")
        if found:
            return found
        end = query_end
    return _fragment(uri, end)


def _fragment(uri: str, hash_at: int) -> str | None:
    if hash_at >= len(uri):
        return None
    return _illegal(uri, hash_at + 1, len(uri), _URIC, "fragment")


def _link(uri: str) -> tuple[str | None, bytes] | None:
    """(pack id, pack key) of a sticker pack link as StickerPackUrl.fromUri reads it."""
    fragment = uri.partition("#")[2] if "#" in uri else ""
    if not fragment:
        return None
    query: dict[str, str | None] = {}
    for part in fragment.split("&"):
        pieces = part.split("=")
        while len(pieces) > 1 and pieces[-1] == "":
            pieces.pop()  # Java's split drops trailing empty strings
        query[unquote_plus(pieces[0])] = unquote_plus(pieces[1]) if len(pieces) > 1 else None
    pack_id, pack_key = query.get("pack_id"), query.get("pack_key")
    if not pack_id or not pack_key or len(pack_id) % 2 or len(pack_key) % 2:
        return None
    return stickers.pack_id_of(pack_id), stickers.java_hex(pack_key)


async def list_sticker_packs(ctx: Context, raw: dict[str, Any]) -> Any:
    return stickers.listing(ctx.network, ctx.me)


async def add_sticker_pack(ctx: Context, raw: dict[str, Any]) -> Any:
    p = Params(raw)
    if not p.has("uri") and not p.has("uris"):
        raise _npe("java.util.List.iterator()", "uris")
    for uri in p.items("uri"):
        problem = java_uri_error(uri)
        if problem is not None:
            raise user_error(f"Sticker pack uri has invalid format: {problem}")
        link = _link(uri)
        if link is None:
            raise user_error("Invalid sticker pack link")
        if not stickers.install(ctx.network, ctx.me, *link):
            raise RpcError(IO_ERROR, "Install sticker pack failed")
    return {}


async def get_sticker(ctx: Context, raw: dict[str, Any]) -> Any:
    p = Params(raw)
    text = p.text("packId")
    if text is None:
        raise _npe("String.length()", "s")
    if len(text) % 2:
        raise RpcError(
            INTERNAL_ERROR,
            f"Index {len(text)} out of bounds for length {len(text)} "
            "(StringIndexOutOfBoundsException)",
        )
    pack_id = stickers.java_hex(text).hex()
    sticker_id = p.integer("stickerId")
    if sticker_id is None:
        raise _npe("java.lang.Integer.intValue()", "stickerId")
    manifest = stickers.known(ctx.network, ctx.me, pack_id)
    if manifest is None or not 0 <= sticker_id < len(manifest["stickers"]):
        raise user_error(
            f"Could not find sticker with ID: {sticker_id} in pack StickerPackId{{{pack_id}}}"
        )
    data = base64.b64decode(manifest["stickers"][sticker_id]["data"])
    return {"data": base64.b64encode(data).decode()}
