"""The body scanner of large bodies: whatever the chunking, the body it keeps (with stand-ins for
the file strings it decoded) parses to what the whole body parses to, and each stand-in leads to
the file (or the error) decoding the string whole gives; what is not JSON stays not JSON."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path
from typing import Any

import pytest

import signal_rest.api.body_stream as body_stream
from signal_rest.api.body import load_json
from signal_rest.api.body_stream import ATTACHMENTS, BodyScanner, FileField
from signal_rest.domain.attachment_stream import StreamedAttachment
from signal_rest.domain.attachments import Decoded, TempAttachments
from signal_rest.errors import SignalApiError

rng = random.Random(3)
BIG = base64.b64encode(rng.randbytes(300)).decode()
WRAPPED = base64.encodebytes(rng.randbytes(200)).decode()


def files_body(*items: str, before: str = "", after: str = "") -> bytes:
    # Items are JSON string contents, as they appear in the body.
    inner = ", ".join(f'"{item}"' for item in items)
    return f'{{{before}"base64_attachments": [{inner}]{after}}}'.encode()


BODIES = [
    json.dumps(
        {
            "number": "+4915100000001",
            "message": BIG,
            "base64_attachments": [BIG, WRAPPED, "QUJD", "data:a/b;filename=a.txt;base64," + BIG],
        }
    ).encode(),
    json.dumps({"BASE64_Attachments": [BIG], "base64_attachments": [BIG[:-4]]}).encode(),
    files_body(BIG.replace("/", "\\/")),
    files_body(WRAPPED),  # raw line breaks in the string
    files_body(BIG[:100] + "\\u0041" + BIG[100:]),
    files_body(BIG[:100] + "\\ud83d\\ude00" + BIG[100:]),
    files_body(BIG[:100] + "\\ud83d" + BIG[100:]),
    files_body(BIG[:100] + "é" + BIG[100:]),
    files_body(BIG[:100] + "\\\\" + BIG[100:]),
    files_body(BIG[:100] + '\\"' + BIG[100:]),
    files_body(BIG[:100] + "\x00\t" + BIG[100:]),
    files_body(BIG[:100] + "\\x" + BIG[100:]),  # not JSON
    files_body(BIG, after=', "x": "base64_attachments"'),
    files_body(BIG, BIG[:-4] + "!!!!", before='"number": 5, '),
    f'{{"base64_attachments": ["{BIG}", null, 5, ["{BIG}"], {{"a": "{BIG}"}}]}}'.encode(),
    f'{{"base64_\\u0061ttachments": ["{BIG}"]}}'.encode(),
    f'{{"base64_attachments": "{BIG}"}}'.encode(),
    f'{{"a": {{"base64_attachments": ["{BIG}"]}}}}'.encode(),
    f'["{BIG}"]'.encode(),
    b"\xef\xbb\xbf" + files_body(BIG),
    files_body(BIG).decode().encode("utf-16"),
    # Not JSON: cut short, trailing junk, a lone backslash, bytes that are not UTF-8.
    files_body(BIG)[:150],
    files_body(BIG)[:-2],
    files_body(BIG) + b" x",
    files_body(BIG[:100])[:-3] + b"\\",
    files_body(BIG[:100] + "~" + BIG[100:]).replace(b"~", b"\xff"),
]


def parsed(data: Any, files: TempAttachments) -> Any:
    """The body's data with each string of `base64_attachments` decoded (or its error)."""
    if not isinstance(data, dict):
        return data
    result = {}
    for key, value in data.items():
        if key.lower() == "base64_attachments" and isinstance(value, list):
            value = [decoded(item, files) if isinstance(item, str) else item for item in value]
        result[key] = value
    return result


def decoded(item: str, files: TempAttachments) -> tuple[str, bytes | str]:
    try:
        path = files.add(item)
    except SignalApiError as exc:
        return ("error", exc.message)
    return (path.suffix if path.name.count("-") == 4 else path.name, path.read_bytes())


def whole(raw: bytes, directory: Path) -> Any:
    try:
        data = load_json(raw)
    except ValueError:
        return "not JSON"
    with TempAttachments(directory, max_bytes=10_000) as files:
        return parsed(data, files)


def streamed(raw: bytes, directory: Path, piece: int) -> Any:
    def start(head: str, field: FileField) -> StreamedAttachment:
        return StreamedAttachment.open(head, directory, max_bytes=10_000, data_uri=field.data_uri)

    scanner = BodyScanner(ATTACHMENTS, start, max_depth=64)
    for begin in range(0, len(raw), piece):
        scanner.feed(raw[begin : begin + piece])
    kept, broken = scanner.finish()
    decoded_files: dict[str, Decoded] = dict(scanner.files)
    try:
        if broken:
            return "not JSON"
        try:
            data = load_json(kept)
        except ValueError:
            return "not JSON"
        with TempAttachments(directory, max_bytes=10_000, decoded=decoded_files) as files:
            return parsed(data, files)
    finally:
        scanner.abort()


@pytest.mark.parametrize("piece", [1, 5, 64, 100_000])
def test_scanned_bodies_parse_like_whole_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, piece: int
) -> None:
    monkeypatch.setattr(body_stream, "HEAD_BYTES", 50)  # every BIG is streamed
    for raw in BODIES:
        assert streamed(raw, tmp_path, piece) == whole(raw, tmp_path), raw[:80]
        assert list(tmp_path.iterdir()) == []


def test_a_data_uri_mark_beyond_the_first_64_kib_is_not_found_in_a_streamed_body(
    tmp_path: Path,
) -> None:
    # README: in a data URI longer than 64 KiB, the `base64,` mark must lie within its first
    # 64 KiB. A body that arrives in small pieces shows the limit: beyond it, the text is
    # taken for bare base64 (Go would find the mark anywhere, as parsing the body whole does).
    data = base64.b64encode(b"a note").decode()
    long_note = base64.b64encode(b"a longer note " * 600).decode()  # 11 KiB in base64
    near = files_body("data:text/plain;filename=" + "n" * 60_000 + ".txt;base64," + long_note)
    far = files_body("data:text/plain;filename=" + "n" * 70_000 + ".txt;base64," + data)
    assert len(near) > 64 * 1024
    assert streamed(near, tmp_path, 1024) == whole(near, tmp_path)
    [(_, content)] = streamed(near, tmp_path, 1024)["base64_attachments"]
    assert content == b"a longer note " * 600
    [(name, content)] = whole(far, tmp_path)["base64_attachments"]
    assert (name.endswith(".txt"), content) == (True, b"a note")  # named by the (shortened) name
    assert streamed(far, tmp_path, 1024)["base64_attachments"] == [
        ("error", "illegal base64 data at input byte 4 (unexpected character ':')")
    ]
    assert list(tmp_path.iterdir()) == []
