"""Attachment upload (paths and RFC 2397 data URIs) into the network's attachment store."""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
import secrets
import string
from pathlib import Path
from typing import Any
from urllib.parse import unquote, unquote_to_bytes

from .errors import INTERNAL_ERROR, RpcError

_ID_CHARS = string.ascii_letters + string.digits + "_-"
_MAGIC: list[tuple[bytes, str]] = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"OggS", "audio/ogg"),
    (b"ID3", "audio/mpeg"),
    (b"PK\x03\x04", "application/zip"),
    (b"BM", "image/bmp"),
]


def sniff(data: bytes, filename: str | None) -> str:
    """The file name first (Files.probeContentType), then the content
    (URLConnection.guessContentTypeFromStream), as signal-cli's Utils.getFileMimeType does."""
    if filename:
        guessed, _ = mimetypes.guess_type(filename)
        if guessed:
            return guessed
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    return "application/octet-stream"


_STORED_ID = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)?")


def referenced_ids(value: Any) -> list[str]:
    """The ids of the attachments (JsonAttachments: `id` beside `contentType`) in a message.

    A walk with a stack of the containers still to look into, not a recursive generator: it
    runs on every message handed over, most of which have no attachment at all."""
    found: list[str] = []
    todo = [value]
    while todo:
        item = todo.pop()
        if type(item) is dict:
            ident = item.get("id")
            if "contentType" in item and type(ident) is str and _STORED_ID.fullmatch(ident):
                found.append(ident)
            todo.extend(v for v in item.values() if type(v) is dict or type(v) is list)
        elif type(item) is list:
            todo.extend(v for v in item if type(v) is dict or type(v) is list)
    return found


def _invalid(name: str, reason: str) -> RpcError:
    return RpcError(
        INTERNAL_ERROR,
        f"Failed to send message: {name}: {reason} "
        "(AttachmentInvalidException) (UnexpectedErrorException)",
    )


def read_source(source: str) -> tuple[bytes, str, str | None]:
    """(bytes, content type, file name) of an attachment given as path or data URI."""
    if source.startswith("data:"):
        return _data_uri(source)
    path = Path(source)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _invalid(source, f"{source} ({exc.strerror or 'unreadable'})") from None
    return data, sniff(data, path.name), path.name


def _data_uri(uri: str) -> tuple[bytes, str, str | None]:
    header, sep, payload = uri[5:].partition(",")
    if not sep:
        raise _invalid(uri[:40], "Invalid data URI")
    parts = header.split(";")
    mime = parts[0] or "text/plain"
    filename: str | None = None
    is_base64 = False
    for part in parts[1:]:
        if part == "base64":
            is_base64 = True
        elif part.startswith("filename="):
            filename = unquote(part[len("filename=") :])
    try:
        data = base64.b64decode(payload, validate=True) if is_base64 else unquote_to_bytes(payload)
    except binascii.Error:
        raise _invalid(uri[:40], "Invalid base64 data") from None
    return data, mime, filename


def _extension(filename: str | None, mime: str) -> str:
    if filename and "." in filename:
        ext = filename.rsplit(".", 1)[1]
        if ext and all(c in _ID_CHARS for c in ext):
            return "." + ext
    guessed = mimetypes.guess_extension(mime)
    return guessed or ""


def store_attachment(directory: Path, source: str, uploaded: int) -> dict[str, Any]:
    """Upload one attachment; returns the JsonAttachment recipients will see."""
    data, mime, filename = read_source(source)
    attachment_id = "".join(secrets.choice(_ID_CHARS) for _ in range(20)) + _extension(
        filename, mime
    )
    (directory / attachment_id).write_bytes(data)
    return {
        "contentType": mime,
        "filename": filename,
        "id": attachment_id,
        "size": len(data),
        "width": None,
        "height": None,
        "caption": None,
        "uploadTimestamp": uploaded,
    }
