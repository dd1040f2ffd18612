"""Large base64 files are decoded into their temp files while the body arrives: a 100 MiB
attachment arrives byte-identical, the size limit is enforced while reading, and a body that
turns out malformed (JSON or base64) midway, or stops coming, gets the usual answer and leaves
no temp file behind."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import select
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.api.test_hostile_input import read_answer
from tests.support.flows import ALICE, BOB, receive_until, register
from tests.support.service import RunningService, start_service
from tests.support.waiting import wait_until

MIB = 1 << 20


def temp_files(service: RunningService) -> list[Path]:
    return sorted(service.backend.tmp_dir.rglob("*"))


def random_chunks(size: int, seed: int) -> Iterator[bytes]:
    """`size` reproducible random bytes, 3 MiB (a multiple of 3) at a time."""
    rng = random.Random(seed)
    while size > 0:
        step = min(size, 3 * MIB)
        size -= step
        yield rng.randbytes(step)


def sha256_of(size: int, seed: int) -> str:
    digest = hashlib.sha256()
    for chunk in random_chunks(size, seed):
        digest.update(chunk)
    return digest.hexdigest()


def body_parts(prefix: str, size: int, seed: int, suffix: str = '"]}') -> Iterator[bytes]:
    """A /v2/send body whose last attachment is `size` random bytes in base64, made as it is
    sent: never more than one chunk of it exists."""
    head = {"number": ALICE, "recipients": [BOB]}
    yield json.dumps(head)[:-1].encode() + b', "base64_attachments": ["' + prefix.encode()
    for chunk in random_chunks(size, seed):
        yield base64.b64encode(chunk)
    yield suffix.encode()


def body_length(prefix: str, size: int, suffix: str = '"]}') -> int:
    return sum(len(p) for p in body_parts(prefix, 0, 0, suffix)) + 4 * ((size + 2) // 3)


def open_post(service: RunningService, path: str, length: int | None) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", service.port), timeout=60)
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    conn.sendall(f"POST {path} HTTP/1.1\r\nHost: localhost\r\n{framing}\r\n\r\n".encode())
    return conn


def status_and_body(answer: tuple[int, bytes, object]) -> tuple[int, object]:
    status, _head, body = answer
    return status, body


def download_sha256(service: RunningService, ident: str) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with service.client.stream("GET", f"/v1/attachments/{ident}") as response:
        assert response.status_code == 200
        for chunk in response.iter_bytes():
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def test_a_100_mib_attachment_arrives_byte_identical(accounts: RunningService) -> None:
    size = 100 * MIB
    prefix = "data:application/octet-stream;filename=recording.bin;base64,"
    response = accounts.client.post(
        "/v2/send",
        content=body_parts(prefix, size, seed=1),
        headers={"Content-Length": str(body_length(prefix, size))},
        timeout=300,
    )
    assert response.status_code == 201, response.text
    assert temp_files(accounts) == []
    [message] = receive_until(accounts.client, BOB, 1, timeout=60)
    [attachment] = message["envelope"]["dataMessage"]["attachments"]
    assert (attachment["filename"], attachment["size"]) == ("recording.bin", size)
    assert download_sha256(accounts, attachment["id"]) == (size, sha256_of(size, seed=1))


@pytest.mark.parametrize(
    "wrap",
    [
        pytest.param(lambda b64: b64, id="plain"),
        # `"$(base64 file)"` pastes Linux base64's 76-column lines into the JSON string.
        pytest.param(lambda b64: base64.encodebytes(base64.b64decode(b64)), id="line-broken"),
        # json.dumps of the same text: the line breaks as \n escapes.
        pytest.param(
            lambda b64: json.dumps(base64.encodebytes(base64.b64decode(b64)).decode())[
                1:-1
            ].encode(),
            id="escaped-line-breaks",
        ),
        # Encoders that escape every slash (PHP's json_encode).
        pytest.param(lambda b64: b64.replace(b"/", b"\\/"), id="escaped-slashes"),
    ],
)
def test_streamed_forms_arrive_whole(
    accounts: RunningService, wrap: Callable[[bytes], bytes]
) -> None:
    data = b"\x89PNG\r\n\x1a\n" + b"".join(random_chunks(3 * MIB, seed=2))
    text = wrap(base64.b64encode(data))
    body = (
        b'{"number": "%s", "recipients": ["%s"], "message": "photo", "base64_attachments": ["'
        % (ALICE.encode(), BOB.encode())
        + text
        + b'"]}'
    )
    response = accounts.client.post("/v2/send", content=body)
    assert response.status_code == 201, response.text
    assert temp_files(accounts) == []
    [message] = receive_until(accounts.client, BOB, 1)
    [attachment] = message["envelope"]["dataMessage"]["attachments"]
    assert (attachment["contentType"], attachment["size"]) == ("image/png", len(data))
    assert attachment["id"].endswith(".png")
    content = accounts.client.get(f"/v1/attachments/{attachment['id']}").content
    assert content == data


@pytest.mark.parametrize(
    ("defect", "answer"),
    [
        pytest.param(
            b"\\q",
            {
                "error": "Couldn't process request - invalid JSON: a string of base64_attachments "
                "holds a bad escape or bytes that are not UTF-8"
            },
            id="bad-escape",
        ),
        pytest.param(
            b'"]], "message": }',
            {
                "error": "Couldn't process request - invalid JSON after a streamed attachment: "
                "Expecting ',' delimiter"
            },
            id="broken-structure",
        ),
        pytest.param(
            b"!",
            {"error": f"illegal base64 data at input byte {2 * MIB} (unexpected character '!')"},
            id="bad-base64",
        ),
        pytest.param(
            b"-",
            {
                "error": f"illegal base64 data at input byte {2 * MIB} ('-' is URL-safe base64; "
                "only the standard alphabet (+ and /) is accepted)"
            },
            id="url-safe-base64",
        ),
    ],
)
def test_malformed_midway_gets_the_usual_answer_and_leaves_no_file(
    accounts: RunningService, defect: bytes, answer: dict[str, str]
) -> None:
    text = b"".join(base64.b64encode(c) for c in random_chunks(6 * MIB, seed=3))
    body = (
        b'{"number": "%s", "recipients": ["%s"], "base64_attachments": ["'
        % (ALICE.encode(), BOB.encode())
        + text[: 2 * MIB]
        + defect
        + text[2 * MIB :]
        + b'"]}'
    )
    response = accounts.client.post("/v2/send", content=body)
    assert (response.status_code, response.json()) == (400, answer)
    assert temp_files(accounts) == []


def test_an_avatar_is_streamed_and_its_errors_keep_their_text(accounts: RunningService) -> None:
    text = b"".join(base64.b64encode(c) for c in random_chunks(3 * MIB, seed=4))
    good = b'{"name": "Bot", "base64_avatar": "' + text + b'"}'
    response = accounts.client.put(f"/v1/profiles/{ALICE}", content=good)
    assert response.status_code == 204, response.text
    bad = b'{"name": "Bot", "base64_avatar": "' + text[:MIB] + b"*" + text[MIB:] + b'"}'
    response = accounts.client.put(f"/v1/profiles/{ALICE}", content=bad)
    assert (response.status_code, response.json()) == (
        400,
        {
            "error": "Couldn't decode base64 encoded avatar: illegal base64 data at input byte "
            f"{MIB} (unexpected character '*')"
        },
    )
    assert temp_files(accounts) == []


def test_a_group_avatar_is_streamed(accounts: RunningService) -> None:
    created = accounts.client.post(f"/v1/groups/{ALICE}", json={"name": "Club", "members": [BOB]})
    group_id = created.json()["id"]
    image = b"\x89PNG\r\n\x1a\n" + b"".join(random_chunks(3 * MIB, seed=7))
    body = b'{"name": "Club", "base64_avatar": "' + base64.encodebytes(image) + b'"}'
    response = accounts.client.put(f"/v1/groups/{ALICE}/{group_id}", content=body)
    assert response.status_code == 204, response.text
    assert temp_files(accounts) == []
    avatar = accounts.client.get(f"/v1/groups/{BOB}/{group_id}/avatar")
    assert (avatar.status_code, avatar.headers["content-type"]) == (200, "image/png")
    assert avatar.content == image


def test_v1_send_streams_its_attachment(accounts: RunningService) -> None:
    data = b"".join(random_chunks(3 * MIB, seed=8))
    body = json.dumps(
        {
            "number": ALICE,
            "recipients": [BOB],
            "message": "v1",
            "base64_attachment": "data:application/pdf;filename=C%3A%5Cscans%5Creport.pdf;base64,"
            + base64.b64encode(data).decode(),
        }
    )
    response = accounts.client.post("/v1/send", content=body)
    assert response.status_code == 201, response.text
    assert temp_files(accounts) == []
    [message] = receive_until(accounts.client, BOB, 1)
    [attachment] = message["envelope"]["dataMessage"]["attachments"]
    assert (attachment["filename"], attachment["size"]) == ("report.pdf", len(data))
    assert accounts.client.get(f"/v1/attachments/{attachment['id']}").content == data


def test_a_client_that_goes_away_midway_leaves_no_file(accounts: RunningService) -> None:
    size = 30 * MIB
    conn = open_post(accounts, "/v2/send", body_length("", size))
    parts = body_parts("", size, seed=5)
    for _ in range(4):  # the JSON head and 3 chunks of 3 MiB: 12 MiB of 40
        conn.sendall(next(parts))
    wait_until(lambda: temp_files(accounts), "the attachment's temp file")
    conn.close()
    wait_until(lambda: temp_files(accounts) == [], "the temp file to go")


@pytest.fixture
def small_limit(tmp_path: Path) -> Iterator[RunningService]:
    """The service with a 10 MiB body limit."""
    running = start_service(tmp_path / "data", max_body_bytes=10 * MIB)
    try:
        yield running
    finally:
        running.stop()


TOO_LARGE = {"error": f"Request body is larger than the limit of {10 * MIB} bytes"}


def test_a_declared_length_over_the_limit_is_refused_before_the_body(
    small_limit: RunningService,
) -> None:
    with open_post(small_limit, "/v2/send", 10 * MIB + 1) as conn:
        assert status_and_body(read_answer(conn)) == (413, TOO_LARGE)


def test_a_chunked_body_is_refused_once_it_passes_the_limit(small_limit: RunningService) -> None:
    sent = 0
    pieces = (
        part[start : start + 64 * 1024]
        for part in body_parts("", 30 * MIB, seed=6)
        for start in range(0, len(part), 64 * 1024)
    )
    with open_post(small_limit, "/v2/send", None) as conn:
        for piece in pieces:
            if select.select([conn], [], [], 0)[0]:
                break  # answered while the body is still coming
            try:
                conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            except OSError:
                break  # answered and closed
            sent += len(piece)
        assert status_and_body(read_answer(conn)) == (413, TOO_LARGE)
    assert 10 * MIB < sent < 30 * MIB
    wait_until(lambda: temp_files(small_limit) == [], "the temp file to go")


def test_a_json_error_before_a_streamed_attachment_has_its_line_and_column(
    accounts: RunningService,
) -> None:
    text = b"".join(base64.b64encode(c) for c in random_chunks(3 * MIB, seed=4))
    head = b'{\n  "number": "%s",\n  "recipients": ["%s"],,\n' % (ALICE.encode(), BOB.encode())
    body = head + b'  "base64_attachments": ["' + text + b'"]\n}'
    response = accounts.client.post("/v2/send", content=body)
    assert (response.status_code, response.json()) == (
        400,
        {
            "error": "Couldn't process request - invalid JSON at line 3, column 36: "
            "Expecting property name enclosed in double quotes"
        },
    )
    assert temp_files(accounts) == []


def test_a_json_error_after_a_streamed_attachment_has_no_position(
    accounts: RunningService,
) -> None:
    text = b"".join(base64.b64encode(c) for c in random_chunks(3 * MIB, seed=5))
    head = b'{\n  "number": "%s",\n  "recipients": ["%s"],\n' % (ALICE.encode(), BOB.encode())
    body = head + b'  "base64_attachments": ["' + text + b'"],,\n}'
    response = accounts.client.post("/v2/send", content=body)
    assert (response.status_code, response.json()) == (
        400,
        {
            "error": "Couldn't process request - invalid JSON after a streamed attachment: "
            "Expecting property name enclosed in double quotes"
        },
    )
    assert temp_files(accounts) == []
    assert accounts.client.get(f"/v1/receive/{BOB}", params={"timeout": "0"}).json() == []


def test_an_attachment_over_the_decoded_limit_is_413_held_whole_or_streamed(
    tmp_path: Path,
) -> None:
    limit = 600_000  # in base64 well under the 1 MiB a body is held whole up to
    service = start_service(tmp_path / "data", max_attachment_bytes=limit)
    try:
        register(service.client, ALICE)
        register(service.client, BOB)
        for size, status in ((limit, 201), (limit + 3, 413)):
            data = base64.b64encode(b"\0" * size).decode()
            body = {"number": ALICE, "recipients": [BOB], "base64_attachments": [data]}
            response = service.client.post("/v2/send", json=body)
            assert response.status_code == status, response.text
        assert response.json() == {
            "error": f"Attachment too large: {limit + 3} bytes decoded, the limit is {limit} bytes"
        }
        streamed = service.client.post(
            "/v2/send", content=b"".join(body_parts("", 2 * MIB, seed=7))
        )
        assert (streamed.status_code, streamed.json()) == (
            413,
            {"error": f"Attachment too large: {2 * MIB} bytes decoded, the limit is {limit} bytes"},
        )
        assert temp_files(service) == []
    finally:
        service.stop()
