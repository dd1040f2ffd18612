"""Received attachments over HTTP: listed, downloaded byte-exact and deleted, on the sandbox and
on a daemon that runs elsewhere; names that could leave the folder read nothing."""

from __future__ import annotations

import base64
import http.client
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.flows import ALICE, BOB, receive_until
from tests.support.service import RunningService, start_service
from tests.support.shapes import UUID, data_message, received
from tests.support.standalone import SandboxProcess
from tests.support.tokens import bearer, create_token

CAROL = "+4915100000003"  # an outside Signal user

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4\n% a report of several lines\n" + bytes(range(256)) * 4
TEXT = "Shopping list:\n- Brot\n- Käse\n".encode()
NOT_FOUND = {"error": "No attachment with that name found"}
INVALID_NAME = {"error": "Please provide a valid attachment name"}
NO_ROUTE = {"error": "404 page not found"}


def attachment_entry(
    found: dict[str, Any], content_type: str, filename: str, size: int
) -> dict[str, Any]:
    """A received attachment: signal-cli's 8 keys, plus the `isVoiceNote` this service adds; the
    id is checked by shape."""
    assert found["id"].endswith(os.path.splitext(filename)[1]), found
    return {
        "contentType": content_type,
        "filename": filename,
        "id": found["id"],
        "size": size,
        "width": None,
        "height": None,
        "caption": None,
        "uploadTimestamp": found["uploadTimestamp"],
        "isVoiceNote": False,
    }


def send_from_carol(service: RunningService, to: str, *files: str) -> int:
    response = service.client.post(
        "/v1/sandbox/send",
        json={"from": CAROL, "recipients": [to], "message": "files", "base64_attachments": files},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["timestamp"])


def received_attachments(service: RunningService, account: str) -> list[dict[str, Any]]:
    [message] = receive_until(service.client, account, 1)
    attachments: list[dict[str, Any]] = message["envelope"]["dataMessage"]["attachments"]
    return attachments


def download(service: RunningService, ident: str, **kwargs: Any) -> tuple[int, str, bytes]:
    response = service.client.get(f"/v1/attachments/{ident}", **kwargs)
    length = response.headers.get("content-length")
    assert length == str(len(response.content)), response.headers
    return response.status_code, response.headers["content-type"], response.content


def test_received_attachments_are_listed_downloaded_and_deleted(
    accounts: RunningService,
) -> None:
    client = accounts.client
    pdf_uri = "data:application/pdf;filename=report.pdf;base64," + base64.b64encode(PDF).decode()
    ts = send_from_carol(accounts, ALICE, base64.b64encode(PNG).decode(), pdf_uri)

    [message] = receive_until(client, ALICE, 1)
    envelope = message["envelope"]
    png, pdf = envelope["dataMessage"]["attachments"]
    assert png["filename"].endswith(".png") and UUID.match(png["filename"][: -len(".png")])
    assert message == received(
        message,
        account=ALICE,
        source=CAROL,
        ts=ts,
        data=data_message(
            ts,
            "files",
            attachments=[
                attachment_entry(png, "image/png", png["filename"], len(PNG)),
                attachment_entry(pdf, "application/pdf", "report.pdf", len(PDF)),
            ],
        ),
    )

    listed = client.get("/v1/attachments")
    assert (listed.status_code, listed.json()) == (200, sorted([png["id"], pdf["id"]]))
    assert download(accounts, png["id"]) == (200, "image/png", PNG)
    assert download(accounts, pdf["id"]) == (200, "application/pdf", PDF)

    deleted = client.delete(f"/v1/attachments/{png['id']}")
    assert (deleted.status_code, deleted.content) == (204, b"")
    gone = client.get(f"/v1/attachments/{png['id']}")
    assert (gone.status_code, gone.json()) == (404, NOT_FOUND)
    again = client.delete(f"/v1/attachments/{png['id']}")
    assert (again.status_code, again.json()) == (404, NOT_FOUND)
    assert client.get("/v1/attachments").json() == [pdf["id"]]
    folder = accounts.backend.attachments_dir
    assert folder is not None
    assert sorted(p.name for p in folder.iterdir()) == [pdf["id"]]


