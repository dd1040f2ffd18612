"""Figure: how much the service's resident memory rises while it sends one large attachment.

One `POST /v2/send` to an outside user with one 100 MiB attachment (8 MiB in the short mode),
≈ 134 MB of base64 in its JSON body. The body is generated as it is sent (the bytes are
pseudo-random: they do not compress, and their SHA-256 is taken on the way), so this process
never holds it. Before the request the service's peak is reset (memory.Peak: VmHWM after
`clear_refs`); the figure is (peak − VmRSS before) ÷ the attachment's size.

Correctness: 201 with one timestamp, and the file the recipient's phone got (the sandbox's upload,
named by the id in its received message) is byte-identical.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from signal_rest.bench.generator import SENDERS
from signal_rest.bench.memory import MIB, Peak, rss
from signal_rest.bench.options import Options
from signal_rest.bench.processes import ACCOUNT, World
from signal_rest.bench.report import Check, Figure, Outcome

__all__ = ["measure"]

GOAL = 1.5
FULL, SHORT = 100 * MIB, 8 * MIB
CHUNK = 3 * MIB  # a multiple of 3: each chunk's base64 stands alone
RECIPIENT = SENDERS[1]


class Body:
    """The JSON body of the send, produced in chunks; `digest` is the attachment's SHA-256 once
    every chunk was read."""

    def __init__(self, size: int, text: str) -> None:
        self.size = size
        fields = {"message": text, "number": ACCOUNT, "recipients": [RECIPIENT]}
        self.head = (json.dumps(fields)[:-1] + ', "base64_attachments": ["').encode()
        self.tail = b'"]}'
        self.length = len(self.head) + 4 * -(-size // 3) + len(self.tail)
        self._hash = hashlib.sha256()

    def __iter__(self) -> Iterator[bytes]:
        rng = random.Random(9)
        yield self.head
        left = self.size
        while left:
            raw = rng.randbytes(min(CHUNK, left))
            self._hash.update(raw)
            left -= len(raw)
            yield base64.b64encode(raw)
        yield self.tail

    @property
    def digest(self) -> str:
        return self._hash.hexdigest()


def _post(port: int, body: Body) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        headers = {"Content-Type": "application/json", "Content-Length": str(body.length)}
        conn.request("POST", "/v2/send", body=iter(body), headers=headers)
        response = conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    finally:
        conn.close()


def _arrived(world: World, text: str) -> str | None:
    """The SHA-256 of the attachment the recipient got with `text`, if it got one."""
    received = world.control("sandbox.listReceived", {"number": RECIPIENT})
    for message in received:
        data = message["envelope"].get("dataMessage") or {}
        if data.get("message") == text and len(data.get("attachments") or []) == 1:
            upload = world.root / "net" / "uploads" / data["attachments"][0]["id"]
            return _sha256(upload)
    return None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(MIB):
            digest.update(chunk)
    return digest.hexdigest()


def measure(world: World, options: Options) -> Outcome:
    size = SHORT if options.short else FULL
    service = world.service("attachment")
    world.register(service)
    pid = service.process.pid
    text = f"attachment of {size} bytes to {quote(RECIPIENT)}"
    body = Body(size, text)
    before = rss(pid)
    peak = Peak(pid)
    status, answer = _post(service.port, body)
    highest = peak.stop()
    service.stop()
    rise = max(0, highest - before)
    how = "sampled every 2 ms" if peak.sampled else "VmHWM"
    figure = Figure(
        f"memory peak rise while sending one {size / MIB:.0f} MiB attachment (POST /v2/send)",
        f"{rise / size:.2f} × the attachment ({rise / MIB:.0f} MiB, {how})",
        f"RSS before: {before / MIB:.0f} MiB",
        f"≤ {GOAL:g} ×",
        ok=rise <= GOAL * size,
    )
    # /v2/send answers one entry per signal-cli send: here one, for the one number.
    sent_ok = (
        status == 201
        and isinstance(answer, list)
        and len(answer) == 1
        and set(answer[0]) == {"timestamp"}
        and str(answer[0]["timestamp"]).isdigit()
    )
    got = _arrived(world, text) if sent_ok else None
    ok = sent_ok and got == body.digest
    arrived = "no" if got is None else "different bytes"
    check = Check(
        "attachment: 201 with one timestamp, and the recipient got it byte-identical",
        ok,
        "" if ok else f"{status} {str(answer)[:200]}; arrived: {arrived}",
    )
    return Outcome([figure], [check])
