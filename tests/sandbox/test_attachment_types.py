"""How the sandbox types an attached file: as signal-cli's Utils.getFileMimeType does, by the
file name first (Files.probeContentType), then by the content."""

from __future__ import annotations

from pathlib import Path

import pytest

from .client import LineClient
from .conftest import make_account

ALICE = "+14155550100"  # local
CAROL = "+14155550102"  # outside user


@pytest.mark.parametrize(
    ("name", "content", "mime"),
    [
        pytest.param("notes.txt", b"BMW service due in May\n", "text/plain", id="txt-like-bmp"),
        pytest.param("photo.png", b"\x89PNG\r\n\x1a\n\x00", "image/png", id="png"),
        pytest.param("scan", b"%PDF-1.4 no extension", "application/pdf", id="content-only"),
        pytest.param("blob", b"\x00\x01\x02", "application/octet-stream", id="unknown"),
    ],
)
async def test_attachment_type_comes_from_name_then_content(
    rpc: LineClient, tmp_path: Path, name: str, content: bytes, mime: str
) -> None:
    await make_account(rpc, ALICE)
    path = tmp_path / name
    path.write_bytes(content)
    await rpc.call("send", {"account": ALICE, "recipient": CAROL, "attachment": [str(path)]})
    [received] = await rpc.call("sandbox.listReceived", {"number": CAROL})
    [attachment] = received["envelope"]["dataMessage"]["attachments"]
    assert (attachment["contentType"], attachment["filename"]) == (mime, name)