def test_attachment_list_is_empty_before_anything_arrived(accounts: RunningService) -> None:
    answer = accounts.client.get("/v1/attachments")
    assert (answer.status_code, answer.json()) == (200, [])


def test_attachments_an_account_sent_are_not_listed(accounts: RunningService) -> None:
    # As with signal-cli: only what an account receives is downloaded into the folder.
    response = accounts.client.post(
        "/v2/send",
        json={
            "number": ALICE,
            "recipients": [CAROL],
            "base64_attachments": [base64.b64encode(PNG).decode()],
        },
    )
    assert response.status_code == 201, response.text
    outside = accounts.client.get(f"/v1/sandbox/received/{CAROL}").json()
    [sent] = outside[0]["envelope"]["dataMessage"]["attachments"]
    assert accounts.client.get("/v1/attachments").json() == []
    answer = accounts.client.get(f"/v1/attachments/{sent['id']}")
    assert (answer.status_code, answer.json()) == (404, NOT_FOUND)


def test_text_sent_as_bare_base64_arrives_as_text_plain(accounts: RunningService) -> None:
    # How Home Assistant sends `attachments: [path]`: the file's bytes as plain base64.
    response = accounts.client.post(
        "/v2/send",
        json={
            "number": ALICE,
            "recipients": [BOB, CAROL],
            "base64_attachments": [base64.b64encode(TEXT).decode()],
        },
    )
    assert response.status_code == 201, response.text
    [attachment] = received_attachments(accounts, BOB)
    assert attachment["filename"].endswith(".txt")
    assert attachment == attachment_entry(attachment, "text/plain", attachment["filename"], 30)
    outside = accounts.client.get(f"/v1/sandbox/received/{CAROL}").json()
    [seen_by_carol] = outside[0]["envelope"]["dataMessage"]["attachments"]
    # The phone gets signal-cli's 8 keys; isVoiceNote is the service's addition.
    assert seen_by_carol == {k: v for k, v in attachment.items() if k != "isVoiceNote"}
    assert download(accounts, attachment["id"]) == (200, "text/plain; charset=utf-8", TEXT)


def test_seed_example_with_wrapped_shell_base64_is_sent(
    accounts: RunningService, tmp_path: Path
) -> None:
    image = tmp_path / "image.png"
    image.write_bytes(PNG + bytes(200))  # long enough for `base64` to wrap its lines at 76
    # The seed document's example, run by a shell: the JSON string holds raw line breaks.
    command = (
        "curl -s -w '\\n%{http_code}' -X POST -H 'Content-Type: application/json' "
        f"""-d '{{"message": "Test via Signal API!", "number": "{ALICE}", """
        """"base64_attachments": ["'"$(base64 image.png)"'"], """
        f""""recipients": ["{BOB}"]}}' '{accounts.url}/v2/send'"""
    )
    wrapped = subprocess.run(["base64", str(image)], capture_output=True, check=True).stdout
    assert wrapped.count(b"\n") == 5, wrapped
    out = subprocess.run(
        ["bash", "-c", command], cwd=tmp_path, capture_output=True, check=True
    ).stdout
    text, status = out.decode().rsplit("\n", 1)
    assert status == "201", text
    [attachment] = received_attachments(accounts, BOB)
    assert attachment["contentType"] == "image/png"
    assert download(accounts, attachment["id"]) == (200, "image/png", PNG + bytes(200))


