"""getAvatar: group avatars set with updateGroup, and signal-cli's errors."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from .client import LineClient
from .conftest import make_account

ALICE = "+14155550100"  # local
BOB = "+14155550101"  # local, not in the group
CAROL = "+14155550102"  # outside user

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def not_found() -> dict[str, object]:
    return {"code": -1, "message": "Could not find avatar", "data": None}


async def test_get_avatar_returns_the_group_avatar_base64(rpc: LineClient, tmp_path: Path) -> None:
    await make_account(rpc, ALICE)
    avatar = tmp_path / "avatar.png"
    avatar.write_bytes(PNG)
    gid = (await rpc.call("updateGroup", {"account": ALICE, "name": "G", "avatar": str(avatar)}))[
        "groupId"
    ]
    for key in ("groupId", "group-id"):
        answer = await rpc.call("getAvatar", {"account": ALICE, key: gid})
        assert answer == {"data": base64.b64encode(PNG).decode()}


async def test_get_avatar_of_a_group_without_one_is_not_found(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    await make_account(rpc, BOB)
    gid = (await rpc.call("updateGroup", {"account": ALICE, "name": "G"}))["groupId"]
    assert await rpc.error("getAvatar", {"account": ALICE, "groupId": gid}) == not_found()
    unknown = base64.b64encode(bytes(32)).decode()
    assert await rpc.error("getAvatar", {"account": ALICE, "groupId": unknown}) == not_found()
    # A group the account does not know: signal-cli has no avatar file for it.
    assert await rpc.error("getAvatar", {"account": BOB, "groupId": gid}) == not_found()


@pytest.mark.parametrize(
    ("params", "error"),
    [
        pytest.param(
            {"groupId": "not base64!"},
            {
                "code": -1,
                "message": 'Invalid group id: Failed to decode groupId (must be base64) "not '
                'base64!": Illegal base64 character 20',
                "data": None,
            },
            id="bad-group-id",
        ),
        pytest.param({"profile": CAROL}, not_found(), id="profile-without-avatar"),
        pytest.param({"contact": CAROL}, not_found(), id="contact-without-avatar"),
        pytest.param(
            {"profile": "12345"},
            {
                "code": -1,
                "message": "Invalid phone number '12345': The string supplied did not seem to be "
                "a phone number.",
                "data": None,
            },
            id="invalid-number",
        ),
        pytest.param(
            {},
            {
                "code": -32603,
                "message": 'Cannot invoke "org.asamk.signal.manager.api.GroupId.toBase64()" '
                'because "groupId" is null (NullPointerException)',
                "data": None,
            },
            id="nothing-named",
        ),
    ],
)
async def test_get_avatar_errors_like_signal_cli(
    rpc: LineClient, params: dict[str, object], error: dict[str, object]
) -> None:
    await make_account(rpc, ALICE)
    assert await rpc.error("getAvatar", {"account": ALICE, **params}) == error
