"""GET /v1/groups/{number}/{groupid}/avatar: the avatar set with PUT, byte-exact."""

from __future__ import annotations

import base64

import pytest

from tests.support.flows import ALICE, BOB
from tests.support.service import RunningService

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(300)
# Well-formed, but no group has it.
UNKNOWN_GROUP = "group.QUFFQ0F3UUZCZ2NJQ1FvTERBME9EeEFSRWhNVUZSWVhHQmthR3h3ZEhoOD0="
NO_AVATAR = {"error": "No avatar found."}


def new_group(service: RunningService) -> str:
    created = service.client.post(f"/v1/groups/{ALICE}", json={"name": "Club", "members": [BOB]})
    assert created.status_code == 201, created.text
    group_id: str = created.json()["id"]
    return group_id


def set_avatar(service: RunningService, group_id: str, image: bytes) -> None:
    body = {"base64_avatar": base64.b64encode(image).decode()}
    updated = service.client.put(f"/v1/groups/{ALICE}/{group_id}", json=body)
    assert updated.status_code == 204, updated.text


@pytest.mark.parametrize(("image", "mime"), [(PNG, "image/png"), (JPEG, "image/jpeg")])
def test_group_avatar_is_served_as_it_was_set(
    accounts: RunningService, image: bytes, mime: str
) -> None:
    group_id = new_group(accounts)
    set_avatar(accounts, group_id, image)
    bare = group_id.removeprefix("group.")
    for number, gid in [(ALICE, group_id), (ALICE, bare), (BOB, group_id)]:
        answer = accounts.client.get(f"/v1/groups/{number}/{gid}/avatar")
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == mime
        assert answer.headers["content-length"] == str(len(image))
        assert answer.content == image


def test_group_avatar_follows_a_new_avatar(accounts: RunningService) -> None:
    group_id = new_group(accounts)
    set_avatar(accounts, group_id, PNG)
    set_avatar(accounts, group_id, JPEG)
    assert accounts.client.get(f"/v1/groups/{ALICE}/{group_id}/avatar").content == JPEG


@pytest.mark.parametrize(
    ("group", "status", "body"),
    [
        pytest.param(None, 404, NO_AVATAR, id="group-without-avatar"),
        pytest.param(UNKNOWN_GROUP, 404, NO_AVATAR, id="unknown-group"),
        pytest.param("group.!!!", 400, {"error": "Invalid group id"}, id="invalid-id"),
    ],
)
def test_group_avatar_missing_or_invalid(
    accounts: RunningService, group: str | None, status: int, body: dict[str, str]
) -> None:
    group_id = group or new_group(accounts)
    answer = accounts.client.get(f"/v1/groups/{ALICE}/{group_id}/avatar")
    assert (answer.status_code, answer.json()) == (status, body)