@pytest.fixture
def planted(accounts: RunningService) -> tuple[RunningService, Path]:
    """The sandbox's attachments folder with a secret beside it and a symlink to that secret
    inside it; the secret's path is returned."""
    folder = accounts.backend.attachments_dir
    assert folder is not None
    secret = folder.parent / "secret.txt"
    secret.write_text("TOP SECRET")
    (folder / "link.txt").symlink_to(secret)
    (folder / "sub").mkdir()
    os.mkfifo(folder / "pipe.txt")
    return accounts, secret


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        pytest.param("..", 400, INVALID_NAME, id="dot-dot"),
        pytest.param("%2e%2e", 400, INVALID_NAME, id="encoded-dot-dot"),
        pytest.param(".", 400, INVALID_NAME, id="dot"),
        pytest.param("..%2Fsecret.txt", 404, NO_ROUTE, id="encoded-slash"),
        pytest.param("%2E%2E%2Fsecret.txt", 404, NO_ROUTE, id="all-encoded"),
        pytest.param("..%5Csecret.txt", 400, INVALID_NAME, id="encoded-backslash"),
        pytest.param("%2Fetc%2Fpasswd", 404, NO_ROUTE, id="encoded-absolute"),
        pytest.param("/etc/passwd", 404, NO_ROUTE, id="absolute"),
        pytest.param("../secret.txt", 404, NO_ROUTE, id="raw-dot-dot-segment"),
        pytest.param("secret.txt%00", 400, INVALID_NAME, id="nul"),
        pytest.param(".hidden", 400, INVALID_NAME, id="leading-dot"),
        pytest.param("link.txt", 404, NOT_FOUND, id="symlink-out"),
        pytest.param("sub", 404, NOT_FOUND, id="directory"),
        pytest.param("pipe.txt", 404, NOT_FOUND, id="fifo"),
    ],
)
@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_names_that_could_leave_the_folder_read_nothing(
    planted: tuple[RunningService, Path], method: str, path: str, status: int, body: Any
) -> None:
    service, secret = planted
    # http.client sends the path as given: no dot-segment removal, no re-encoding.
    conn = http.client.HTTPConnection("127.0.0.1", service.port, timeout=30)
    try:
        conn.request(method, f"/v1/attachments/{path}")
        answer = conn.getresponse()
        assert (answer.status, json.loads(answer.read())) == (status, body)
    finally:
        conn.close()
    assert secret.read_text() == "TOP SECRET"
    folder = service.backend.attachments_dir
    assert folder is not None
    assert sorted(p.name for p in folder.iterdir()) == ["link.txt", "pipe.txt", "sub"]
    assert service.client.get("/v1/attachments").json() == []


def test_token_limited_to_accounts_sees_only_their_attachments(
    accounts: RunningService,
) -> None:
    send_from_carol(accounts, ALICE, base64.b64encode(PNG).decode())
    [for_alice] = received_attachments(accounts, ALICE)
    send_from_carol(accounts, BOB, base64.b64encode(PDF).decode())
    [for_bob] = received_attachments(accounts, BOB)
    data_dir = accounts.settings.data_dir
    alices = bearer(create_token(data_dir, "alice", "--scope", "receive", "--account", ALICE))
    everyone = bearer(create_token(data_dir, "all", "--scope", "receive"))
    client = accounts.client

    assert client.get("/v1/attachments", headers=alices).json() == [for_alice["id"]]
    assert client.get("/v1/attachments", headers=everyone).json() == sorted(
        [for_alice["id"], for_bob["id"]]
    )
    assert download(accounts, for_alice["id"], headers=alices) == (200, "image/png", PNG)
    refused = client.get(f"/v1/attachments/{for_bob['id']}", headers=alices)
    assert (refused.status_code, refused.json()) == (404, NOT_FOUND)
    refused = client.delete(f"/v1/attachments/{for_bob['id']}", headers=alices)
    assert (refused.status_code, refused.json()) == (404, NOT_FOUND)
    assert download(accounts, for_bob["id"], headers=everyone) == (200, "application/pdf", PDF)
    assert client.delete(f"/v1/attachments/{for_alice['id']}", headers=alices).status_code == 204
    assert client.get("/v1/attachments", headers=everyone).json() == [for_bob["id"]]


