"""Received attachments: listed, read and deleted where the daemon keeps them.

    names = await list_attachments(backend, accounts=None)
    download = await open_attachment(backend, "AbC-12.png", accounts=("+4915…",))
    async for chunk in download.chunks: ...          # download.content_type, download.size
    await delete_attachment(backend, "AbC-12.png", accounts=None)

The files are in the daemon's attachments folder (`Backend.attachments_dir`: the sandbox's, or
the supervised signal-cli's) and are streamed from there; a signal-cli that runs elsewhere has no
folder we can read, so a file comes base64 from its `getAttachment` method, and the list is the
ids the inbox has seen in received messages (deleting forgets one; the daemon keeps its file).

`accounts` are the accounts the request's API token may act for (None: every account). A token
limited to some accounts sees only attachments those accounts received, as the inbox's index
records them; any other id is "not found", so it learns nothing about other accounts' files.
"""

from __future__ import annotations

import asyncio
import errno
import os
import stat
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from signal_rest.backend import Backend
from signal_rest.domain import b64
from signal_rest.domain.attachment_ids import check_id, is_valid_id
from signal_rest.domain.sniffing import SNIFF_BYTES, content_type
from signal_rest.errors import InternalError, NotFound, RpcError

__all__ = [
    "NO_ATTACHMENT",
    "Download",
    "delete_attachment",
    "list_attachments",
    "open_attachment",
]

NO_ATTACHMENT = "No attachment with that name found"
READ_FAILED = "Couldn't read attachment - please try again later"
DELETE_FAILED = "Couldn't delete attachment - please try again later"
CHUNK_BYTES = 256 * 1024
# Never block on a FIFO someone left in the folder; never follow a symlink out of it.
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


@dataclass(frozen=True)
class Download:
    """One attachment to send: its sniffed Content-Type, its size in bytes, its bytes."""

    content_type: str
    size: int
    chunks: AsyncIterator[bytes]


async def list_attachments(backend: Backend, accounts: tuple[str, ...] | None) -> list[str]:
    """The ids of the attachments the caller may see, sorted."""
    store = backend.inbox.store
    folder = backend.attachments_dir
    if folder is None:
        return await store.attachment_ids(accounts)
    names = await asyncio.to_thread(_files_in, folder)
    if accounts is None:
        return names
    allowed = set(await store.attachment_ids(accounts))
    return [name for name in names if name in allowed]


async def open_attachment(
    backend: Backend, name: str, accounts: tuple[str, ...] | None
) -> Download:
    """The attachment `name`; NotFound when it does not exist or is not the caller's to see."""
    check_id(name)
    receivers = await _receivers(backend, name, accounts)
    folder = backend.attachments_dir
    if folder is not None:
        file, size, head = await asyncio.to_thread(_open_regular, folder / name)
        return Download(content_type(head), size, _file_chunks(file, head))
    return await _fetch(backend, name, receivers)


async def delete_attachment(backend: Backend, name: str, accounts: tuple[str, ...] | None) -> None:
    """Delete the attachment `name` (only forget it, when signal-cli runs elsewhere)."""
    check_id(name)
    await _receivers(backend, name, accounts)
    folder = backend.attachments_dir
    if folder is not None:
        await asyncio.to_thread(_delete_regular, folder / name)
    await backend.inbox.store.forget_attachment(name)


async def _receivers(backend: Backend, name: str, accounts: tuple[str, ...] | None) -> list[str]:
    """The accounts of the caller's that received `name` (every receiver, for an unlimited
    caller); NotFound when the caller may not see it. With a folder to read, an unlimited caller
    may see every file in it, also ones the inbox never saw (as in the Go project)."""
    receivers = await backend.inbox.store.attachment_accounts(name)
    if accounts is not None:
        receivers = [account for account in receivers if account in accounts]
    elif backend.attachments_dir is not None:
        return receivers
    if not receivers:
        raise NotFound(NO_ATTACHMENT)
    return receivers


def _files_in(folder: Path) -> list[str]:
    try:
        with os.scandir(folder) as entries:
            return sorted(
                entry.name
                for entry in entries
                if is_valid_id(entry.name) and entry.is_file(follow_symlinks=False)
            )
    except FileNotFoundError:
        return []  # the daemon has not received an attachment yet
    except OSError as exc:
        raise InternalError(f"Couldn't get list of attachments: {exc.strerror}") from exc


def _open_regular(path: Path) -> tuple[BinaryIO, int, bytes]:
    """The open file at `path` (a regular file, no symlink), its size and its first bytes."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ELOOP, errno.ENOTDIR):
            raise NotFound(NO_ATTACHMENT) from exc
        raise InternalError(READ_FAILED) from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotFound(NO_ATTACHMENT)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    file = os.fdopen(fd, "rb")
    try:
        head = file.read(SNIFF_BYTES)
    except OSError as exc:
        file.close()
        raise InternalError(READ_FAILED) from exc
    return file, info.st_size, head


async def _file_chunks(file: BinaryIO, head: bytes) -> AsyncIterator[bytes]:
    try:
        chunk = head
        while chunk:
            yield chunk
            chunk = await asyncio.to_thread(file.read, CHUNK_BYTES)
    finally:
        file.close()


def _delete_regular(path: Path) -> None:
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            raise NotFound(NO_ATTACHMENT)
        path.unlink()
    except FileNotFoundError as exc:
        raise NotFound(NO_ATTACHMENT) from exc
    except OSError as exc:
        raise InternalError(DELETE_FAILED) from exc


async def _fetch(backend: Backend, name: str, receivers: list[str]) -> Download:
    try:
        result = await backend.rpc.call("getAttachment", {"id": name, "account": receivers[0]})
    except RpcError as exc:
        if exc.message.startswith("Could not find attachment"):
            raise NotFound(NO_ATTACHMENT) from exc
        raise
    data = result.get("data") if isinstance(result, dict) else None
    text = data if isinstance(data, str) else ""
    try:
        layout = b64.scan(text)
    except b64.Base64Error as exc:
        raise InternalError(READ_FAILED) from exc
    chunks = b64.iter_decode(text, layout)
    head = next(chunks, b"")
    return Download(content_type(head), layout.size, _decoded_chunks(head, chunks))


async def _decoded_chunks(head: bytes, rest: Iterator[bytes]) -> AsyncIterator[bytes]:
    # Each chunk is decoded on the event loop between yields: a few milliseconds each.
    if head:
        yield head
    for chunk in rest:
        yield chunk
