"""Pending device-link requests: startLink creates one, a phone scans it, finishLink waits."""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
from dataclasses import dataclass, field
from urllib.parse import quote

from .errors import user_error

LINK_TIMEOUT = 600.0


def new_link_uri() -> tuple[str, str]:
    """A device-link URI as a new device shows it, and the device's identifier in it."""
    device_uuid = base64.b64encode(secrets.token_bytes(16)).decode()
    # A Curve25519 public key as Signal serialises it: type byte 0x05 + 32 bytes.
    pub_key = base64.b64encode(b"\x05" + os.urandom(32)).decode().rstrip("=")
    query = f"uuid={quote(device_uuid, safe='')}&pub_key={quote(pub_key, safe='')}"
    return "sgnl://linkdevice?" + query, device_uuid


@dataclass
class _Request:
    scanned: asyncio.Future[str] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    finishing: bool = False


class LinkRequests:
    """In memory only: like signal-cli, a restart forgets unfinished link requests."""

    def __init__(self, timeout: float = LINK_TIMEOUT) -> None:
        self.timeout = timeout
        self._pending: dict[str, _Request] = {}

    def start(self) -> str:
        uri, _ = new_link_uri()
        self._pending[uri] = _Request()
        return uri

    async def wait(self, uri: str) -> str:
        request = self._pending.get(uri)
        if request is None or request.finishing:
            raise user_error("Unknown device link uri.")
        request.finishing = True
        try:
            return await asyncio.wait_for(asyncio.shield(request.scanned), self.timeout)
        except TimeoutError:
            raise user_error("Link request timed out, please try again.") from None
        finally:
            self._pending.pop(uri, None)

    def scan(self, uri: str, number: str) -> None:
        request = self._pending.get(uri)
        if request is None or request.scanned.done():
            raise user_error(f"Unknown device link uri: {uri}")
        request.scanned.set_result(number)

    def close(self) -> None:
        for request in self._pending.values():
            request.scanned.cancel()
        self._pending.clear()
