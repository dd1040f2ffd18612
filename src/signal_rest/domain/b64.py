"""Standard base64 exactly as Go's `base64.StdEncoding` accepts it, decoded in chunks.

    layout = scan(text)                  # raises Base64Error("illegal base64 data at input byte 4")
    for chunk in iter_decode(text, layout):
        out.write(chunk)
    decode("YWJjPQ==")                   # b"abc=" (small inputs: group ids)

The Go project decodes attachments and group ids with `StdEncoding.DecodeString`: padding is
required, `\\r` and `\\n` are skipped anywhere, anything else outside the alphabet is an error
whose byte offset clients see in the message. Python's `binascii` silently skips junk (or, in
strict mode, rejects newlines and reports no offset), so `scan` reproduces Go's error positions
itself and the decoding proper is left to `binascii` on input already known to be valid.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Base64Error", "Layout", "decode", "describe", "iter_decode", "scan"]

# 1 MiB of text (a multiple of 4) decodes to 768 KiB: large enough to keep binascii busy, small
# enough that a 100 MB attachment never has more than one chunk decoded in memory.
CHUNK_CHARS = 1 << 20

_NOT_BODY = re.compile(r"[^A-Za-z0-9+/\r\n]")
_NEWLINES = re.compile(r"[\r\n]*")


class Base64Error(ValueError):
    """The text is not standard padded base64. `str()` is Go's `CorruptInputError` text; `reason`
    says in words what is wrong at `offset` (a byte offset into the UTF-8 text, as in Go)."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(f"illegal base64 data at input byte {offset}")
        self.offset = offset
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Layout:
    """Where the data of a valid base64 text is: `text[:body_end]` holds every alphabet character
    (plus newlines), followed only by padding and newlines; `size` is the decoded length."""

    body_end: int
    size: int


def scan(text: str) -> Layout:
    """Validate `text` the way Go's decoder does, without decoding it; raise `Base64Error`."""
    invalid = _NOT_BODY.search(text)
    end = invalid.start() if invalid else len(text)
    alphabet = end - text.count("\n", 0, end) - text.count("\r", 0, end)
    partial = alphabet % 4  # characters of the last, unfinished 4-character quantum
    full_size = alphabet // 4 * 3
    # Everything before `end` is ASCII, so character offsets up to there equal Go's byte offsets.
    if invalid is None:
        if partial:
            # Go reports the end of input minus the quantum's characters read so far.
            raise Base64Error(len(text) - partial, "the input is not padded to a multiple of 4")
        return Layout(end, full_size)
    if text[end] != "=":
        raise Base64Error(end, describe(text[end]))
    if partial < 2:
        raise Base64Error(end, "'=' padding in the wrong place")
    pos = end + 1
    if partial == 2:
        pos = _skip_newlines(text, pos)
        if pos == len(text):
            raise Base64Error(pos, "the second '=' of the padding is missing")
        if text[pos] != "=":
            raise Base64Error(pos - 1, "the second '=' of the padding is missing")
        pos += 1
    pos = _skip_newlines(text, pos)
    if pos < len(text):
        raise Base64Error(pos, "there is data after the '=' padding")
    return Layout(end, full_size + partial - 1)


def iter_decode(text: str, layout: Layout, chunk_chars: int = CHUNK_CHARS) -> Iterator[bytes]:
    """Yield the decoded bytes of `text` (already checked by `scan`) a chunk at a time."""
    carry = ""
    for start in range(0, layout.body_end, chunk_chars):
        piece = text[start : min(start + chunk_chars, layout.body_end)]
        if "\n" in piece or "\r" in piece:
            piece = piece.replace("\n", "").replace("\r", "")
        piece = carry + piece
        cut = len(piece) - len(piece) % 4
        carry = piece[cut:]
        if cut:
            yield binascii.a2b_base64(piece[:cut])
    if carry:
        # `scan` guarantees 2 or 3 leftover characters, which the stripped padding completed.
        yield binascii.a2b_base64(carry + "=" * (4 - len(carry)))


def decode(text: str) -> bytes:
    """Decode a small base64 text whole; raise `Base64Error` like Go's `DecodeString`."""
    return b"".join(iter_decode(text, scan(text)))


def _skip_newlines(text: str, pos: int) -> int:
    match = _NEWLINES.match(text, pos)
    return match.end() if match else pos


def describe(char: str) -> str:
    """Why `char` cannot stand where base64 data is expected, in words."""
    if char in "-_":
        return f"{char!r} is URL-safe base64; only the standard alphabet (+ and /) is accepted"
    if char.isspace():
        return f"unexpected whitespace {char!r}; only line breaks are ignored"
    return f"unexpected character {char!r}"
