"""A base64 text decoded as it arrives, in pieces of any size, gives what decoding it whole
gives: the same file (name and bytes), or the same error text with Go's byte offsets."""

from __future__ import annotations

import base64
import random
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from signal_rest.domain.attachment_stream import StreamedAttachment
from signal_rest.domain.attachments import (
    AttachmentSpec,
    TempAttachments,
    decode_to_file,
    parse_attachment,
)
from signal_rest.errors import SignalApiError

LIMIT = 4000
Outcome = tuple[str, str, bytes]


def _texts() -> list[str]:
    rng = random.Random(7)
    texts = ["", "\n", "====", "A===", "AA==", "AAA=", "AA=A", "A", "AB\n=\n=\n", "AB=", "AB= "]
    texts += ["data:;base64,", "data:text/plain;base64,QUJD", "QUJD\r\n"]
    for size in (1, 2, 3, 100, 1000, 3001, LIMIT + 1):
        data = rng.randbytes(size)
        plain = base64.b64encode(data).decode()
        half = len(plain) // 2
        texts += [
            plain,
            base64.encodebytes(data).decode(),
            base64.encodebytes(data).decode().replace("\n", "\r\n"),
            "data:image/png;filename=..%2Fphoto.bin;base64," + plain,
            plain.rstrip("="),
            plain + "=",
            plain + "\n=",
            plain[:half] + "!" + plain[half:],
            plain[:half] + "é" + plain[half:],
            plain[:half] + "\t" + plain[half:],
            plain.replace("+", "-").replace("/", "_"),
        ]
        if plain.endswith("=="):
            texts += [plain[:-2] + "=\n\n=\n", plain[:-1] + "\nx", plain[:-2] + "=\n"]
        elif plain.endswith("="):
            texts += [plain + "A", plain[:-1] + "=\n A"]
    return texts


def _outcome(make: Callable[[], Path], directory: Path) -> Outcome:
    try:
        path = make()
    except SignalApiError as exc:
        return ("error", type(exc).__name__, exc.message.encode())
    # A sniffed name is <uuid4><ext>: compare the extension.
    name = path.name if "recording" in path.name or "photo" in path.name else path.suffix
    content = path.read_bytes()
    assert path.parent.parent == directory
    return ("file", name, content)


@pytest.mark.parametrize("data_uri", [True, False], ids=["attachment", "avatar"])
@pytest.mark.parametrize("piece", [1, 7, 1000])
def test_streamed_decoding_matches_decoding_whole(
    tmp_path: Path, data_uri: bool, piece: int
) -> None:
    rng = random.Random(piece)
    for text in _texts():
        spec = parse_attachment(text) if data_uri else AttachmentSpec(text)
        whole = _outcome(partial(decode_to_file, spec, tmp_path, max_bytes=LIMIT), tmp_path)
        # The head must hold a data URI's `base64,` mark.
        head = text.rfind("base64,") + 7 if data_uri and "data:" in text else 0
        head = rng.randint(head, max(head, min(len(text), 80)))
        stream = StreamedAttachment.open(text[:head], tmp_path, max_bytes=LIMIT, data_uri=data_uri)
        rest = text[head:]
        for start in range(0, len(rest), piece):
            part = rest[start : start + piece]
            # Pieces come as ASCII bytes (nearly always) or as text.
            stream.feed(part.encode() if part.isascii() and start % 2 else part)
        stream.finish()
        streamed = _outcome(stream.result, tmp_path)
        assert streamed == whole, text[:100]
        stream.abort()
        for path in tmp_path.iterdir():
            path.joinpath(next(path.iterdir()).name).unlink()
            path.rmdir()


def test_a_failed_or_aborted_stream_leaves_nothing(tmp_path: Path) -> None:
    text = base64.b64encode(random.Random(1).randbytes(3000)).decode()
    bad = StreamedAttachment.open(text[:100], tmp_path, max_bytes=LIMIT, data_uri=True)
    bad.feed(text[100:2000])
    assert len(list(tmp_path.iterdir())) == 1  # written as it arrives
    bad.feed("!" + text[2000:])
    assert list(tmp_path.iterdir()) == []  # gone as soon as it is known to fail
    bad.finish()
    too_large = StreamedAttachment.open(text, tmp_path, max_bytes=1000, data_uri=True)
    assert list(tmp_path.iterdir()) == []
    too_large.finish()
    assert list(tmp_path.iterdir()) == []
    left = StreamedAttachment.open(text[:2000], tmp_path, max_bytes=LIMIT, data_uri=True)
    assert len(list(tmp_path.iterdir())) == 1
    left.abort()
    assert list(tmp_path.iterdir()) == []


def test_temp_attachments_hand_out_and_delete_streamed_files(tmp_path: Path) -> None:
    text = base64.b64encode(b"%PDF-1.4\n" + bytes(600)).decode()
    done = StreamedAttachment.open(text, tmp_path, max_bytes=LIMIT, data_uri=True)
    done.finish()
    unused = StreamedAttachment.open(text, tmp_path, max_bytes=LIMIT, data_uri=True)
    unused.finish()
    with TempAttachments(
        tmp_path, max_bytes=LIMIT, decoded={"\x00one": done, "\x00two": unused}
    ) as files:
        path = files.add("\x00one")
        assert path.suffix == ".pdf"
        assert path.read_bytes() == b"%PDF-1.4\n" + bytes(600)
    assert list(tmp_path.iterdir()) == []
