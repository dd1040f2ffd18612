"""Sending and receiving end to end, over real HTTP, on the sandbox."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.flows import ALICE, BOB, receive_until, register
from tests.support.service import RunningService, start_service
from tests.support.shapes import UUID, data_message

CAROL = "+4915100000003"  # an outside Signal user
DAVE = "+4915100000004"  # another outside user

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def assert_envelope(
    message: dict[str, Any], *, account: str, source: str, ts: int, data: dict[str, Any]
) -> None:
    """The whole received object, with the values only the network knows checked by shape."""
    envelope = message["envelope"]
    assert UUID.match(envelope["sourceUuid"]), envelope
    assert envelope["serverReceivedTimestamp"] >= ts
    assert envelope["serverDeliveredTimestamp"] >= envelope["serverReceivedTimestamp"]
    assert message == {
        "account": account,
        "envelope": {
            "source": source,
            "sourceNumber": source,
            "sourceUuid": envelope["sourceUuid"],
            "sourceName": envelope["sourceName"],
            "sourceDevice": 1,
            "timestamp": ts,
            "serverReceivedTimestamp": envelope["serverReceivedTimestamp"],
            "serverDeliveredTimestamp": envelope["serverDeliveredTimestamp"],
            "dataMessage": data,
        },
    }


def single_timestamp(response: Any) -> int:
    assert response.status_code == 201, response.text
    body = response.json()
    assert body == [{"timestamp": body[0]["timestamp"]}]
    assert body[0]["timestamp"].isdigit()
    return int(body[0]["timestamp"])


def test_send_to_several_recipients_reaches_each(accounts: RunningService) -> None:
    client = accounts.client
    response = client.post(
        "/v2/send", json={"number": ALICE, "recipients": [BOB, CAROL], "message": "Hello"}
    )
    ts = single_timestamp(response)

    [received] = receive_until(client, BOB, 1)
    assert_envelope(received, account=BOB, source=ALICE, ts=ts, data=data_message(ts, "Hello"))
    outside = client.get(f"/v1/sandbox/received/{CAROL}").json()
    assert [m["envelope"]["dataMessage"] for m in outside] == [data_message(ts, "Hello")]
    assert outside[0]["account"] == CAROL


def test_send_accepts_text_plain_bodies_and_percent_encoded_numbers(
    accounts: RunningService,
) -> None:
    body = json.dumps({"number": ALICE, "recipients": [BOB], "message": "plain"})
    response = accounts.client.post(
        "/v2/send", content=body, headers={"Content-Type": "text/plain; charset=utf-8"}
    )
    ts = single_timestamp(response)
    received = accounts.client.get("/v1/receive/%2B4915100000002").json()
    assert [m["envelope"]["timestamp"] for m in received if "dataMessage" in m["envelope"]] == [ts]


def test_send_raw_base64_attachment_sniffs_the_mime_type(accounts: RunningService) -> None:
    response = accounts.client.post(
        "/v2/send",
        json={
            "number": ALICE,
            "recipients": [BOB],
            "message": "pic",
            "base64_attachments": [base64.b64encode(PNG).decode()],
        },
    )
    ts = single_timestamp(response)
    [received] = receive_until(accounts.client, BOB, 1)
    [attachment] = received["envelope"]["dataMessage"]["attachments"]
    assert attachment["contentType"] == "image/png"
    assert attachment["size"] == len(PNG)
    assert attachment["filename"].endswith(".png")
    assert received["envelope"]["timestamp"] == ts


def test_send_data_uri_attachment_keeps_its_filename(accounts: RunningService) -> None:
    uri = (
        "data:application/pdf;filename=report.pdf;base64,"
        + base64.b64encode(b"%PDF-1.4 report").decode()
    )
    response = accounts.client.post(
        "/v2/send",
        json={"number": ALICE, "recipients": [BOB], "base64_attachments": [uri]},
    )
    ts = single_timestamp(response)
    [received] = receive_until(accounts.client, BOB, 1)
    attachment = received["envelope"]["dataMessage"]["attachments"][0]
    assert attachment == {
        "contentType": "application/pdf",
        "filename": "report.pdf",
        "id": attachment["id"],
        "size": len(b"%PDF-1.4 report"),
        "width": None,
        "height": None,
        "caption": None,
        "uploadTimestamp": attachment["uploadTimestamp"],
        "isVoiceNote": False,  # added by the service for signalbot
    }
    assert received["envelope"]["dataMessage"]["message"] is None
    assert received["envelope"]["timestamp"] == ts


def test_send_large_video_posted_from_stdin(accounts: RunningService, tmp_path: Path) -> None:
    video = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + bytes(4_500_000)
    body = tmp_path / "body.json"
    body.write_text(
        json.dumps(
            {
                "number": ALICE,
                "recipients": [BOB],
                "message": "video",
                "base64_attachments": [base64.b64encode(video).decode()],
            }
        )
    )
    # Exactly as the README of the Go project does it: curl ... -d @- < body.json
    with body.open("rb") as stdin:
        out = subprocess.run(
            [
                "curl",
                "-s",
                "-w",
                "\n%{http_code}",
                "-X",
                "POST",
                "-H",
                "Content-Type: application/json",
                "-d",
                "@-",
                f"{accounts.url}/v2/send",
            ],
            stdin=stdin,
            capture_output=True,
            check=True,
        ).stdout.decode()
    text, status = out.rsplit("\n", 1)
    assert status == "201", text
    [received] = receive_until(accounts.client, BOB, 1)
    [attachment] = received["envelope"]["dataMessage"]["attachments"]
    assert (attachment["contentType"], attachment["size"]) == ("video/mp4", len(video))
    assert received["envelope"]["timestamp"] == int(json.loads(text)[0]["timestamp"])


def test_send_to_group_and_number_in_one_call_sends_twice(accounts: RunningService) -> None:
    client = accounts.client
    created = client.post(f"/v1/groups/{ALICE}", json={"name": "Team", "members": [BOB, CAROL]})
    assert created.status_code == 201, created.text
    group_id = created.json()["id"]
    response = client.post(
        "/v2/send", json={"number": ALICE, "recipients": [group_id, DAVE], "message": "both"}
    )
    assert response.status_code == 201, response.text
    group_entry, number_entry = response.json()
    assert group_entry == {"timestamp": group_entry["timestamp"]}
    assert number_entry == {"timestamp": number_entry["timestamp"]}

    [in_group] = receive_until(client, BOB, 1)
    internal_id = base64.b64decode(group_id.removeprefix("group.")).decode()
    assert in_group["envelope"]["dataMessage"]["groupInfo"] == {
        "groupId": internal_id,
        "groupName": "Team",
        "revision": in_group["envelope"]["dataMessage"]["groupInfo"]["revision"],
        "type": "DELIVER",
    }
    assert in_group["envelope"]["timestamp"] == int(group_entry["timestamp"])
    dave = client.get(f"/v1/sandbox/received/{DAVE}").json()
    assert [m["envelope"]["timestamp"] for m in dave] == [int(number_entry["timestamp"])]


def test_send_to_unregistered_number_reports_it(accounts: RunningService) -> None:
    client = accounts.client
    assert client.put(f"/v1/sandbox/numbers/{DAVE}", json={"registered": False}).status_code == 200
    only_failure = client.post(
        "/v2/send", json={"number": ALICE, "recipients": [DAVE], "message": "x"}
    )
    assert only_failure.status_code == 400
    assert only_failure.json() == {
        "error": f"Failed to send message ({DAVE}: UNREGISTERED_FAILURE)"
    }

    partial = client.post(
        "/v2/send", json={"number": ALICE, "recipients": [BOB, DAVE], "message": "x"}
    )
    assert partial.status_code == 201
    [entry] = partial.json()
    assert entry == {
        "timestamp": entry["timestamp"],
        "errors": {"recipients": [{"number": DAVE, "reason": "UNREGISTERED_FAILURE"}]},
    }


def test_v1_send_still_answers_with_one_object(accounts: RunningService) -> None:
    response = accounts.client.post(
        "/v1/send", json={"number": ALICE, "recipients": [BOB], "message": "old"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body == {"timestamp": body["timestamp"]}
    [received] = receive_until(accounts.client, BOB, 1)
    assert received["envelope"]["dataMessage"]["message"] == "old"


def test_receive_keeps_messages_across_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = start_service(data_dir)
    try:
        register(first.client, ALICE)
        register(first.client, BOB)
        ts = single_timestamp(
            first.client.post(
                "/v2/send", json={"number": ALICE, "recipients": [BOB], "message": "kept"}
            )
        )
    finally:
        first.stop()
    second = start_service(data_dir)
    try:
        [received] = receive_until(second.client, BOB, 1)
        assert received["envelope"]["timestamp"] == ts
        again = second.client.get(f"/v1/receive/{BOB}", params={"timeout": "0"}).json()
        assert [m for m in again if "dataMessage" in m["envelope"]] == []
    finally:
        second.stop()


def test_receive_honours_max_messages(accounts: RunningService) -> None:
    client = accounts.client
    for text in ("one", "two", "three"):
        single_timestamp(
            client.post("/v2/send", json={"number": ALICE, "recipients": [BOB], "message": text})
        )
    got: list[str] = []
    for _ in range(10):
        batch = client.get(f"/v1/receive/{BOB}", params={"max_messages": "1", "timeout": "1"})
        assert len(batch.json()) <= 1
        got += [
            m["envelope"]["dataMessage"]["message"]
            for m in batch.json()
            if "dataMessage" in m["envelope"]
        ]
        if len(got) == 3:
            break
    assert got == ["one", "two", "three"]


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("timeout=abc", "Couldn't process request - timeout needs to be numeric!"),
        ("max_messages=x", "Couldn't process request - max_messages needs to be numeric!"),
        (
            "ignore_attachments=yes",
            "Couldn't process request - ignore_attachments parameter needs to be either "
            "'true' or 'false'",
        ),
    ],
    ids=["timeout", "max_messages", "flag"],
)
def test_receive_rejects_bad_query_parameters(
    accounts: RunningService, query: str, error: str
) -> None:
    response = accounts.client.get(f"/v1/receive/{ALICE}?{query}")
    assert (response.status_code, response.json()) == (400, {"error": error})
