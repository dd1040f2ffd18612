"""One base64 attachment decoded into its temp file while its text is still arriving.

    stream = StreamedAttachment.open(head, directory, max_bytes=limit, data_uri=True)
    stream.feed(more_text)              # str, or bytes known to be ASCII; any number of times
    stream.finish()
    path = stream.result()              # or the ValidationError/PayloadTooLarge `decode_to_file`
                                        # raises for the same text, raised only now

The outcome is the one `decode_to_file(parse_attachment(text))` gives for the whole text, with
Go's error offsets, but the text is never held: at most one base64 quantum and the first
`SNIFF_BYTES` decoded bytes (to name the file) are kept. `head` (the text's first part, a few
KiB or more) decides whether the text is a data URI; a data URI's `base64,` mark and file name
must lie within it. A failure deletes what was written at once; `abort` deletes it too.
"""

from __future__ import annotations

import binascii
import contextlib
import re
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from signal_rest.domain.attachments import (
    NO_BASE64_DATA,
    AttachmentSpec,
    basename,
    extension_for,
    parse_attachment,
    sniff_mime,
)
from signal_rest.domain.b64 import Base64Error, describe
from signal_rest.domain.sniffing import SNIFF_BYTES
from signal_rest.errors import PayloadTooLarge, SignalApiError, ValidationError

__all__ = ["Base64Stream", "StreamedAttachment"]

_NOT_BODY = re.compile(r"[^A-Za-z0-9+/\r\n]")
_NOT_BODY_BYTES = re.compile(rb"[^A-Za-z0-9+/\r\n]")
_NOT_NEWLINE = re.compile(r"[^\r\n]")
_NOT_NEWLINE_BYTES = re.compile(rb"[^\r\n]")


class Base64Stream:
    """`b64.scan` and `b64.iter_decode` over text that comes in pieces: each full quantum is
    handed to `write` as soon as it is complete; `finish` returns the decoded size or raises the
    `Base64Error` that `scan` raises for the whole text."""

    def __init__(self, write: Callable[[bytes], None]) -> None:
        self._write = write
        self._offset = 0  # characters fed so far
        self._alphabet = 0
        self._carry = b""
        self._padding = False  # past the first "="
        self._partial = 0
        self._second_missing = False
        self.error: Base64Error | None = None

    def feed(self, text: str | bytes) -> None:
        if self.error is not None:
            return
        start = 0
        if not self._padding:
            invalid = (
                _NOT_BODY_BYTES.search(text) if isinstance(text, bytes) else _NOT_BODY.search(text)
            )
            end = invalid.start() if invalid else len(text)
            self._decode(text[:end])
            if invalid is None:
                self._offset += len(text)
                return
            char = text[end : end + 1]
            char = char.decode("latin-1") if isinstance(char, bytes) else char
            at = self._offset + end
            partial = self._alphabet % 4
            if char != "=":
                self.error = Base64Error(at, describe(char))
                return
            if partial < 2:
                self.error = Base64Error(at, "'=' padding in the wrong place")
                return
            self._padding, self._partial = True, partial
            self._second_missing = partial == 2
            start = end + 1
        self._pad(text, start)
        self._offset += len(text)

    def finish(self) -> int:
        if self.error is not None:
            raise self.error
        if not self._padding:
            partial = self._alphabet % 4
            if partial:
                self.error = Base64Error(
                    self._offset - partial, "the input is not padded to a multiple of 4"
                )
                raise self.error
            return self._alphabet // 4 * 3
        if self._second_missing:
            self.error = Base64Error(self._offset, "the second '=' of the padding is missing")
            raise self.error
        self._write(binascii.a2b_base64(self._carry + b"=" * (4 - len(self._carry))))
        return self._alphabet // 4 * 3 + self._partial - 1

    def _decode(self, body: str | bytes) -> None:
        if not body:
            return
        # Only alphabet characters and line breaks: ASCII.
        data = body.encode("ascii") if isinstance(body, str) else body
        if b"\n" in data or b"\r" in data:
            data = data.translate(None, b"\r\n")
        self._alphabet += len(data)
        data = self._carry + data
        cut = len(data) - len(data) % 4
        self._carry = data[cut:]
        if cut:
            self._write(binascii.a2b_base64(data[:cut]))

    def _pad(self, text: str | bytes, pos: int) -> None:
        # After the first "=": line breaks, the second "=" when one is due, then nothing.
        while True:
            found = (
                _NOT_NEWLINE_BYTES.search(text, pos)
                if isinstance(text, bytes)
                else _NOT_NEWLINE.search(text, pos)
            )
            if found is None:
                return
            at = found.start()
            if self._second_missing and text[at : at + 1] in ("=", b"="):
                self._second_missing = False
                pos = at + 1
                continue
            if self._second_missing:
                self.error = Base64Error(
                    self._offset + at - 1, "the second '=' of the padding is missing"
                )
            else:
                self.error = Base64Error(self._offset + at, "there is data after the '=' padding")
            return


