"""Bodies that carry large base64 files, read without ever holding them whole.

    async with file_body(request, SendV2, ATTACHMENTS, backend) as (body, decoded):
        ...  # body.base64_attachments holds stand-ins for the large ones, already decoded
        async with PreparedSend(backend, decoded) as prepared: ...
    # every file decoded from the body is gone here, whatever happened

A body no larger than `STREAM_AFTER` is read and parsed exactly as `read_body` and
`parse_json_body` do. A larger one is scanned as it arrives: each string value of a file field
(a top-level key such as `base64_attachments`, matched case-insensitively like every key, or
the items of its array) that is longer than `HEAD_BYTES` is decoded into its temp file chunk by
chunk and replaced in the body by a stand-in string; everything else (the small fields) is kept
byte for byte. What is kept is then checked and parsed by the same code as a small body, so
every answer is the same; the stand-ins lead `TempAttachments` to the decoded files, and a
file's error (bad base64, too large) is raised where decoding the string would have raised it.
The size limit applies while reading, as in `read_body`.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar

from fastapi import Request

from signal_rest.api.body import PREFIX, RequestModel, check_shape, parse_json_body, read_body
from signal_rest.api.nesting import MAX_VALUES
from signal_rest.backend import Backend
from signal_rest.domain.attachment_stream import StreamedAttachment
from signal_rest.domain.attachments import Decoded
from signal_rest.errors import PayloadTooLarge, ValidationError

__all__ = [
    "ATTACHMENT",
    "ATTACHMENTS",
    "AVATAR",
    "HEAD_BYTES",
    "STREAM_AFTER",
    "BodyScanner",
    "FileField",
    "file_body",
]

M = TypeVar("M", bound=RequestModel)

# Bodies up to this size (nearly all) are parsed whole, as any other route's.
STREAM_AFTER = 1 << 20
# A file string up to this long stays in the body and is decoded as before; the head of a
# longer one decides whether it is a data URI (its `base64,` mark must lie within it).
HEAD_BYTES = 64 << 10
# Why a file string is no JSON string.
_NOT_TEXT = "holds a bad escape or bytes that are not UTF-8"
# Longest key looked at; a longer one is no file field.
_MAX_KEY_BYTES = 256


@dataclass(frozen=True, slots=True)
class FileField:
    """A top-level key whose string value (`many`: whose array's strings) is a base64 file;
    `data_uri`: a `data:<mime>;filename=…;base64,` prefix is understood (not for avatars)."""

    key: str
    many: bool
    data_uri: bool


ATTACHMENTS = (FileField("base64_attachments", many=True, data_uri=True),)
ATTACHMENT = (FileField("base64_attachment", many=False, data_uri=True),)
AVATAR = (FileField("base64_avatar", many=False, data_uri=False),)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Request body is larger than the limit of {limit} bytes")


@asynccontextmanager
async def file_body(
    request: Request,
    model: type[M],
    fields: tuple[FileField, ...],
    backend: Backend,
) -> AsyncIterator[tuple[M, Mapping[str, Decoded]]]:
    """The body as `model` and the files decoded while it was read, by stand-in; the files
    are deleted on leaving the block, and when reading or parsing fails (a client that goes
    away mid-body included)."""
    settings = backend.settings
    limit = settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) <= STREAM_AFTER:
        # Known to be small: the ordinary path, with no scanner at all.
        yield parse_json_body(model, await read_body(request, files=True)), {}
        return
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)

    def start(head: str, field: FileField) -> StreamedAttachment:
        return StreamedAttachment.open(
            head,
            backend.tmp_dir,
            max_bytes=settings.max_attachment_bytes,
            data_uri=field.data_uri,
        )

    scanner: BodyScanner | None = None
    buffered = bytearray()
    try:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            if scanner is not None:
                scanner.feed(chunk)
                continue
            buffered += chunk
            if len(buffered) > STREAM_AFTER:
                scanner = BodyScanner(fields, start, max_depth=settings.max_json_depth)
                scanner.feed(bytes(buffered))
                buffered = bytearray()
        if scanner is None:
            raw, broken, known_until = bytes(buffered), None, None
        else:
            raw, broken = scanner.finish()
            known_until = scanner.changed_from
        check_shape(raw, settings)
        if broken is not None:
            raise ValidationError(f"{PREFIX}invalid JSON: {broken}")
        body = parse_json_body(model, raw, known_until=known_until)
        decoded: Mapping[str, Decoded] = scanner.files if scanner is not None else {}
        yield body, decoded
    finally:
        if scanner is not None:
            await asyncio.to_thread(scanner.abort)


# -- the scanner ---------------------------------------------------------------------------

_STRUCTURE_TOP = re.compile(rb'["\[\]{},:]')
_STRUCTURE_DEEP = re.compile(rb'["\[\]{}]')
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_HIGH_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}")

# What a string being read is.
_PLAIN, _KEY, _FILE = 0, 1, 2


class BodyScanner:
    """Splits a JSON body into what is kept (`finish`'s bytes) and the file strings, decoded
    by `start(head, field)`'s attachments. It only tracks what it needs: the depth, whether a
    top-level string is a key, and the last key; the JSON parser judges the rest."""

    def __init__(
        self,
        fields: tuple[FileField, ...],
        start: Callable[[str, FileField], StreamedAttachment],
        *,
        max_depth: int,
    ) -> None:
        self._fields = {f.key: f for f in fields}
        self._start = start
        self._max_depth = max_depth
        self._tag = secrets.token_hex(8)
        self.files: dict[str, StreamedAttachment] = {}
        self._kept = bytearray()
        self._depth = 0
        self._top_object = False
        self._expect_key = False
        self._value_field: FileField | None = None  # the key just read names a file field
        self._array_field: FileField | None = None  # the depth-2 array is a file field's
        self._events = 0
        self._passthrough = False
        self._first = True
        # The string being read.
        self._string: int | None = None
        self._escaped = False  # its last byte so far is a backslash that escapes the next
        self._raw = bytearray()  # a key, or a file string's head
        self._text: _Unescaper | None = None
        self._file: StreamedAttachment | None = None
        self._file_field: FileField | None = None
        self._skip = False  # the file string being read is malformed: skip to its end
        self._broken: str | None = None  # why a file string was not valid JSON
        # Where what is kept first differs from the body as sent: a stand-in or "" for a
        # file string taken out. Before it, a position in what is kept is one in the body.
        self.changed_from: int | None = None

    def feed(self, data: bytes) -> None:
        if self._first:
            self._first = False
            if json.detect_encoding(data[:4]) not in ("utf-8", "utf-8-sig"):
                self._passthrough = True  # UTF-16 or -32: kept whole, like a small body
        if self._passthrough:
            self._kept += data
            return
        pos = 0
        end = len(data)
        while pos < end:
            if self._string is not None:
                pos = self._in_string(data, pos)
                continue
            pattern = _STRUCTURE_TOP if self._depth <= 1 else _STRUCTURE_DEEP
            found = pattern.search(data, pos)
            if found is None:
                self._kept += data[pos:]
                return
            at = found.start()
            self._kept += data[pos:at]
            pos = at + 1
            self._structure(data[at])
            if self._passthrough:
                self._kept += data[pos:]
                return

    def finish(self) -> tuple[bytes, str | None]:
        """What is kept, and why a file string was malformed (None: none was)."""
        if self._string == _FILE:
            self._file_broken("the body ends inside it")
        return bytes(self._kept), self._broken

    def abort(self) -> None:
        for file in self.files.values():
            file.abort()
        if self._file is not None:
            self._file.abort()

    # -- structure -------------------------------------------------------------------------

    def _structure(self, char: int) -> None:
        self._events += 1
        if self._events > 2 * MAX_VALUES or self._depth > self._max_depth:
            # Too many values or too deep to be worth following (shape_error likely refuses
            # the body): keep the rest as it comes.
            self._passthrough = True
            self._kept.append(char)
            return
        if char == ord('"'):
            self._open_string()
            return
        self._kept.append(char)
        if char in b"[{":
            self._depth += 1
            if self._depth == 1:
                self._top_object = char == ord("{")
                self._expect_key = self._top_object
            elif self._depth == 2:
                field = self._value_field
                self._array_field = field if char == ord("[") and field and field.many else None
            self._value_field = None if self._depth == 2 else self._value_field
        elif char in b"]}":
            self._depth -= 1
            if self._depth <= 1:
                self._array_field = None
                self._value_field = None
        elif self._depth == 1 and char == ord(","):
            self._expect_key = self._top_object
            self._value_field = None
        elif self._depth == 1 and char == ord(":"):
            self._expect_key = False

    def _open_string(self) -> None:
        self._escaped = False
        self._skip = False
        self._raw = bytearray()
        if self._depth == 1 and self._top_object and self._expect_key:
            self._string = _KEY
        elif (
            self._depth == 1
            and self._top_object
            and self._value_field is not None
            and not self._value_field.many
        ):
            self._string, self._file_field = _FILE, self._value_field
        elif self._depth == 2 and self._array_field is not None:
            self._string, self._file_field = _FILE, self._array_field
        else:
            self._string = _PLAIN
            self._kept.append(ord('"'))
            return
        if self._string == _KEY:
            self._kept.append(ord('"'))

    # -- strings ---------------------------------------------------------------------------

    def _in_string(self, data: bytes, pos: int) -> int:
        """Consume string content from `pos`; return where scanning goes on."""
        close = _closing_quote(data, pos, self._escaped)
        stop = len(data) if close < 0 else close
        content = data[pos:stop]
        if close < 0:
            run = len(content) - len(content.rstrip(b"\\"))
            odd = run % 2 == 1
            self._escaped = odd if run < len(content) else self._escaped != odd
        kind = self._string
        if kind == _PLAIN:
            self._kept += content
        elif kind == _KEY:
            self._kept += content
            if len(self._raw) <= _MAX_KEY_BYTES:
                self._raw += content
        else:
            self._file_content(content)
        if close < 0:
            return len(data)
        self._string = None
        if kind == _PLAIN:
            self._kept.append(ord('"'))
        elif kind == _KEY:
            self._kept.append(ord('"'))
            self._key_read()
        else:
            self._file_done()
        return close + 1

    def _key_read(self) -> None:
        self._value_field = None
        if len(self._raw) > _MAX_KEY_BYTES:
            return
        try:
            key = json.loads(b'"' + bytes(self._raw) + b'"', strict=False)
        except ValueError:
            return  # the parser refuses the body
        key = _LONE_SURROGATE.sub("\ufffd", key).lower()
        self._value_field = self._fields.get(key)

    def _file_content(self, content: bytes) -> None:
        if self._skip:
            return
        if self._file is None:
            self._raw += content
            if len(self._raw) > HEAD_BYTES:
                self._begin_file()
            return
        assert self._text is not None
        try:
            piece = self._text.feed(content)
        except ValueError:
            self._file_broken(_NOT_TEXT)
            return
        self._file.feed(piece)

    def _begin_file(self) -> None:
        assert self._file_field is not None
        text = _Unescaper()
        raw, self._raw = bytes(self._raw), bytearray()
        try:
            head = text.feed(raw)
        except ValueError:
            self._file_broken(_NOT_TEXT)
            return
        self._text = text
        head_text = head.decode("ascii") if isinstance(head, bytes) else head
        self._file = self._start(head_text, self._file_field)

    def _file_done(self) -> None:
        if self._skip:
            self._skip = False
            self._take_out(b'""')
            return
        file, text = self._file, self._text
        self._file, self._text = None, None
        if file is None or text is None:
            # Short: it stays in the body and is decoded later, as before.
            self._kept += b'"' + bytes(self._raw) + b'"'
            self._raw = bytearray()
            return
        try:
            file.feed(text.finish())
        except ValueError:
            file.abort()
            self._note_broken(_NOT_TEXT)
            self._take_out(b'""')
            return
        file.finish()
        stand_in = f"\x00streamed {self._tag} {len(self.files)}"
        self.files[stand_in] = file
        self._take_out(json.dumps(stand_in).encode())

    def _take_out(self, replacement: bytes) -> None:
        if self.changed_from is None:
            self.changed_from = len(self._kept)
        self._kept += replacement

    def _note_broken(self, why: str) -> None:
        if self._broken is None:
            assert self._file_field is not None
            self._broken = f"a string of {self._file_field.key} {why}"

    def _file_broken(self, why: str) -> None:
        # Not JSON (a bad escape, not UTF-8): the body is refused; skip to the string's end.
        self._note_broken(why)
        self._skip = True
        if self._file is not None:
            self._file.abort()
        self._file, self._text = None, None


def _closing_quote(data: bytes, pos: int, escaped: bool) -> int:
    """Where the string going on at `pos` ends (-1: not in `data`); `escaped`: the byte at
    `pos` is escaped by a backslash before it."""
    start = pos + 1 if escaped else pos
    while True:
        quote = data.find(b'"', start)
        if quote < 0:
            return -1
        before = data[start:quote]
        run = len(before) - len(before.rstrip(b"\\"))
        if run % 2 == 0:
            return quote
        start = quote + 1


class _Unescaper:
    """A JSON string's content (bytes, as in the body) → its text, a piece at a time. A piece
    is ASCII bytes when it is only that (nearly always, for base64), else a str; lone
    surrogates become U+FFFD as in `load_json`. Raises ValueError for what is not JSON."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, raw: bytes) -> str | bytes:
        data = self._pending + raw if self._pending else raw
        cut = _safe_cut(data)
        self._pending = data[cut:]
        return _text(data[:cut])

    def finish(self) -> str | bytes:
        data, self._pending = self._pending, b""
        return _text(data)


def _text(raw: bytes) -> str | bytes:
    if b"\\" not in raw:
        if raw.isascii():
            return raw
        text = raw.decode("utf-8", "surrogatepass")
    else:
        text = json.loads(b'"' + raw + b'"', strict=False)
        if not isinstance(text, str):
            raise ValueError("not a string")
    return _LONE_SURROGATE.sub("\ufffd", text)


def _safe_cut(data: bytes) -> int:
    """Where `data` can be cut without splitting an escape, a surrogate pair's two escapes or
    a UTF-8 character: what follows is kept for the next piece."""
    cut = len(data)
    # A multi-byte UTF-8 character at the end may be incomplete.
    lead = cut - 1
    while lead >= 0 and cut - lead <= 3 and data[lead] & 0xC0 == 0x80:
        lead -= 1
    if lead >= 0 and data[lead] >= 0xC0:
        cut = lead
    # The last escape near the end may be incomplete, or the first half of a pair.
    slash = data.rfind(b"\\", max(0, cut - 12), cut)
    if slash < 0:
        return cut
    start = slash if _escapes(data, slash) else slash - 1
    cut = min(cut, start)
    pair = start - 6
    if pair >= 0 and _HIGH_SURROGATE_ESCAPE.match(data, pair) and _escapes(data, pair):
        cut = pair
    return cut


def _escapes(data: bytes, slash: int) -> bool:
    """Whether the backslash at `slash` starts an escape (rather than being escaped)."""
    before = data[:slash]
    run = len(before) - len(before.rstrip(b"\\"))
    return run % 2 == 0
