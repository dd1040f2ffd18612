import base64
import random
import uuid
from pathlib import Path

import pytest

from signal_rest.domain import b64
from signal_rest.domain.attachments import (
    AttachmentSpec,
    TempAttachments,
    decode_to_file,
    parse_attachment,
)
from signal_rest.errors import PayloadTooLarge, SignalApiError, ValidationError

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(32)
PNG_B64 = base64.b64encode(PNG).decode()
MB = 1024 * 1024


def _tree(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(PNG_B64, AttachmentSpec(PNG_B64), id="raw-base64"),
        pytest.param(
            f"data:image/png;base64,{PNG_B64}",
            AttachmentSpec(PNG_B64, "image/png"),
            id="data-uri",
        ),
        pytest.param(
            f"data:image/png;filename=cat.png;base64,{PNG_B64}",
            AttachmentSpec(PNG_B64, "image/png", "cat.png"),
            id="data-uri-with-filename",
        ),
        pytest.param(
            "data:text/plain;filename=my%20notes.txt;base64,QQ==",
            AttachmentSpec("QQ==", "text/plain", "my notes.txt"),
            id="filename-percent-decoded",
        ),
        pytest.param(
            "data:text/plain;filename=../../etc/passwd;base64,QQ==",
            AttachmentSpec("QQ==", "text/plain", "passwd"),
            id="filename-traversal",
        ),
        pytest.param(
            "data:text/plain;filename=..%2F..%2Fetc%2Fpasswd;base64,QQ==",
            AttachmentSpec("QQ==", "text/plain", "passwd"),
            id="filename-encoded-traversal",
        ),
        pytest.param(
            "data:image/jpeg;filename=C:\\Users\\me\\photo.jpg;base64,QQ==",
            AttachmentSpec("QQ==", "image/jpeg", "photo.jpg"),
            id="filename-windows-path",
        ),
        pytest.param(
            "data:text/plain;filename=..;base64,QQ==",
            AttachmentSpec("QQ==", "text/plain"),
            id="filename-dot-dot-dropped",
        ),
        pytest.param(
            "data:text/plain;filename=a;base64,base64,QQ==",
            AttachmentSpec("QQ==", "text/plain", "a"),
            id="last-base64-marker-wins",
        ),
        pytest.param("base64,xyz", AttachmentSpec("base64,xyz"), id="marker-without-data"),
        pytest.param("data:image/png,QQ==", AttachmentSpec("data:image/png,QQ=="), id="no-marker"),
        pytest.param("data:;base64,QQ==", AttachmentSpec("QQ=="), id="empty-mime"),
    ],
)
def test_parse_attachment_follows_go_rule(value, expected):
    assert parse_attachment(value) == expected


def test_parse_attachment_shortens_overlong_filename_keeping_extension():
    spec = parse_attachment(f"data:image/png;filename={'x' * 300}.png;base64,QQ==")
    assert spec.filename == "x" * 251 + ".png"


def test_decode_to_file_names_file_by_sniffed_type(tmp_path):
    path = decode_to_file(AttachmentSpec(PNG_B64), tmp_path, max_bytes=MB)
    folder, name = path.relative_to(tmp_path).parts
    assert (uuid.UUID(folder).version, uuid.UUID(name.removesuffix(".png")).version) == (4, 4)
    assert (name.endswith(".png"), path.read_bytes(), _tree(tmp_path)) == (
        True,
        PNG,
        [folder, f"{folder}/{name}"],
    )


def test_decode_to_file_keeps_data_uri_filename(tmp_path):
    spec = parse_attachment("data:text/plain;filename=../../etc/passwd;base64,aGVsbG8=")
    path = decode_to_file(spec, tmp_path, max_bytes=MB)
    assert (path.parent.parent, path.name, path.read_bytes()) == (tmp_path, "passwd", b"hello")


def test_decode_to_file_without_known_type_has_no_extension(tmp_path):
    binary = b"\x00\x01\x02 not a known format"
    spec = AttachmentSpec(base64.b64encode(binary).decode())
    path = decode_to_file(spec, tmp_path, max_bytes=MB)
    assert (uuid.UUID(path.name).version, path.read_bytes()) == (4, binary)


def test_decode_to_file_names_utf8_text_txt(tmp_path):
    # signal-cli types a file by its name: `.txt` is what makes recipients see text/plain.
    path = decode_to_file(AttachmentSpec("aGVsbG8gd29ybGQ="), tmp_path, max_bytes=MB)
    assert (uuid.UUID(path.name.removesuffix(".txt")).version, path.suffix) == (4, ".txt")
    assert path.read_bytes() == b"hello world"