class StreamedAttachment:
    """One attachment's text → `<directory>/<uuid4>/<name>`, as `decode_to_file` names it."""

    def __init__(self, spec: AttachmentSpec, directory: Path, *, max_bytes: int) -> None:
        self._directory = directory
        self._max_bytes = max_bytes
        self._name = basename(spec.filename or "")
        self._head = bytearray()
        self._file: BinaryIO | None = None
        self._folder: Path | None = None
        self._path: Path | None = None
        self._written = 0
        self._chars = 0
        self._failure: SignalApiError | None = None
        self._done = False
        self._base64 = Base64Stream(self._take)
        self.feed(spec.payload)

    @classmethod
    def open(
        cls, head: str, directory: Path, *, max_bytes: int, data_uri: bool
    ) -> StreamedAttachment:
        """Start with the text's first part; `data_uri=False` for raw base64 (avatars)."""
        spec = parse_attachment(head) if data_uri else AttachmentSpec(head)
        return cls(spec, directory, max_bytes=max_bytes)

    def feed(self, text: str | bytes) -> None:
        self._chars += len(text)
        if self._base64.error is None:
            self._base64.feed(text)
            if self._base64.error is not None:
                self._discard()

    def finish(self) -> None:
        """The text is complete: settle the outcome (file or error)."""
        if self._done:
            return
        self._done = True
        # The order of decode_to_file: the text's validity, its size, then writing it.
        try:
            size = self._base64.finish()
        except Base64Error as exc:
            self._fail(ValidationError(f"{exc} ({exc.reason})"))
            return
        if self._chars == 0 or size == 0:
            self._fail(ValidationError(NO_BASE64_DATA))
        elif size > self._max_bytes:
            self._fail(
                PayloadTooLarge(
                    f"Attachment too large: {size} bytes decoded, the limit is "
                    f"{self._max_bytes} bytes"
                )
            )
        elif self._failure is None:
            self._settle()

    def result(self) -> Path:
        """The decoded file, or the error decoding the same text whole raises."""
        if self._failure is not None:
            raise self._failure
        if self._path is None:
            raise RuntimeError("StreamedAttachment.result before finish")
        return self._path

    def abort(self) -> None:
        """Delete whatever was written (the request failed or went away)."""
        self._done = True
        self._discard()

    # -- writing ---------------------------------------------------------------------------

    def _take(self, data: bytes) -> None:
        self._written += len(data)
        if self._failure is not None or self._written > self._max_bytes:
            self._discard()  # too large: only counted from here on
            return
        if self._file is None:
            self._head += data
            if len(self._head) >= SNIFF_BYTES:
                self._create()
            return
        self._write(data)

    def _create(self) -> None:
        name = self._name
        if name is None:
            name = f"{uuid.uuid4()}{extension_for(sniff_mime(bytes(self._head)))}"
        self._folder = self._directory / str(uuid.uuid4())
        try:
            self._folder.mkdir(parents=True)
            self._path = self._folder / name
            self._file = self._path.open("xb")
        except OSError as exc:
            self._write_failed(exc)
            return
        head, self._head = bytes(self._head), bytearray()
        self._write(head)

    def _write(self, data: bytes) -> None:
        assert self._file is not None
        try:
            self._file.write(data)
        except OSError as exc:
            self._write_failed(exc)

    def _write_failed(self, exc: OSError) -> None:
        # Go answers 400 with the file error too; this is the file-system boundary.
        folder = self._folder
        self._discard()
        self._failure = SignalApiError(f"Couldn't write attachment to {folder}: {exc.strerror}")

    def _settle(self) -> None:
        if self._file is None:
            self._create()  # fewer than SNIFF_BYTES bytes in all
        if self._file is not None:
            try:
                self._file.close()
            except OSError as exc:
                self._write_failed(exc)
            self._file = None

    def _fail(self, error: SignalApiError) -> None:
        self._discard()
        self._failure = error

    def _discard(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
        self._path = None
        self._head = bytearray()
