"""Attachment ids: which names may be served from the attachments folder, and which ids a
received message refers to.

    check_id("AbC_12-xyz.png")      # "AbC_12-xyz.png"
    check_id("../secret")           # ValidationError(INVALID_ID)
    referenced_ids({"envelope": {"dataMessage": {"attachments": [{"id": "a.png", ...}]}}})
                                    # ["a.png"]

signal-cli names a downloaded attachment `<remote id><extension>`: the remote id is a number or
a URL-safe base64 key, the extension one of its MIME table's. So a valid id is a single file
name made of letters, digits, `_`, `-` and `.`, not starting with a dot: no separator, no `..`,
no NUL, nothing a path could be built from that leaves the folder.
"""

from __future__ import annotations

import re
from typing import Any

from signal_rest.errors import ValidationError

__all__ = ["INVALID_ID", "check_id", "is_valid_id", "referenced_ids"]

INVALID_ID = "Please provide a valid attachment name"

_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}")


def is_valid_id(name: str) -> bool:
    return _ID.fullmatch(name) is not None


def check_id(name: str) -> str:
    """`name` when it can only name a file directly inside the attachments folder, else a 400."""
    if not is_valid_id(name):
        raise ValidationError(INVALID_ID)
    return name


def referenced_ids(message: Any) -> list[str]:
    """The attachment ids a received message refers to, in order, each once: attachments of
    data, edit and sync messages, quote thumbnails, link preview images, contact avatars."""
    found: dict[str, None] = {}
    _collect(message, found)
    return list(found)


def _collect(value: Any, found: dict[str, None]) -> None:
    # signal-cli writes every attachment as a JsonAttachment: `contentType` beside `id`.
    if isinstance(value, dict):
        ident = value.get("id")
        if "contentType" in value and isinstance(ident, str) and is_valid_id(ident):
            found[ident] = None
        for item in value.values():
            _collect(item, found)
    elif isinstance(value, list):
        for item in value:
            _collect(item, found)
