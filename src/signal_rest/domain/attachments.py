"""Attachments sent as base64 (`base64_attachments`, link preview thumbnails) → temp files.

    with TempAttachments(tmp_dir, max_bytes=100 * 1024 * 1024) as tmp:
        paths = [tmp.add(value) for value in body.base64_attachments]
        await rpc.call("send", {..., "attachment": [str(p) for p in paths]})
    # the files and their directories are gone here, whether the send worked or not

signal-cli takes attachments as file paths, so each one is decoded into
`<tmp_dir>/<uuid4>/<filename>`: the per-attachment directory lets the file keep the name the
client gave (it becomes the attachment's file name on the recipient's side) without collisions.
Decoding is chunked, so a 100 MB attachment never sits in memory a second time, decoded. The work is
blocking file I/O: call `add` through `asyncio.to_thread` from async code.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Protocol, Self
from urllib.parse import unquote

from signal_rest.domain import b64
from signal_rest.domain.sniffing import SNIFF_BYTES, extension_for, sniff_mime
from signal_rest.errors import PayloadTooLarge, SignalApiError, ValidationError

__all__ = [
    "NO_BASE64_DATA",
    "AttachmentSpec",
    "Decoded",
    "TempAttachments",
    "basename",
    "decode_to_file",
    "extension_for",
    "parse_attachment",
    "sniff_mime",
]

NO_BASE64_DATA = "The base64 data does not exist."

_DATA_URI = "data:"
_BASE64_MARK = "base64,"
_FILENAME_KEY = "filename="
_MAX_NAME_BYTES = 255  # NAME_MAX of every common Linux file system
_MAX_KEPT_SUFFIX = 16


@dataclass(frozen=True, slots=True)
class AttachmentSpec:
    """One attachment as the client sent it: the base64 `payload`, and from a data URI the
    `mime` type (informational: signal-cli detects the type itself) and a safe `filename`."""

    payload: str
    mime: str | None = None
    filename: str | None = None


def parse_attachment(value: str) -> AttachmentSpec:
    """Split raw base64 or `data:<mime>[;filename=<name>];base64,<data>` like the Go project.

    The payload is everything after the *last* `base64,`; the filename is percent-decoded and cut
    to its last path component, since Go's unsanitised name allowed writing outside the temp dir.
    """
    if _DATA_URI not in value or _BASE64_MARK not in value:
        return AttachmentSpec(value)
    mark = value.rindex(_BASE64_MARK)
    # Go drops the one character before `base64,` (normally the `;`) and splits the rest.
    metadata = value[: mark - 1] if mark else ""
    mime: str | None = None
    filename: str | None = None
    for item in metadata.split(";"):
        if item.startswith(_DATA_URI):
            mime = item.removeprefix(_DATA_URI) or None
        elif item.startswith(_FILENAME_KEY):
            filename = _safe_filename(item.removeprefix(_FILENAME_KEY))
    return AttachmentSpec(value[mark + len(_BASE64_MARK) :], mime, filename)


def decode_to_file(spec: AttachmentSpec, directory: Path, *, max_bytes: int) -> Path:
    """Decode `spec` into `<directory>/<uuid4>/<name>` and return that path.

    `<name>` is the data-URI file name or `<uuid4><ext>`, `<ext>` sniffed from the content. Raises
    `ValidationError` for empty or invalid base64 (Go's text, then the reason), `PayloadTooLarge`
    when the decoded size exceeds `max_bytes`; both before anything is written.
    """
    if not spec.payload:
        raise ValidationError(NO_BASE64_DATA)
    try:
        layout = b64.scan(spec.payload)
    except b64.Base64Error as exc:
        raise ValidationError(f"{exc} ({exc.reason})") from exc
    if layout.size == 0:
        raise ValidationError(NO_BASE64_DATA)
    if layout.size > max_bytes:
        raise PayloadTooLarge(
            f"Attachment too large: {layout.size} bytes decoded, the limit is {max_bytes} bytes"
        )
    chunks = b64.iter_decode(spec.payload, layout)
    head = _read_head(chunks)
    # Specs built by hand skip parse_attachment, so the name is reduced to a basename again.
    name = basename(spec.filename or "")
    if name is None:
        name = f"{uuid.uuid4()}{extension_for(sniff_mime(b''.join(head)))}"
    folder = directory / str(uuid.uuid4())
    try:
        folder.mkdir(parents=True)
        path = folder / name
        with path.open("xb") as file:
            for chunk in head:
                file.write(chunk)
            for chunk in chunks:
                file.write(chunk)
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        # Go answers 400 with the file error too; this is the file-system boundary.
        raise SignalApiError(f"Couldn't write attachment to {folder}: {exc.strerror}") from exc
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return path


class Decoded(Protocol):
    """An attachment already decoded while the request body was read
    (`signal_rest.domain.attachment_stream.StreamedAttachment`)."""

    def result(self) -> Path: ...

    def abort(self) -> None: ...


class TempAttachments:
    """The temp files of one request, deleted (with their directories) on leaving the block.

    `max_bytes` limits each attachment's decoded size. `decoded` holds the attachments the body
    reader decoded as they arrived, under the stand-in strings it put in the body in their
    place: adding such a string gives that file (or its error) instead of decoding the string.
    """

    def __init__(
        self, directory: Path, *, max_bytes: int, decoded: Mapping[str, Decoded] | None = None
    ) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self._paths: list[Path] = []
        self._decoded = dict(decoded or {})

    @property
    def paths(self) -> list[Path]:
        return list(self._paths)

    @property
    def pending(self) -> bool:
        """Whether `cleanup` has anything to delete."""
        return bool(self._paths or self._decoded)

    def add(self, value: str) -> Path:
        """Parse and decode one `base64_attachments` element; return its file's path."""
        return self.add_spec(parse_attachment(value))

    def add_spec(self, spec: AttachmentSpec) -> Path:
        decoded = self._decoded.get(spec.payload)
        if decoded is not None:
            path = decoded.result()
        else:
            path = decode_to_file(spec, self.directory, max_bytes=self.max_bytes)
        self._paths.append(path)
        return path

    def cleanup(self) -> None:
        """Delete every file added so far; safe to call more than once."""
        while self._decoded:
            self._decoded.popitem()[1].abort()
        while self._paths:
            shutil.rmtree(self._paths.pop().parent, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.cleanup()


def _read_head(chunks: Iterator[bytes]) -> list[bytes]:
    # Sniffing needs the first bytes before the file (whose name depends on them) exists.
    head: list[bytes] = []
    size = 0
    for chunk in chunks:
        head.append(chunk)
        size += len(chunk)
        if size >= SNIFF_BYTES:
            break
    return head


def _safe_filename(raw: str) -> str | None:
    return basename(unquote(raw))


def basename(path: str) -> str | None:
    """The last component of a client's file name, cut to what a file system takes; None when
    nothing usable is left."""
    # Backslashes count as separators too: Windows clients send `C:\\Users\\me\\photo.jpg`.
    name = path.replace("\\", "/").rsplit("/", 1)[-1].replace("\x00", "")
    if name in ("", ".", ".."):
        return None
    if len(name.encode()) <= _MAX_NAME_BYTES:
        return name
    suffix = PurePosixPath(name).suffix
    if len(suffix.encode()) > _MAX_KEPT_SUFFIX:
        suffix = ""
    budget = _MAX_NAME_BYTES - len(suffix.encode())
    stem = name[: len(name) - len(suffix)].encode()[:budget].decode(errors="ignore")
    return stem + suffix
