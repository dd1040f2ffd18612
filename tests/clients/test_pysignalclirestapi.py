"""pysignalclirestapi 0.3.25 (the client inside Home Assistant), unchanged, against the service.

Its `receive()` reads `/v1/about`, sees `mode: "json-rpc"` and opens the websocket
`/v1/receive/{number}?ignore_attachments=false&…&timeout=N` with the `websockets` package,
collecting frames until `timeout` seconds pass without one (or `max_messages` arrived).

"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest
from pysignalclirestapi import SignalCliRestApi, SignalCliRestApiHTTPBasicAuth
from pysignalclirestapi.api import SignalCliRestApiError

from signal_rest import __version__
from tests.support import shapes
from tests.support.flows import ALICE, BOB, is_content, receive_until
from tests.support.service import RunningService
from tests.support.shapes import data_message
from tests.support.tokens import bearer, create_token

OUTSIDER = "+4915100000009"

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4 quarterly report"
TEXT = b"Front door opened at 07:15\nBack door closed\n"
GROUP_ID = re.compile(r"^group\.[a-zA-Z0-9]{59}=$")


def sent_timestamp(result: Any) -> int:
    """send_message returns the parsed body: the 0.101 array with one entry."""
    assert result == [{"timestamp": result[0]["timestamp"]}]
    return int(result[0]["timestamp"])


@pytest.fixture
def alice(accounts: RunningService) -> SignalCliRestApi:
    return SignalCliRestApi(accounts.url, ALICE)


def test_client_constructor_reads_about_and_picks_json_rpc_mode(accounts: RunningService) -> None:
    api = SignalCliRestApi(accounts.url, ALICE)
    assert api.mode() == "json-rpc"
    assert api.about() == {
        "versions": ["v1", "v2"],
        "build": 2,
        "mode": "json-rpc",
        "version": "0.101",
        "capabilities": {"v2/send": ["quotes", "mentions"]},
        "signal_rest_version": __version__,
        "backend": "sandbox",
    }
    assert api.api_info() == (["v1", "v2"], 2)


def test_client_send_message_reaches_the_number(
    accounts: RunningService, alice: SignalCliRestApi
) -> None:
    ts = sent_timestamp(alice.send_message("Hello from HA", [BOB]))
    [received] = receive_until(accounts.client, BOB, 1)
    assert received == shapes.received(
        received, account=BOB, source=ALICE, ts=ts, data=data_message(ts, "Hello from HA")
    )


@pytest.mark.parametrize(
    ("how", "content", "mime", "extension"),
    [
        ("filenames", PNG, "image/png", ".png"),
        ("attachments_as_bytes", PDF, "application/pdf", ".pdf"),
        ("filenames", TEXT, "text/plain", ".txt"),
    ],
    ids=["file-png", "bytes-pdf", "file-text"],
)
def test_client_send_message_with_attachment_sniffs_its_mime_type(
    accounts: RunningService,
    alice: SignalCliRestApi,
    tmp_path: Path,
    how: str,
    content: bytes,
    mime: str,
    extension: str,
) -> None:
    # Both arrive as plain base64 without a MIME type, as Home Assistant sends them.
    if how == "filenames":
        path = tmp_path / "snapshot"
        path.write_bytes(content)
        result = alice.send_message("see attached", [BOB], filenames=[str(path)])
    else:
        result = alice.send_message("see attached", [BOB], attachments_as_bytes=[content])
    ts = sent_timestamp(result)

    [received] = receive_until(accounts.client, BOB, 1)
    [attachment] = received["envelope"]["dataMessage"]["attachments"]
    assert attachment["filename"].endswith(extension)
    assert received == shapes.received(
        received,
        account=BOB,
        source=ALICE,
        ts=ts,
        data=data_message(
            ts,
            "see attached",
            attachments=[
                {
                    "contentType": mime,
                    "filename": attachment["filename"],
                    "id": attachment["id"],
                    "size": len(content),
                    "width": None,
                    "height": None,
                    "caption": None,
                    "uploadTimestamp": attachment["uploadTimestamp"],
                    "isVoiceNote": False,  # added by the service for signalbot
                }
            ],
        ),
    )


def test_client_send_message_with_notify_self_reaches_the_others(
    accounts: RunningService, alice: SignalCliRestApi
) -> None:
    # Home Assistant 2026.8+ sends notify_self=True, also for a Note to Self.
    note_ts = sent_timestamp(alice.send_message("note to self", [ALICE], notify_self=True))
    ts = sent_timestamp(alice.send_message("for bob", [ALICE, BOB], notify_self=True))
    assert ts > note_ts

    [received] = receive_until(accounts.client, BOB, 1)
    assert received == shapes.received(
        received, account=BOB, source=ALICE, ts=ts, data=data_message(ts, "for bob")
    )


def test_client_group_lifecycle(accounts: RunningService, alice: SignalCliRestApi) -> None:
    created = alice.create_group("Household", [BOB], description="lights and heating")
    group_id = created["id"]
    assert created == {"id": group_id}
    assert GROUP_ID.match(group_id)
    internal_id = base64.b64decode(group_id.removeprefix("group.")).decode()

    entry = {
        "name": "Household",
        "description": "lights and heating",
        "id": group_id,
        "internal_id": internal_id,
        "members": [ALICE, BOB],
        "blocked": False,
        "member": True,
        "pending_invites": [],
        "pending_requests": [],
        "invite_link": "",
        "admins": [ALICE],
        "permissions": {
            "add_members": "every-member",
            "edit_group": "every-member",
            "send_messages": "every-member",
        },
    }
    assert alice.list_groups() == [entry]
    assert alice.get_group(group_id) == entry

    # The last admin cannot leave while others remain: an error, as with the Go project, that
    # says how to hand over in REST terms and keeps signal-cli's text.
    with pytest.raises(SignalCliRestApiError) as refused:
        alice.delete_group(group_id)
    assert str(refused.value) == (
        "You are the only admin of this group: name a member as new admin with "
        f"?new_admin=<number> to leave it (members: {BOB}) (signal-cli: You need to specify a "
        f"new admin with --admin: User is last admin in group: Household ({internal_id}))"
    )

    bob = SignalCliRestApi(accounts.url, BOB)
    assert bob.delete_group(group_id) is None
    assert bob.list_groups() == []
    assert alice.get_group(group_id) == {**entry, "members": [ALICE]}
    assert alice.delete_group(group_id) is None
    assert alice.list_groups() == []
    with pytest.raises(SignalCliRestApiError, match=r"^No group with that id found$"):
        alice.get_group(group_id)


def test_client_updates_group_members_and_admins(
    accounts: RunningService, alice: SignalCliRestApi
) -> None:
    group_id = alice.create_group("Household", [BOB])["id"]
    assert alice.update_group(group_id, name="Home", description="the flat") is None
    assert alice.add_group_members(group_id, [OUTSIDER]) is None
    assert alice.add_group_admins(group_id, [BOB]) is None
    entry = alice.get_group(group_id)
    assert (entry["name"], entry["description"]) == ("Home", "the flat")
    assert sorted(entry["members"]) == sorted([ALICE, BOB, OUTSIDER])
    assert sorted(entry["admins"]) == sorted([ALICE, BOB])

    assert alice.remove_group_members(group_id, [OUTSIDER]) is None
    assert sorted(alice.get_group(group_id)["members"]) == sorted([ALICE, BOB])
    # With Bob as a second admin, Alice may leave and delete the group.
    assert alice.delete_group(group_id) is None
    assert alice.list_groups() == []
    assert SignalCliRestApi(accounts.url, BOB).get_group(group_id)["members"] == [BOB]


def sandbox_send(service: RunningService, to: str, text: str) -> int:
    response = service.client.post(
        "/v1/sandbox/send", json={"from": OUTSIDER, "recipients": [to], "message": text}
    )
    assert response.status_code == 201, response.text
    return int(response.json()["timestamp"])


def test_client_receive_uses_the_websocket(
    accounts: RunningService, alice: SignalCliRestApi
) -> None:
    first = sandbox_send(accounts, ALICE, "first")
    second = sandbox_send(accounts, ALICE, "second")

    received = alice.receive(timeout=1)

    assert received == [
        shapes.received(
            received[0], account=ALICE, source=OUTSIDER, ts=first, data=data_message(first, "first")
        ),
        shapes.received(
            received[1],
            account=ALICE,
            source=OUTSIDER,
            ts=second,
            data=data_message(second, "second"),
        ),
    ]
    assert alice.receive(timeout=1) == []
    again = accounts.client.get(f"/v1/receive/{ALICE}", params={"timeout": "0"})
    assert (again.status_code, again.json()) == (200, [])


def test_client_receive_with_max_messages_loses_nothing(
    accounts: RunningService, alice: SignalCliRestApi
) -> None:
    timestamps = [sandbox_send(accounts, ALICE, text) for text in ("one", "two", "three")]

    batches = [alice.receive(timeout=1, max_messages=2), alice.receive(timeout=1, max_messages=2)]

    assert [[m["envelope"]["dataMessage"]["message"] for m in b] for b in batches] == [
        ["one", "two"],
        ["three"],
    ]
    assert [m["envelope"]["timestamp"] for b in batches for m in b] == timestamps


def test_client_with_basic_auth_sends_and_receives_when_tokens_are_on(
    accounts: RunningService,
) -> None:
    data_dir = accounts.settings.data_dir
    admin = create_token(data_dir, "admin", "--scope", "all")
    secret = create_token(
        data_dir, "home-assistant", "--scope", "send", "--scope", "receive", "--account", ALICE
    )
    api = SignalCliRestApi(accounts.url, ALICE, auth=SignalCliRestApiHTTPBasicAuth("api", secret))
    ts = sent_timestamp(api.send_message("Hello with a token", [BOB]))
    incoming = accounts.client.post(
        "/v1/sandbox/send",
        json={"from": OUTSIDER, "recipients": [ALICE], "message": "to alice"},
        headers=bearer(admin),
    )
    assert incoming.status_code == 201, incoming.text

    received = api.receive(timeout=1)

    texts = [m["envelope"]["dataMessage"]["message"] for m in received if is_content(m)]
    assert texts == ["to alice"]
    bob = accounts.client.get(f"/v1/receive/{BOB}", params={"timeout": "1"}, headers=bearer(admin))
    assert [m["envelope"]["dataMessage"]["timestamp"] for m in bob.json() if is_content(m)] == [ts]


def test_client_without_auth_is_refused_when_tokens_are_on(accounts: RunningService) -> None:
    create_token(accounts.settings.data_dir, "admin", "--scope", "all")
    api = SignalCliRestApi(accounts.url, ALICE)  # /v1/about stays open: the constructor works
    with pytest.raises(SignalCliRestApiError, match="An API token is required"):
        api.send_message("no token", [BOB])
    for_bob = SignalCliRestApiHTTPBasicAuth(
        "api", create_token(accounts.settings.data_dir, "bob", "--scope", "send", "--account", BOB)
    )
    api = SignalCliRestApi(accounts.url, ALICE, auth=for_bob)
    with pytest.raises(SignalCliRestApiError, match=f"may not act for account \\{ALICE}"):
        api.send_message("as alice", [BOB])


def test_client_adds_and_removes_a_reaction(
    accounts: RunningService, alice: SignalCliRestApi
) -> None:
    # pysignalclirestapi 0.3.25 has no receipt or typing call; its reactions are these two.
    bob = SignalCliRestApi(accounts.url, BOB)
    target = sent_timestamp(bob.send_message("Lights off?", [ALICE]))
    bob_uuid = receive_until(accounts.client, ALICE, 1)[0]["envelope"]["sourceUuid"]

    assert alice.add_reaction("👍", BOB, target) is None  # the author defaults to the recipient
    assert alice.remove_reaction(BOB, target) is None  # and so does the emoji, to 👍
    added, removed = receive_until(accounts.client, BOB, 2)
    for message, is_remove in ((added, False), (removed, True)):
        ts = message["envelope"]["timestamp"]
        reaction = {
            "emoji": "👍",
            "targetAuthor": BOB,
            "targetAuthorNumber": BOB,
            "targetAuthorUuid": bob_uuid,
            "targetSentTimestamp": target,
            "isRemove": is_remove,
        }
        assert message == shapes.received(
            message,
            account=BOB,
            source=ALICE,
            ts=ts,
            data=data_message(ts, None, reaction=reaction),
        )


def test_client_reaction_errors_carry_the_go_texts(alice: SignalCliRestApi) -> None:
    with pytest.raises(
        SignalCliRestApiError, match=r"^Couldn't process request - timestamp missing$"
    ):
        alice.add_reaction("👍", BOB, 0)
    with pytest.raises(SignalCliRestApiError, match=r"^Invalid group id$"):
        alice.remove_reaction("group.bm90IGEgZ3JvdXAgaWQ!", 1752436800000, BOB)


def test_client_lists_gets_and_deletes_received_attachments(
    accounts: RunningService, alice: SignalCliRestApi
) -> None:
    files = [base64.b64encode(PNG).decode(), base64.b64encode(TEXT).decode()]
    sent = accounts.client.post(
        "/v1/sandbox/send",
        json={
            "from": OUTSIDER,
            "recipients": [ALICE],
            "message": "two",
            "base64_attachments": files,
        },
    )
    assert sent.status_code == 201, sent.text

    [received] = alice.receive(timeout=1)
    png, text = received["envelope"]["dataMessage"]["attachments"]
    assert (png["contentType"], text["contentType"]) == ("image/png", "text/plain")
    assert alice.list_attachments() == sorted([png["id"], text["id"]])
    assert alice.get_attachment(png["id"]) == PNG
    assert alice.get_attachment(text["id"]) == TEXT

    assert alice.delete_attachment(png["id"]) is None
    assert alice.list_attachments() == [text["id"]]
    with pytest.raises(SignalCliRestApiError, match=r"^No attachment with that name found$"):
        alice.get_attachment(png["id"])
    with pytest.raises(SignalCliRestApiError, match=r"^No attachment with that name found$"):
        alice.delete_attachment(png["id"])


def test_client_with_a_token_for_one_account_sees_only_its_attachments(
    accounts: RunningService,
) -> None:
    for number, content in ((ALICE, PNG), (BOB, PDF)):
        sent = accounts.client.post(
            "/v1/sandbox/send",
            json={
                "from": OUTSIDER,
                "recipients": [number],
                "base64_attachments": [base64.b64encode(content).decode()],
            },
        )
        assert sent.status_code == 201, sent.text
    [for_alice] = receive_until(accounts.client, ALICE, 1)[0]["envelope"]["dataMessage"][
        "attachments"
    ]
    [for_bob] = receive_until(accounts.client, BOB, 1)[0]["envelope"]["dataMessage"]["attachments"]
    secret = create_token(
        accounts.settings.data_dir, "home-assistant", "--scope", "receive", "--account", ALICE
    )
    api = SignalCliRestApi(accounts.url, ALICE, auth=SignalCliRestApiHTTPBasicAuth("api", secret))

    assert api.list_attachments() == [for_alice["id"]]
    assert api.get_attachment(for_alice["id"]) == PNG
    with pytest.raises(SignalCliRestApiError, match=r"^No attachment with that name found$"):
        api.get_attachment(for_bob["id"])
    with pytest.raises(SignalCliRestApiError, match=r"^No attachment with that name found$"):
        api.delete_attachment(for_bob["id"])


def test_client_update_group_avatar_is_served_back(
    accounts: RunningService, alice: SignalCliRestApi
) -> None:
    group_id = alice.create_group("Family", [BOB])["id"]
    alice.update_group(group_id, attachment_as_bytes=PNG)
    avatar = accounts.client.get(f"/v1/groups/{ALICE}/{group_id}/avatar")
    assert (avatar.status_code, avatar.headers["content-type"], avatar.content) == (
        200,
        "image/png",
        PNG,
    )


def test_client_profile_and_contacts(accounts: RunningService, alice: SignalCliRestApi) -> None:
    alice.update_profile("Alice", attachment_as_bytes=PNG)
    bob = SignalCliRestApi(accounts.url, BOB)
    bob.send_message("hi Alice", [ALICE])
    assert accounts.backend.sandbox is not None
    contacts = bob.get_contacts()
    assert contacts == [
        {
            "number": ALICE,
            "uuid": accounts.backend.sandbox.network.uuid_of(ALICE),
            "name": "",
            "profile_name": "Alice",
            "username": "",
            "color": "",
            "blocked": False,
            "message_expiration": "0",
            "note": "",
            "profile": {
                "given_name": "Alice",
                "lastname": "",
                "about": "",
                "has_avatar": True,
                "last_updated_timestamp": bob.get_contacts()[0]["profile"][
                    "last_updated_timestamp"
                ],
            },
            "given_name": "",
            "nickname": {"name": "", "given_name": "", "family_name": ""},
        }
    ]
    # update_contact calls .json() on the 204 (a client bug): the update is made all the same.
    with pytest.raises(ValueError):
        alice.update_contact(BOB, name="Bob", expiration_in_seconds=60)
    [entry] = alice.get_contacts()
    assert (entry["number"], entry["name"], entry["message_expiration"]) == (BOB, "Bob", "60")
    alice.sync_contacts()