def test_decode_to_file_streams_5mb_in_chunks(tmp_path, monkeypatch):
    data = random.Random(5).randbytes(5 * MB)
    encoded = base64.encodebytes(data).decode()  # MIME style: a newline every 76 characters
    chunk_sizes = []
    real_iter_decode = b64.iter_decode

    def spy(text, layout):
        for chunk in real_iter_decode(text, layout):
            chunk_sizes.append(len(chunk))
            yield chunk

    monkeypatch.setattr(b64, "iter_decode", spy)
    path = decode_to_file(AttachmentSpec(encoded), tmp_path, max_bytes=5 * MB)
    assert path.read_bytes() == data
    assert (
        sum(chunk_sizes),
        len(chunk_sizes) > 1,
        max(chunk_sizes) <= 3 * b64.CHUNK_CHARS // 4,
    ) == (
        5 * MB,
        True,
        True,
    )


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        pytest.param("", "The base64 data does not exist.", id="empty"),
        pytest.param("\r\n", "The base64 data does not exist.", id="only-newlines"),
        pytest.param(
            "aGVs bG8=",
            "illegal base64 data at input byte 4 (unexpected whitespace ' '; "
            "only line breaks are ignored)",
            id="space",
        ),
        pytest.param(
            "aGVsbG8_",
            "illegal base64 data at input byte 7 ('_' is URL-safe base64; "
            "only the standard alphabet (+ and /) is accepted)",
            id="url-safe",
        ),
        pytest.param(
            "aGVsbG8",
            "illegal base64 data at input byte 4 (the input is not padded to a multiple of 4)",
            id="missing-padding",
        ),
        pytest.param(
            "aGVsbG8=aGVsbG8=",
            "illegal base64 data at input byte 8 (there is data after the '=' padding)",
            id="data-after-padding",
        ),
    ],
)
def test_decode_to_file_rejects_bad_payload_before_writing(tmp_path, payload, message):
    with pytest.raises(ValidationError) as caught:
        decode_to_file(AttachmentSpec(payload), tmp_path, max_bytes=MB)
    assert (type(caught.value), caught.value.message, _tree(tmp_path)) == (
        ValidationError,
        message,
        [],
    )


def test_decode_to_file_enforces_size_limit_before_writing(tmp_path):
    payload = base64.b64encode(bytes(1001)).decode()
    with pytest.raises(PayloadTooLarge) as caught:
        decode_to_file(AttachmentSpec(payload), tmp_path, max_bytes=1000)
    assert (caught.value.status, caught.value.message, _tree(tmp_path)) == (
        413,
        "Attachment too large: 1001 bytes decoded, the limit is 1000 bytes",
        [],
    )


def test_decode_to_file_accepts_exactly_the_limit(tmp_path):
    payload = base64.b64encode(bytes(1000)).decode()
    assert decode_to_file(AttachmentSpec(payload), tmp_path, max_bytes=1000).stat().st_size == 1000


def test_decode_to_file_translates_file_errors(tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_bytes(b"")
    with pytest.raises(SignalApiError) as caught:
        decode_to_file(AttachmentSpec(PNG_B64), not_a_dir, max_bytes=MB)
    assert (caught.value.status, caught.value.message.startswith("Couldn't write attachment")) == (
        400,
        True,
    )


def test_temp_attachments_removes_files_after_block(tmp_path):
    with TempAttachments(tmp_path, max_bytes=MB) as tmp:
        first = tmp.add(PNG_B64)
        second = tmp.add("data:text/plain;filename=a.txt;base64,aGk=")
        assert (tmp.paths, first.read_bytes(), second.read_bytes()) == ([first, second], PNG, b"hi")
    assert (tmp.paths, _tree(tmp_path)) == ([], [])


def test_temp_attachments_removes_files_when_request_fails(tmp_path):
    with pytest.raises(ValidationError), TempAttachments(tmp_path, max_bytes=MB) as tmp:
        tmp.add(PNG_B64)
        tmp.add("not base64!")
    assert _tree(tmp_path) == []


def test_temp_attachments_cleanup_is_idempotent(tmp_path):
    tmp = TempAttachments(tmp_path, max_bytes=MB)
    tmp.add_spec(AttachmentSpec(PNG_B64, filename="x.png"))
    tmp.cleanup()
    tmp.cleanup()
    assert _tree(tmp_path) == []
