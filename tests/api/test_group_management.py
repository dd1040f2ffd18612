"""Updating, blocking, joining and quitting groups and changing their members and admins, end to
end over real HTTP on the sandbox; every change is checked through `GET /v1/groups/{n}/{id}`."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest

from tests.support.flows import ALICE, BOB, is_content, receive_until
from tests.support.service import RunningService
from tests.support.shapes import INVALID_PERMISSIONS, not_an_account

CAROL = "+4915100000003"  # an outside Signal user
DAVE = "+4915100000004"  # another outside user
UNKNOWN = "+4915199999999"
EVERY = "every-member"
ADMINS = "only-admins"
P = "Couldn't process request - "
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
# A well-formed REST id of a group nobody has.
NO_SUCH_GROUP = "group." + base64.b64encode(base64.b64encode(bytes(32))).decode()


def create(service: RunningService, body: dict[str, Any], number: str = ALICE) -> str:
    response = service.client.post(f"/v1/groups/{number}", json=body)
    assert response.status_code == 201, response.text
    group_id: str = response.json()["id"]
    return group_id


def get(service: RunningService, group_id: str, number: str = ALICE) -> dict[str, Any]:
    response = service.client.get(f"/v1/groups/{number}/{group_id}")
    assert response.status_code == 200, response.text
    entry: dict[str, Any] = response.json()
    return entry


def internal(group_id: str) -> str:
    return base64.b64decode(group_id.removeprefix("group.")).decode()


def bare(group_id: str) -> str:
    return group_id.removeprefix("group.")


def path_id(group_id: str, prefixed: bool) -> str:
    return group_id if prefixed else bare(group_id)


def assert_no_content(response: Any) -> None:
    assert (response.status_code, response.content) == (204, b""), response.text


def entry_for(group_id: str, **changes: Any) -> dict[str, Any]:
    """The entry of a group Alice created with Bob in it, plus `changes`."""
    return {
        "name": "Team",
        "description": "",
        "id": group_id,
        "internal_id": internal(group_id),
        "members": [ALICE, BOB],
        "blocked": False,
        "member": True,
        "pending_invites": [],
        "pending_requests": [],
        "invite_link": "",
        "admins": [ALICE],
        "permissions": {"add_members": EVERY, "edit_group": EVERY, "send_messages": EVERY},
        **changes,
    }


def team(service: RunningService) -> str:
    return create(service, {"name": "Team", "members": [BOB]})


def group_updates(
    service: RunningService, number: str, group_id: str, count: int, *, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """Poll /v1/receive until `count` group updates of `group_id` have arrived."""
    updates: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = service.client.get(f"/v1/receive/{number}", params={"timeout": "1"})
        assert response.status_code == 200, response.text
        for message in response.json():
            data = message["envelope"].get("dataMessage") or {}
            info = data.get("groupInfo") or {}
            if info.get("type") == "UPDATE" and info.get("groupId") == internal(group_id):
                updates.append(data)
        if len(updates) >= count:
            return updates
    raise AssertionError(f"only {len(updates)} of {count} group updates arrived: {updates}")


# PUT /v1/groups/{number}/{groupid}


@pytest.mark.parametrize("prefixed", [True, False], ids=["with-prefix", "without-prefix"])
def test_update_group_changes_details_permissions_and_link(
    accounts: RunningService, prefixed: bool
) -> None:
    group_id = team(accounts)
    body = {
        "name": "Renamed",
        "description": "About us",
        "group_link": "enabled-with-approval",
        "permissions": {"add_members": ADMINS, "edit_group": ADMINS, "send_messages": EVERY},
    }
    response = accounts.client.put(f"/v1/groups/{ALICE}/{path_id(group_id, prefixed)}", json=body)
    assert_no_content(response)

    entry = get(accounts, group_id)
    assert entry["invite_link"].startswith("https://signal.group/#"), entry
    assert entry == entry_for(
        group_id,
        name="Renamed",
        description="About us",
        invite_link=entry["invite_link"],
        permissions={"add_members": ADMINS, "edit_group": ADMINS, "send_messages": EVERY},
    )
    assert get(accounts, group_id, BOB) == entry


def test_update_group_sends_empty_name_and_description_when_given(
    accounts: RunningService,
) -> None:
    group_id = create(accounts, {"name": "Team", "members": [BOB], "description": "Old"})
    response = accounts.client.put(
        f"/v1/groups/{ALICE}/{group_id}", json={"name": "", "description": ""}
    )
    assert_no_content(response)
    assert get(accounts, group_id) == entry_for(group_id, name="", description="")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {
            "name": None,
            "description": None,
            "base64_avatar": None,
            "expiration_time": None,
            "group_link": None,
            "permissions": None,
        },
        {"groupid": "ignored", "permissions": {}},
    ],
    ids=["empty-object", "nulls", "stray-groupid"],
)
def test_update_group_leaves_absent_fields_alone(
    accounts: RunningService, body: dict[str, Any]
) -> None:
    group_id = create(accounts, {"name": "Team", "members": [BOB], "description": "Kept"})
    assert_no_content(accounts.client.put(f"/v1/groups/{ALICE}/{group_id}", json=body))
    assert get(accounts, group_id) == entry_for(group_id, description="Kept")


def test_update_group_expiration_reaches_members_and_zero_turns_it_off(
    accounts: RunningService,
) -> None:
    group_id = team(accounts)
    for body in ({"expiration_time": 3600}, {"name": "Still timed"}, {"expiration_time": 0}):
        assert_no_content(accounts.client.put(f"/v1/groups/{ALICE}/{group_id}", json=body))

    # Bob sees the creation and the three updates; the Go project would drop the explicit 0, so
    # the timer could never be turned off.
    updates = group_updates(accounts, BOB, group_id, 4)
    assert [
        (u["expiresInSeconds"], u["groupInfo"]["groupName"], u["groupInfo"]["revision"])
        for u in updates
    ] == [(0, "Team", 0), (3600, "Team", 1), (3600, "Still timed", 2), (0, "Still timed", 3)]
    assert get(accounts, group_id) == entry_for(group_id, name="Still timed")


def test_update_group_stores_the_avatar_and_removes_the_temp_file(
    accounts: RunningService,
) -> None:
    group_id = team(accounts)
    body = {"base64_avatar": base64.b64encode(PNG).decode()}
    assert_no_content(accounts.client.put(f"/v1/groups/{ALICE}/{bare(group_id)}", json=body))

    sandbox = accounts.backend.sandbox
    assert sandbox is not None

    async def stored() -> Any:
        return sandbox.network.store.group(internal(group_id))

    assert base64.b64decode(accounts.run(stored())["avatar"]) == PNG
    assert list(accounts.backend.tmp_dir.iterdir()) == []
    assert get(accounts, group_id) == entry_for(group_id)


@pytest.mark.parametrize(
    ("avatar", "detail"),
    [
        ("!!!!", "illegal base64 data at input byte 0 (unexpected character '!')"),
        (
            "iVBORw0",
            "illegal base64 data at input byte 4 (the input is not padded to a multiple of 4)",
        ),
        (
            "data:image/png;base64,iVBORw0KGgo=",
            "illegal base64 data at input byte 4 (unexpected character ':')",
        ),
    ],
    ids=["bad-character", "unpadded", "data-uri"],
)
def test_update_group_rejects_an_undecodable_avatar(
    accounts: RunningService, avatar: str, detail: str
) -> None:
    group_id = team(accounts)
    response = accounts.client.put(
        f"/v1/groups/{ALICE}/{group_id}", json={"name": "Changed", "base64_avatar": avatar}
    )
    assert (response.status_code, response.json()) == (
        400,
        {"error": f"Couldn't decode base64 encoded avatar: {detail}"},
    )
    assert get(accounts, group_id) == entry_for(group_id)
    assert list(accounts.backend.tmp_dir.iterdir()) == []


@INVALID_PERMISSIONS
def test_update_group_rejects_invalid_permissions_and_link(
    accounts: RunningService, body: dict[str, Any], error: str
) -> None:
    group_id = team(accounts)
    response = accounts.client.put(f"/v1/groups/{ALICE}/{group_id}", json={"name": "x", **body})
    assert (response.status_code, response.json()) == (400, {"error": error})
    assert get(accounts, group_id) == entry_for(group_id)


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
        (b'{"description": ["x"]}', P + "description must be a string, got a list"),
        (b'{"base64_avatar": 5}', P + "base64_avatar must be a string, got 5"),
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
        (
            b'{"permissions": "only-admins"}',
            P + 'permissions must be an object, got the string "only-admins"',
        ),
        (
            b'{"permissions": {"edit_group": 1}}',
            P + "permissions.edit_group must be a string, got 1",
        ),
    ],
    ids=[
        "malformed",
        "empty",
        "array",
        "number-for-name",
        "list-for-description",
        "number-for-avatar",
        "string-for-expiration",
        "float-for-expiration",
        "expiration-over-int64",
        "bool-for-link",
        "string-for-permissions",
        "number-for-permission",
    ],
)
def test_update_group_rejects_wrong_types_with_a_json_400(
    accounts: RunningService, body: bytes, error: str
) -> None:
    group_id = team(accounts)
    response = accounts.client.put(f"/v1/groups/{ALICE}/{group_id}", content=body)
    assert (response.status_code, response.json()) == (400, {"error": error})
    assert response.headers["content-type"] == "application/json"
    assert get(accounts, group_id) == entry_for(group_id)


def test_update_group_of_an_unknown_group_is_a_json_400(accounts: RunningService) -> None:
    # The Go project does not look the group up first; signal-cli's answer is passed on.
    response = accounts.client.put(f"/v1/groups/{ALICE}/{NO_SUCH_GROUP}", json={"name": "x"})
    assert (response.status_code, response.json()) == (
        400,
        {"error": f"Group not found: {internal(NO_SUCH_GROUP)}"},
    )


# POST …/block, …/join, …/quit


@pytest.mark.parametrize("prefixed", [True, False], ids=["with-prefix", "without-prefix"])
def test_block_group_marks_it_blocked_and_drops_its_messages(
    accounts: RunningService, prefixed: bool
) -> None:
    group_id = team(accounts)
    assert_no_content(accounts.client.post(f"/v1/groups/{BOB}/{path_id(group_id, prefixed)}/block"))

    assert get(accounts, group_id, BOB) == entry_for(group_id, blocked=True)
    assert get(accounts, group_id) == entry_for(group_id)  # only Bob blocked it
    response = accounts.client.post(
        "/v2/send", json={"number": ALICE, "recipients": [group_id], "message": "hello?"}
    )
    assert response.status_code == 201, response.text
    response = accounts.client.get(f"/v1/receive/{BOB}", params={"timeout": "1"})
    assert response.status_code == 200, response.text
    # The group's creation arrived before the block; the message after it does not.
    assert [m for m in response.json() if is_content(m)] == []


def test_block_unknown_group_is_accepted_like_signal_cli(accounts: RunningService) -> None:
    # signal-cli only logs unknown group ids.
    assert_no_content(accounts.client.post(f"/v1/groups/{ALICE}/{NO_SUCH_GROUP}/block"))
    assert accounts.client.get(f"/v1/groups/{ALICE}").json() == []


def invite_alice(service: RunningService) -> str:
    # An outside user creates a group with Bob in it and Alice invited (no HTTP route does this).
    params = {"from": CAROL, "name": "Team", "member": [BOB], "invite": [ALICE]}
    result = service.run(service.backend.rpc.call("sandbox.updateGroup", params))
    return "group." + base64.b64encode(result["groupId"].encode()).decode()


@pytest.mark.parametrize("prefixed", [True, False], ids=["with-prefix", "without-prefix"])
def test_join_group_accepts_a_pending_invite(accounts: RunningService, prefixed: bool) -> None:
    group_id = invite_alice(accounts)
    invited = entry_for(
        group_id, members=[CAROL, BOB], admins=[CAROL], member=False, pending_invites=[ALICE]
    )
    assert get(accounts, group_id) == invited

    assert_no_content(
        accounts.client.post(f"/v1/groups/{ALICE}/{path_id(group_id, prefixed)}/join")
    )

    joined = {**invited, "members": [CAROL, BOB, ALICE], "member": True, "pending_invites": []}
    assert get(accounts, group_id) == joined
    assert get(accounts, group_id, BOB) == joined
    # Joining again changes nothing and is still fine.
    assert_no_content(accounts.client.post(f"/v1/groups/{ALICE}/{group_id}/join"))
    assert get(accounts, group_id) == joined


def test_join_group_without_an_invite_is_a_json_400(accounts: RunningService) -> None:
    params = {"from": CAROL, "name": "Closed", "member": [BOB]}
    result = accounts.run(accounts.backend.rpc.call("sandbox.updateGroup", params))
    group_id = "group." + base64.b64encode(result["groupId"].encode()).decode()
    response = accounts.client.post(f"/v1/groups/{ALICE}/{group_id}/join")
    assert (response.status_code, response.json()) == (
        400,
        {"error": f"User is not a member in group: Closed ({result['groupId']})"},
    )
    assert accounts.client.get(f"/v1/groups/{ALICE}").json() == []


@pytest.mark.parametrize("prefixed", [True, False], ids=["with-prefix", "without-prefix"])
def test_quit_group_leaves_but_keeps_it_listed(accounts: RunningService, prefixed: bool) -> None:
    group_id = team(accounts)
    assert_no_content(accounts.client.post(f"/v1/groups/{BOB}/{path_id(group_id, prefixed)}/quit"))

    assert get(accounts, group_id, BOB) == entry_for(group_id, members=[ALICE], member=False)
    assert get(accounts, group_id) == entry_for(group_id, members=[ALICE])


# POST/DELETE …/members and …/admins


@pytest.mark.parametrize("prefixed", [True, False], ids=["with-prefix", "without-prefix"])
def test_add_and_remove_members(accounts: RunningService, prefixed: bool) -> None:
    group_id = team(accounts)
    url = f"/v1/groups/{ALICE}/{path_id(group_id, prefixed)}/members"

    assert_no_content(accounts.client.post(url, json={"members": [CAROL, DAVE]}))
    assert get(accounts, group_id) == entry_for(group_id, members=[ALICE, BOB, CAROL, DAVE])

    response = accounts.client.request("DELETE", url, json={"members": [BOB, DAVE]})
    assert_no_content(response)
    assert get(accounts, group_id) == entry_for(group_id, members=[ALICE, CAROL])
    # Bob is out: the group stays in his list, without him.
    assert get(accounts, group_id, BOB) == entry_for(group_id, members=[ALICE, CAROL], member=False)


@pytest.mark.parametrize("prefixed", [True, False], ids=["with-prefix", "without-prefix"])
def test_add_and_remove_admins(accounts: RunningService, prefixed: bool) -> None:
    group_id = team(accounts)
    url = f"/v1/groups/{ALICE}/{path_id(group_id, prefixed)}/admins"

    assert_no_content(accounts.client.post(url, json={"admins": [BOB]}))
    assert get(accounts, group_id) == entry_for(group_id, admins=[ALICE, BOB])
    assert get(accounts, group_id, BOB) == entry_for(group_id, admins=[ALICE, BOB])

    assert_no_content(accounts.client.request("DELETE", url, json={"admins": [ALICE]}))
    assert get(accounts, group_id) == entry_for(group_id, admins=[BOB])


def test_add_members_with_an_empty_list_is_refused(accounts: RunningService) -> None:
    group_id = team(accounts)
    bodies: list[dict[str, Any]] = [{"members": []}, {}, {"members": None}]
    for body in bodies:
        response = accounts.client.post(f"/v1/groups/{ALICE}/{group_id}/members", json=body)
        assert (response.status_code, response.json()) == (
            400,
            {"error": "Couldn't process request - group members missing"},
        )
    assert get(accounts, group_id) == entry_for(group_id)


@pytest.mark.parametrize(
    ("method", "segment", "body"),
    [
        ("DELETE", "members", {"members": []}),
        ("POST", "admins", {"admins": []}),
        ("DELETE", "admins", {}),
    ],
    ids=["remove-members", "add-admins", "remove-admins"],
)
def test_empty_member_and_admin_changes_are_a_no_op(
    accounts: RunningService, method: str, segment: str, body: dict[str, Any]
) -> None:
    group_id = team(accounts)
    url = f"/v1/groups/{ALICE}/{group_id}/{segment}"
    assert_no_content(accounts.client.request(method, url, json=body))
    assert get(accounts, group_id) == entry_for(group_id)


def test_members_given_as_usernames_go_to_signal_cli_with_u_prefix(
    accounts: RunningService,
) -> None:
    group_id = team(accounts)
    # signal-cli names an unknown username without its u: prefix.
    response = accounts.client.post(
        f"/v1/groups/{ALICE}/{group_id}/members", json={"members": ["carol.42"]}
    )
    assert (response.status_code, response.json()) == (
        400,
        {"error": "The user carol.42 is not registered."},
    )
    # Admins are passed on as given, never prefixed.
    response = accounts.client.post(
        f"/v1/groups/{ALICE}/{group_id}/admins", json={"admins": ["carol.42"]}
    )
    assert (response.status_code, response.json()) == (
        400,
        {
            "error": "Invalid phone number 'carol.42': The string supplied did not seem to be a "
            "phone number."
        },
    )
    assert get(accounts, group_id) == entry_for(group_id)


@pytest.mark.parametrize(
    ("method", "segment", "body"),
    [
        ("POST", "members", {"members": [CAROL]}),
        ("DELETE", "members", {"members": [BOB]}),
        ("POST", "admins", {"admins": [BOB]}),
        ("DELETE", "admins", {"admins": [ALICE]}),
    ],
    ids=["add-members", "remove-members", "add-admins", "remove-admins"],
)
def test_member_and_admin_changes_need_a_known_group(
    accounts: RunningService, method: str, segment: str, body: dict[str, Any]
) -> None:
    # A group Alice has left and forgotten is as unknown to her as one that never existed.
    gone = create(accounts, {"name": "Gone"})
    assert accounts.client.delete(f"/v1/groups/{ALICE}/{gone}").status_code == 200
    for group_id in (NO_SUCH_GROUP, gone, bare(gone)):
        url = f"/v1/groups/{ALICE}/{group_id}/{segment}"
        response = accounts.client.request(method, url, json=body)
        assert (response.status_code, response.json()) == (
            404,
            {"error": f"No group with that group id ({group_id}) found"},
        )


@pytest.mark.parametrize(
    ("segment", "body", "error"),
    [
        (
            "members",
            b"{not json",
            P
            + "invalid JSON at line 1, column 2: Expecting property name enclosed in double quotes",
        ),
        ("members", b"", P + "the body is empty: this route needs a JSON object"),
        (
            "members",
            b'{"members": "+4915100000003"}',
            P + 'members must be a list of strings, got the string "+4915100000003"',
        ),
        ("members", b'{"members": [5]}', P + "members[0] must be a string, got 5"),
        (
            "members",
            b'{"members": {"a": 1}}',
            P + "members must be a list of strings, got an object",
        ),
        ("admins", b"[]", P + "the body must be a JSON object, got a list"),
        (
            "admins",
            b'{"admins": "+4915100000002"}',
            P + 'admins must be a list of strings, got the string "+4915100000002"',
        ),
        ("admins", b'{"admins": [true]}', P + "admins[0] must be a string, got true"),
    ],
    ids=[
        "members-malformed",
        "members-empty-body",
        "members-string",
        "members-number-item",
        "members-object",
        "admins-array-body",
        "admins-string",
        "admins-bool-item",
    ],
)
@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_member_and_admin_changes_reject_wrong_types_with_a_json_400(
    accounts: RunningService, segment: str, body: bytes, error: str, method: str
) -> None:
    group_id = team(accounts)
    url = f"/v1/groups/{ALICE}/{group_id}/{segment}"
    response = accounts.client.request(method, url, content=body)
    assert (response.status_code, response.json()) == (400, {"error": error})
    assert response.headers["content-type"] == "application/json"
    assert get(accounts, group_id) == entry_for(group_id)


# every route


ROUTES = [
    ("PUT", "", {"name": "x"}),
    ("POST", "/block", None),
    ("POST", "/join", None),
    ("POST", "/quit", None),
    ("POST", "/members", {"members": [CAROL]}),
    ("DELETE", "/members", {"members": [CAROL]}),
    ("POST", "/admins", {"admins": [BOB]}),
    ("DELETE", "/admins", {"admins": [BOB]}),
]
ROUTE_IDS = [
    "update",
    "block",
    "join",
    "quit",
    "add-members",
    "remove-members",
    "add-admins",
    "remove-admins",
]


@pytest.mark.parametrize("group_id", ["group.!!", "!!", "group."], ids=["symbols", "bare", "empty"])
@pytest.mark.parametrize(("method", "suffix", "body"), ROUTES, ids=ROUTE_IDS)
def test_group_management_routes_reject_invalid_ids(
    accounts: RunningService, method: str, suffix: str, body: Any, group_id: str
) -> None:
    url = f"/v1/groups/{ALICE}/{group_id}{suffix}"
    response = accounts.client.request(method, url, json=body)
    assert (response.status_code, response.json()) == (400, {"error": "Invalid group id"})


@pytest.mark.parametrize(("method", "suffix", "body"), ROUTES, ids=ROUTE_IDS)
def test_group_management_routes_reject_an_unknown_account(
    accounts: RunningService, method: str, suffix: str, body: Any
) -> None:
    group_id = team(accounts)
    response = accounts.client.request(
        method, f"/v1/groups/{UNKNOWN}/{group_id}{suffix}", json=body
    )
    assert (response.status_code, response.json()) == not_an_account(UNKNOWN)
    assert get(accounts, group_id) == entry_for(group_id)


def test_group_messages_still_flow_after_member_changes(accounts: RunningService) -> None:
    # A member added over HTTP receives what the group sends from then on.
    group_id = create(accounts, {"name": "Team"})
    assert_no_content(
        accounts.client.post(f"/v1/groups/{ALICE}/{group_id}/members", json={"members": [BOB]})
    )
    response = accounts.client.post(
        "/v2/send", json={"number": ALICE, "recipients": [group_id], "message": "welcome"}
    )
    assert response.status_code == 201, response.text
    [message] = receive_until(accounts.client, BOB, 1)
    data = message["envelope"]["dataMessage"]
    assert (data["message"], data["groupInfo"]["groupId"]) == ("welcome", internal(group_id))
