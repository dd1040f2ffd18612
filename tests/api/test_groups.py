"""Creating, listing, reading and deleting groups end to end, over real HTTP, on the sandbox."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from tests.support.flows import ALICE, BOB
from tests.support.service import RunningService
from tests.support.shapes import INVALID_PERMISSIONS, UUID, not_an_account

CAROL = "+4915100000003"  # an outside Signal user
UNKNOWN = "+4915199999999"

# signalbot's check of a REST group id: base64 of the 44-character internal id is 60 characters,
# 59 of them alphanumeric (the text being base64 itself, no sextet reaches `+` or `/`) and one `=`.
REST_ID = re.compile(r"^group\.[a-zA-Z0-9]{59}=$")
INTERNAL_ID = re.compile(r"^[A-Za-z0-9+/]{43}=$")
EVERY = "every-member"
ADMINS = "only-admins"
ALL_KEYS = {
    "name",
    "description",
    "id",
    "internal_id",
    "members",
    "blocked",
    "member",
    "pending_invites",
    "pending_requests",
    "invite_link",
    "admins",
    "permissions",
}


def create(service: RunningService, body: dict[str, Any], number: str = ALICE) -> str:
    response = service.client.post(f"/v1/groups/{number}", json=body)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/json"
    group_id: str = response.json()["id"]
    assert response.json() == {"id": group_id}
    return group_id


def listed(service: RunningService, number: str = ALICE, **params: str) -> Any:
    response = service.client.get(f"/v1/groups/{number}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def bare(group_id: str) -> str:
    return group_id.removeprefix("group.")


def full_body() -> dict[str, Any]:
    return {
        "name": "Team",
        "members": [BOB, CAROL],
        "description": "Our team",
        "permissions": {"add_members": ADMINS, "edit_group": ADMINS, "send_messages": EVERY},
        "group_link": "enabled",
        "expiration_time": 3600,
    }


def test_create_group_returns_the_rest_id_of_the_new_group(accounts: RunningService) -> None:
    group_id = create(accounts, full_body())
    assert REST_ID.match(group_id), group_id
    internal_id = base64.b64decode(bare(group_id), validate=True).decode()
    assert INTERNAL_ID.match(internal_id), internal_id
    assert len(base64.b64decode(internal_id)) == 32

    [entry] = listed(accounts)
    assert entry["invite_link"].startswith("https://signal.group/#"), entry
    assert entry == {
        "name": "Team",
        "description": "Our team",
        "id": group_id,
        "internal_id": internal_id,
        "members": [ALICE, BOB, CAROL],
        "blocked": False,
        "member": True,
        "pending_invites": [],
        "pending_requests": [],
        "invite_link": entry["invite_link"],
        "admins": [ALICE],
        "permissions": {"add_members": ADMINS, "edit_group": ADMINS, "send_messages": EVERY},
    }


def test_create_group_with_empty_body_object_gives_a_complete_entry(
    accounts: RunningService,
) -> None:
    group_id = create(accounts, {})
    assert listed(accounts) == [
        {
            "name": "",
            "description": "",
            "id": group_id,
            "internal_id": base64.b64decode(bare(group_id)).decode(),
            "members": [ALICE],
            "blocked": False,
            "member": True,
            "pending_invites": [],
            "pending_requests": [],
            "invite_link": "",
            "admins": [ALICE],
            "permissions": {"add_members": EVERY, "edit_group": EVERY, "send_messages": EVERY},
        }
    ]


def test_create_group_accepts_explicit_nulls(accounts: RunningService) -> None:
    # signal-client sends every optional field, as null when unset.
    body = {
        "name": "Nulls",
        "members": [BOB],
        "description": None,
        "permissions": None,
        "group_link": None,
        "expiration_time": None,
    }
    group_id = create(accounts, body)
    [entry] = listed(accounts)
    assert (entry["id"], entry["name"], entry["description"], entry["members"]) == (
        group_id,
        "Nulls",
        "",
        [ALICE, BOB],
    )


def test_create_group_reads_nested_keys_like_go(accounts: RunningService) -> None:
    # Go matches keys case-insensitively and takes null as absent, inside nested objects too.
    body = {
        "Name": "Nested",
        "PERMISSIONS": {"Add_Members": ADMINS, "edit_group": None, "SEND_MESSAGES": ADMINS},
    }
    group_id = create(accounts, body)
    [entry] = listed(accounts)
    assert (entry["id"], entry["name"], entry["permissions"]) == (
        group_id,
        "Nested",
        {"add_members": ADMINS, "edit_group": EVERY, "send_messages": ADMINS},
    )


def test_create_group_reads_json_sent_as_text_plain(accounts: RunningService) -> None:
    response = accounts.client.post(
        f"/v1/groups/{ALICE}",
        content=json.dumps({"name": "Plain", "members": [BOB]}),
        headers={"Content-Type": "text/plain; charset=utf-8"},
    )
    assert response.status_code == 201, response.text
    group_id = response.json()["id"]
    assert [(g["id"], g["name"], g["members"]) for g in listed(accounts)] == [
        (group_id, "Plain", [ALICE, BOB])
    ]


def test_list_groups_is_an_empty_array_without_groups(accounts: RunningService) -> None:
    response = accounts.client.get(f"/v1/groups/{ALICE}")
    assert (response.status_code, response.json()) == (200, [])
    assert response.headers["content-type"] == "application/json"


def test_list_groups_expanded_gives_number_and_uuid_objects(accounts: RunningService) -> None:
    group_id = create(accounts, full_body())
    plain = listed(accounts, expand="false")
    assert plain == listed(accounts)
    [entry] = listed(accounts, expand="true")
    assert set(entry) == ALL_KEYS
    for key in ("members", "admins"):
        for member in entry[key]:
            assert set(member) == {"number", "uuid"} and UUID.match(member["uuid"]), entry
    assert [m["number"] for m in entry["members"]] == [ALICE, BOB, CAROL]
    assert entry["admins"] == [m for m in entry["members"] if m["number"] == ALICE]
    assert entry == {
        **plain[0],
        "id": group_id,
        "members": entry["members"],
        "admins": entry["admins"],
    }


@pytest.mark.parametrize("value", ["yes", "1", "TRUE", ""], ids=["yes", "one", "upper", "empty"])
def test_list_groups_rejects_a_bad_expand_value(accounts: RunningService, value: str) -> None:
    response = accounts.client.get(f"/v1/groups/{ALICE}", params={"expand": value})
    assert (response.status_code, response.json()) == (
        400,
        {
            "error": "Couldn't process request - expand parameter needs to be either 'true' "
            "or 'false'"
        },
    )


@pytest.mark.parametrize("prefixed", [True, False], ids=["with-prefix", "without-prefix"])
def test_get_group_by_id_gives_the_listed_entry(accounts: RunningService, prefixed: bool) -> None:
    group_id = create(accounts, full_body())
    create(accounts, {"name": "Other"})
    [entry] = [g for g in listed(accounts) if g["id"] == group_id]
    path_id = group_id if prefixed else bare(group_id)
    response = accounts.client.get(f"/v1/groups/{ALICE}/{path_id}")
    assert (response.status_code, response.json()) == (200, entry)
    [expanded] = [g for g in listed(accounts, expand="true") if g["id"] == group_id]
    response = accounts.client.get(f"/v1/groups/{ALICE}/{path_id}", params={"expand": "true"})
    assert (response.status_code, response.json()) == (200, expanded)


def test_member_account_sees_the_group(accounts: RunningService) -> None:
    group_id = create(accounts, full_body())
    [alice_entry] = listed(accounts)
    [bob_entry] = listed(accounts, BOB)
    assert bob_entry == alice_entry
    response = accounts.client.get(f"/v1/groups/{BOB}/{group_id}")
    assert (response.status_code, response.json()) == (200, alice_entry)


def test_invited_account_sees_a_pending_invite(accounts: RunningService) -> None:
    # An outside user creates a group with Bob in it and Alice invited (no HTTP route does this).
    params = {"from": CAROL, "name": "Invite", "member": [BOB], "invite": [ALICE]}
    result = accounts.run(accounts.backend.rpc.call("sandbox.updateGroup", params))
    internal_id = result["groupId"]
    group_id = "group." + base64.b64encode(internal_id.encode()).decode()
    entry = {
        "name": "Invite",
        "description": "",
        "id": group_id,
        "internal_id": internal_id,
        "members": [CAROL, BOB],
        "blocked": False,
        "member": False,
        "pending_invites": [ALICE],
        "pending_requests": [],
        "invite_link": "",
        "admins": [CAROL],
        "permissions": {"add_members": EVERY, "edit_group": EVERY, "send_messages": EVERY},
    }
    assert listed(accounts) == [entry]
    [expanded] = listed(accounts, expand="true")
    assert [m["number"] for m in expanded["pending_invites"]] == [ALICE]
    assert [m["number"] for m in expanded["admins"]] == [CAROL]

    # Deleting declines the invitation and forgets the group.
    response = accounts.client.delete(f"/v1/groups/{ALICE}/{group_id}")
    assert (response.status_code, response.content) == (200, b"")
    assert listed(accounts) == []
    assert listed(accounts, BOB) == [{**entry, "member": True, "pending_invites": []}]


@INVALID_PERMISSIONS
def test_create_group_rejects_invalid_permissions_and_link(
    accounts: RunningService, body: dict[str, Any], error: str
) -> None:
    response = accounts.client.post(f"/v1/groups/{ALICE}", json={"name": "x", **body})
    assert (response.status_code, response.json()) == (400, {"error": error})
    assert listed(accounts) == []


P = "Couldn't process request - "


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            b"{not json",
            P
            + "invalid JSON at line 1, column 2: Expecting property name enclosed in double quotes",
        ),
        (b"", P + "the body is empty: this route needs a JSON object"),
        (b"[]", P + "the body must be a JSON object, got a list"),
        (b'{"name": 5}', P + "name must be a string, got 5"),
        (
            b'{"members": "+4915100000002"}',
            P + 'members must be a list of strings, got the string "+4915100000002"',
        ),
        (b'{"members": [5]}', P + "members[0] must be a string, got 5"),
        (
            b'{"permissions": "only-admins"}',
            P + 'permissions must be an object, got the string "only-admins"',
        ),
        (
            b'{"permissions": {"add_members": 1}}',
            P + "permissions.add_members must be a string, got 1",
        ),
        (
            b'{"expiration_time": "3600"}',
            P + 'expiration_time must be a 64-bit integer, got the string "3600"',
        ),
        (b'{"expiration_time": 1.5}', P + "expiration_time must be a 64-bit integer, got 1.5"),
        (
            b'{"expiration_time": 9223372036854775808}',
            P + "expiration_time must be a 64-bit integer, got 9223372036854775808",
        ),
        (b'{"group_link": true}', P + "group_link must be a string, got true"),
    ],
    ids=[
        "malformed",
        "empty",
        "array",
        "number-for-name",
        "string-for-members",
        "number-in-members",
        "string-for-permissions",
        "number-for-permission",
        "string-for-expiration",
        "float-for-expiration",
        "expiration-over-int64",
        "bool-for-link",
    ],
)
def test_create_group_rejects_wrong_types_with_a_json_400(
    accounts: RunningService, body: bytes, error: str
) -> None:
    response = accounts.client.post(f"/v1/groups/{ALICE}", content=body)
    assert (response.status_code, response.json()) == (400, {"error": error})
    assert response.headers["content-type"] == "application/json"
    assert listed(accounts) == []


def test_create_group_with_unregistered_member_is_a_json_400(accounts: RunningService) -> None:
    response = accounts.client.put(f"/v1/sandbox/numbers/{UNKNOWN}", json={"registered": False})
    assert response.status_code == 200, response.text
    response = accounts.client.post(f"/v1/groups/{ALICE}", json={"members": [BOB, UNKNOWN]})
    assert (response.status_code, response.json()) == (
        400,
        {"error": f"The user {UNKNOWN} is not registered."},
    )
    assert listed(accounts) == []
    assert listed(accounts, BOB) == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", f"/v1/groups/{UNKNOWN}", {"name": "x"}),
        ("GET", f"/v1/groups/{UNKNOWN}", None),
        ("GET", f"/v1/groups/{UNKNOWN}/group.YWJjPQ==", None),
        ("DELETE", f"/v1/groups/{UNKNOWN}/group.YWJjPQ==", None),
    ],
    ids=["create", "list", "get", "delete"],
)
def test_group_routes_reject_an_unknown_account(
    accounts: RunningService, method: str, path: str, body: Any
) -> None:
    response = accounts.client.request(method, path, json=body)
    assert (response.status_code, response.json()) == not_an_account(UNKNOWN)


@pytest.mark.parametrize("prefixed", [True, False], ids=["with-prefix", "without-prefix"])
def test_delete_group_leaves_and_forgets_it(accounts: RunningService, prefixed: bool) -> None:
    group_id = create(accounts, {"name": "Gone", "members": [BOB]})
    kept = create(accounts, {"name": "Kept", "members": [BOB]})
    path_id = group_id if prefixed else bare(group_id)

    response = accounts.client.delete(f"/v1/groups/{BOB}/{path_id}")
    assert (response.status_code, response.content) == (200, b"")

    assert [g["id"] for g in listed(accounts, BOB)] == [kept]
    response = accounts.client.get(f"/v1/groups/{BOB}/{path_id}")
    assert (response.status_code, response.json()) == (
        404,
        {"error": "No group with that id found"},
    )
    # Bob has left: Alice's group lost him.
    [alice_entry, _] = listed(accounts)
    assert (alice_entry["id"], alice_entry["members"], alice_entry["admins"]) == (
        group_id,
        [ALICE],
        [ALICE],
    )

    # Now Alice is alone in it and can delete it too.
    response = accounts.client.delete(f"/v1/groups/{ALICE}/{path_id}")
    assert (response.status_code, response.content) == (200, b"")
    assert [g["id"] for g in listed(accounts)] == [kept]


def test_delete_group_as_only_admin_with_members_says_how_to_leave(
    accounts: RunningService,
) -> None:
    # signal-cli will not leave a group without an admin; its `--admin` means nothing over REST.
    group_id = create(accounts, {"name": "Team", "members": [BOB, CAROL]})
    internal_id = base64.b64decode(bare(group_id)).decode()
    refused = {
        "error": "You are the only admin of this group: name a member as new admin with "
        f"?new_admin=<number> to leave it (members: {BOB}, {CAROL}) (signal-cli: You need to "
        f"specify a new admin with --admin: User is last admin in group: Team ({internal_id}))"
    }
    response = accounts.client.delete(f"/v1/groups/{ALICE}/{group_id}")
    assert (response.status_code, response.json()) == (400, refused)
    # Someone who is not a member cannot take over either.
    response = accounts.client.delete(
        f"/v1/groups/{ALICE}/{group_id}", params={"new_admin": "+4915100000009"}
    )
    assert (response.status_code, response.json()) == (400, refused)
    assert [g["id"] for g in listed(accounts)] == [group_id]


@pytest.mark.parametrize("encoded", [True, False], ids=["plus-encoded", "plus-as-space"])
def test_delete_group_with_new_admin_hands_over_and_leaves(
    accounts: RunningService, encoded: bool
) -> None:
    group_id = create(accounts, {"name": "Team", "members": [BOB, CAROL]})
    query = "%2B4915100000002" if encoded else "+4915100000002"
    response = accounts.client.delete(f"/v1/groups/{ALICE}/{group_id}?new_admin={query}")
    assert (response.status_code, response.content) == (200, b"")
    assert listed(accounts) == []
    [entry] = listed(accounts, BOB)
    assert (entry["id"], entry["members"], entry["admins"]) == (group_id, [BOB, CAROL], [BOB])


def test_delete_group_refuses_an_empty_new_admin(accounts: RunningService) -> None:
    group_id = create(accounts, {"name": "Team", "members": [BOB]})
    response = accounts.client.delete(f"/v1/groups/{ALICE}/{group_id}?new_admin=")
    assert (response.status_code, response.json()) == (
        400,
        {"error": "Couldn't process request - new_admin must be a member's number"},
    )
    assert [g["id"] for g in listed(accounts)] == [group_id]


def test_delete_unknown_or_deleted_group_is_404_like_get(accounts: RunningService) -> None:
    group_id = create(accounts, {"name": "Once"})
    assert accounts.client.delete(f"/v1/groups/{ALICE}/{group_id}").status_code == 200
    nobodys = "group." + base64.b64encode(base64.b64encode(bytes(32))).decode()
    for gone in (group_id, bare(group_id), nobodys):
        response = accounts.client.delete(f"/v1/groups/{ALICE}/{gone}")
        assert (response.status_code, response.json()) == (
            404,
            {"error": "No group with that id found"},
        )


def test_quit_as_only_admin_names_a_new_admin_and_the_group_stays_listed(
    accounts: RunningService,
) -> None:
    group_id = create(accounts, {"name": "Team", "members": [BOB]})
    internal_id = base64.b64decode(bare(group_id)).decode()
    response = accounts.client.post(f"/v1/groups/{ALICE}/{group_id}/quit")
    assert (response.status_code, response.json()) == (
        400,
        {
            "error": "You are the only admin of this group: name a member as new admin with "
            f"?new_admin=<number> to leave it (members: {BOB}) (signal-cli: You need to "
            f"specify a new admin with --admin: User is last admin in group: Team ({internal_id}))"
        },
    )
    response = accounts.client.post(
        f"/v1/groups/{ALICE}/{group_id}/quit", params={"new_admin": BOB}
    )
    assert (response.status_code, response.content) == (204, b"")
    [mine] = listed(accounts)
    assert (mine["id"], mine["member"]) == (group_id, False)
    [bobs] = listed(accounts, BOB)
    assert (bobs["members"], bobs["admins"]) == ([BOB], [BOB])


def test_quit_unknown_group_is_404_like_get(accounts: RunningService) -> None:
    nobodys = "group." + base64.b64encode(base64.b64encode(bytes(32))).decode()
    response = accounts.client.post(f"/v1/groups/{ALICE}/{nobodys}/quit")
    assert (response.status_code, response.json()) == (
        404,
        {"error": "No group with that id found"},
    )


@pytest.mark.parametrize(
    ("method", "group_id", "status", "error"),
    [
        ("GET", "group.!!", 400, "Invalid group id"),
        ("DELETE", "group.!!", 400, "Invalid group id"),
        ("GET", "group.YWJjPQ==", 404, "No group with that id found"),
    ],
    ids=["get-not-base64", "delete-not-base64", "get-unknown"],
)
def test_group_routes_reject_invalid_and_unknown_ids(
    accounts: RunningService, method: str, group_id: str, status: int, error: str
) -> None:
    response = accounts.client.request(method, f"/v1/groups/{ALICE}/{group_id}")
    assert (response.status_code, response.json()) == (status, {"error": error})


def test_create_group_reads_a_lone_surrogate_as_replacement_character(
    accounts: RunningService,
) -> None:
    response = accounts.client.post(f"/v1/groups/{ALICE}", content=b'{"name": "\\ud800"}')
    assert response.status_code == 201, response.text
    [group] = accounts.client.get(f"/v1/groups/{ALICE}").json()
    assert group["name"] == "\ufffd"