@pytest.fixture
def remote() -> Iterator[tuple[SandboxProcess, RunningService]]:
    """The service on a sandbox that runs as its own process (`--signal-cli-url`): no folder
    is shared. ALICE and BOB are registered."""
    root = Path(tempfile.mkdtemp(prefix="sr-"))  # short: UNIX socket paths are limited
    sandbox = SandboxProcess(root)
    service = None
    try:
        service = start_service(
            root / "data", sandbox=False, signal_cli_url=f"unix://{sandbox.socket}"
        )
        for number in (ALICE, BOB):
            assert service.client.post(f"/v1/register/{number}").status_code == 201
            code = sandbox.call("sandbox.getVerificationCode", {"number": number})["code"]
            verified = service.client.post(f"/v1/register/{number}/verify/{code}")
            assert verified.status_code == 201, verified.text
        yield sandbox, service
    finally:
        if service is not None:
            service.stop()
        sandbox.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_remote_daemon_attachments_come_through_get_attachment(
    remote: tuple[SandboxProcess, RunningService], tmp_path: Path
) -> None:
    sandbox, service = remote
    assert service.backend.attachments_dir is None
    photo = tmp_path / "photo.png"
    photo.write_bytes(PNG)
    notes = tmp_path / "notes.txt"
    notes.write_bytes(TEXT)
    sandbox.call("sandbox.send", {"from": CAROL, "recipient": [ALICE], "attachment": [str(photo)]})
    sandbox.call("sandbox.send", {"from": CAROL, "recipient": [BOB], "attachment": [str(notes)]})
    [for_alice] = received_attachments(service, ALICE)
    [for_bob] = received_attachments(service, BOB)
    assert (for_alice["contentType"], for_bob["contentType"]) == ("image/png", "text/plain")
    client = service.client

    # The list is what the inbox has seen; the bytes come from the daemon.
    assert client.get("/v1/attachments").json() == sorted([for_alice["id"], for_bob["id"]])
    assert download(service, for_alice["id"]) == (200, "image/png", PNG)
    assert download(service, for_bob["id"]) == (200, "text/plain; charset=utf-8", TEXT)
    data_dir = service.settings.data_dir
    bobs = bearer(create_token(data_dir, "bob", "--scope", "receive", "--account", BOB))
    assert client.get("/v1/attachments", headers=bobs).json() == [for_bob["id"]]
    refused = client.get(f"/v1/attachments/{for_alice['id']}", headers=bobs)
    assert (refused.status_code, refused.json()) == (404, NOT_FOUND)
    everyone = bearer(create_token(data_dir, "all", "--scope", "receive"))

    # Deleting forgets the attachment here; the daemon's file is its own.
    deleted = client.delete(f"/v1/attachments/{for_alice['id']}", headers=everyone)
    assert (deleted.status_code, deleted.content) == (204, b"")
    gone = client.get(f"/v1/attachments/{for_alice['id']}", headers=everyone)
    assert (gone.status_code, gone.json()) == (404, NOT_FOUND)
    assert client.get("/v1/attachments", headers=everyone).json() == [for_bob["id"]]
    still = sandbox.call("getAttachment", {"account": ALICE, "id": for_alice["id"]})
    assert base64.b64decode(still["data"]) == PNG
    unknown = client.get("/v1/attachments/never-seen.png", headers=everyone)
    assert (unknown.status_code, unknown.json()) == (404, NOT_FOUND)


def test_remote_daemon_that_lost_the_file_answers_404(
    remote: tuple[SandboxProcess, RunningService], tmp_path: Path
) -> None:
    sandbox, service = remote
    photo = tmp_path / "photo.png"
    photo.write_bytes(PNG)
    sandbox.call("sandbox.send", {"from": CAROL, "recipient": [ALICE], "attachment": [str(photo)]})
    [attachment] = received_attachments(service, ALICE)
    (sandbox.data_dir / "attachments" / attachment["id"]).unlink()
    answer = service.client.get(f"/v1/attachments/{attachment['id']}")
    assert (answer.status_code, answer.json()) == (404, NOT_FOUND)


LARGE = bytes(range(256)) * (6 * 4096 + 7)  # about 6 MB: many chunks, a ragged end


def test_large_attachment_is_downloaded_whole(accounts: RunningService) -> None:
    send_from_carol(accounts, ALICE, base64.b64encode(LARGE).decode())
    [attachment] = received_attachments(accounts, ALICE)
    assert attachment["size"] == len(LARGE)
    assert download(accounts, attachment["id"]) == (200, "application/octet-stream", LARGE)


def test_large_attachment_from_a_remote_daemon_is_downloaded_whole(
    remote: tuple[SandboxProcess, RunningService], tmp_path: Path
) -> None:
    sandbox, service = remote
    path = tmp_path / "recording.bin"
    path.write_bytes(LARGE)
    sandbox.call("sandbox.send", {"from": CAROL, "recipient": [BOB], "attachment": [str(path)]})
    [attachment] = received_attachments(service, BOB)
    assert download(service, attachment["id"]) == (200, "application/octet-stream", LARGE)
