from __future__ import annotations

import base64
from typing import Any

import pytest

from .client import LineClient
from .conftest import make_account

ALICE = "+14155550100"  # local
CAROL = "+14155550102"  # outside user

WEBP = b"RIFF\x0c\x00\x00\x00WEBPVP8 sticker-one"
PNG = b"\x89PNG\r\n\x1a\nsticker-two"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def create_pack(rpc: LineClient, creator: str = CAROL) -> dict[str, Any]:
    return dict(
        await rpc.call(
            "sandbox.createStickerPack",
            {
                "from": creator,
                "title": "Cats",
                "author": "Carol",
                "stickers": [{"emoji": "🐱", "data": b64(WEBP)}, {"emoji": "😺", "data": b64(PNG)}],
            },
        )
    )


def listed(pack: dict[str, Any], *, installed: bool) -> dict[str, Any]:
    first = {"id": 0, "emoji": "🐱", "contentType": "image/webp"}
    return {
        "packId": pack["packId"],
        "url": pack["url"],
        "installed": installed,
        "title": "Cats",
        "author": "Carol",
        "cover": first,
        "stickers": [first, {"id": 1, "emoji": "😺", "contentType": "image/png"}],
    }


async def test_create_sticker_pack_answers_id_key_and_link(rpc: LineClient) -> None:
    pack = await create_pack(rpc)
    assert len(pack["packId"]) == 32 and len(pack["packKey"]) == 64
    assert pack == {
        "packId": pack["packId"],
        "packKey": pack["packKey"],
        "url": f"https://signal.art/addstickers/#pack_id={pack['packId']}"
        f"&pack_key={pack['packKey']}",
    }


async def test_add_sticker_pack_installs_it_for_list_and_get(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    assert await rpc.call("listStickerPacks", {"account": ALICE}) == []
    pack = await create_pack(rpc)
    assert await rpc.call("addStickerPack", {"account": ALICE, "uri": pack["url"]}) == {}
    assert await rpc.call("listStickerPacks", {"account": ALICE}) == [listed(pack, installed=True)]
    sticker = {"account": ALICE, "packId": pack["packId"], "stickerId": 1}
    assert await rpc.call("getSticker", sticker) == {"data": b64(PNG)}
    # signal-cli reads pack ids with Character.digit: upper case names the same pack.
    upper = {**sticker, "packId": pack["packId"].upper(), "stickerId": 0}
    assert await rpc.call("getSticker", upper) == {"data": b64(WEBP)}


async def test_sending_a_sticker_needs_a_known_pack(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    pack = await create_pack(rpc)
    params = {"account": ALICE, "recipient": CAROL, "sticker": f"{pack['packId']}:1"}
    assert await rpc.error("send", params) == {
        "code": -1,
        "message": "Failed to send sticker: Sticker pack not found",
        "data": None,
    }
    await rpc.call("addStickerPack", {"account": ALICE, "uri": [pack["url"]]})
    assert await rpc.error("send", {**params, "sticker": f"{pack['packId']}:2"}) == {
        "code": -1,
        "message": "Failed to send sticker: Sticker id not part of this pack",
        "data": None,
    }
    ts = (await rpc.call("send", params))["timestamp"]
    received = (await rpc.call("sandbox.listReceived", {"number": CAROL}))[0]["envelope"]
    assert received["dataMessage"] == {
        "timestamp": ts,
        "message": None,
        "expiresInSeconds": 0,
        "isExpirationUpdate": False,
        "viewOnce": False,
        "sticker": {"packId": pack["packId"], "stickerId": 1},
    }


async def test_a_received_sticker_makes_its_pack_known_not_installed(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    pack = await create_pack(rpc)
    sent = await rpc.call(
        "sandbox.send", {"from": CAROL, "recipient": ALICE, "sticker": f"{pack['packId']}:0"}
    )
    [message] = await rpc.call("receive", {"account": ALICE, "timeout": 0.05})
    assert message["envelope"]["dataMessage"]["sticker"] == {
        "packId": pack["packId"],
        "stickerId": 0,
    }
    assert message["envelope"]["timestamp"] == sent["timestamp"]
    assert await rpc.call("listStickerPacks", {"account": ALICE}) == [listed(pack, installed=False)]
    # Known is enough to send from it again, as in signal-cli.
    reply = {"account": ALICE, "recipient": CAROL, "sticker": f"{pack['packId']}:1"}
    assert (await rpc.call("send", reply))["results"][0]["type"] == "SUCCESS"


@pytest.mark.parametrize(
    ("uri", "code", "message"),
    [
        ("https://signal.art/addstickers/", -1, "Invalid sticker pack link"),
        ("https://signal.art/addstickers/#pack_id=00ab", -1, "Invalid sticker pack link"),
        ("https://signal.art/addstickers/#pack_id=0&pack_key=00", -1, "Invalid sticker pack link"),
        (
            "https://signal.art/add stickers/#pack_id=00&pack_key=00",
            -1,
            "Sticker pack uri has invalid format: Illegal character in path at index 22: "
            "https://signal.art/add stickers/#pack_id=00&pack_key=00",
        ),
        (
            "https://signal.art/addstickers/#pack_id=00&pack_key=0#0",
            -1,
            "Sticker pack uri has invalid format: Illegal character in fragment at index 53: "
            "https://signal.art/addstickers/#pack_id=00&pack_key=0#0",
        ),
        (
            "https://signal.art/addstickers/#pack_id=00ab&pack_key=00ab",
            -3,
            "Install sticker pack failed",
        ),
    ],
    ids=["no_fragment", "no_key", "odd_id", "space_in_path", "hash_in_fragment", "unknown_pack"],
)
async def test_add_sticker_pack_refuses_bad_links(
    rpc: LineClient, uri: str, code: int, message: str
) -> None:
    await make_account(rpc, ALICE)
    assert await rpc.error("addStickerPack", {"account": ALICE, "uri": uri}) == {
        "code": code,
        "message": message,
        "data": None,
    }
    assert await rpc.call("listStickerPacks", {"account": ALICE}) == []


async def test_add_sticker_pack_with_a_wrong_key_fails_like_an_unknown_pack(
    rpc: LineClient,
) -> None:
    await make_account(rpc, ALICE)
    pack = await create_pack(rpc)
    uri = pack["url"].replace(pack["packKey"], "00" * 32)
    assert await rpc.error("addStickerPack", {"account": ALICE, "uri": uri}) == {
        "code": -3,
        "message": "Install sticker pack failed",
        "data": None,
    }


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        (
            {"stickerId": 0},
            -32603,
            'Cannot invoke "String.length()" because "s" is null (NullPointerException)',
        ),
        (
            {"packId": "abc", "stickerId": 0},
            -32603,
            "Index 3 out of bounds for length 3 (StringIndexOutOfBoundsException)",
        ),
        (
            {"packId": "00ab"},
            -32603,
            'Cannot invoke "java.lang.Integer.intValue()" because "stickerId" is null '
            "(NullPointerException)",
        ),
        (
            {"packId": "00ab", "stickerId": 4},
            -1,
            "Could not find sticker with ID: 4 in pack StickerPackId{00ab}",
        ),
        (
            {"packId": "zz", "stickerId": 4},
            -1,
            "Could not find sticker with ID: 4 in pack StickerPackId{ef}",
        ),
    ],
    ids=["no_pack_id", "odd_pack_id", "no_sticker_id", "unknown_pack", "non_hex_pack_id"],
)
async def test_get_sticker_errors(
    rpc: LineClient, params: dict[str, Any], code: int, message: str
) -> None:
    await make_account(rpc, ALICE)
    assert await rpc.error("getSticker", {"account": ALICE, **params}) == {
        "code": code,
        "message": message,
        "data": None,
    }


@pytest.mark.parametrize(
    ("sticker", "message"),
    [
        ("ABCD:1", "Invalid sticker syntax (ABCD:1) expected 'stickerPackId:stickerId'"),
        ("abc:1", "Invalid sticker syntax (abc:1) expected 'stickerPackId:stickerId'"),
        ("abcd:-1", "Invalid sticker syntax (abcd:-1) expected 'stickerPackId:stickerId'"),
    ],
    ids=["upper_case", "odd_length", "negative_id"],
)
async def test_send_refuses_malformed_sticker_refs(
    rpc: LineClient, sticker: str, message: str
) -> None:
    await make_account(rpc, ALICE)
    params = {"account": ALICE, "recipient": CAROL, "sticker": sticker}
    assert await rpc.error("send", params) == {"code": -1, "message": message, "data": None}


async def test_add_sticker_pack_without_uri_is_an_internal_error(rpc: LineClient) -> None:
    await make_account(rpc, ALICE)
    assert await rpc.error("addStickerPack", {"account": ALICE}) == {
        "code": -32603,
        "message": 'Cannot invoke "java.util.List.iterator()" because "uris" is null '
        "(NullPointerException)",
        "data": None,
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"title": "", "stickers": [{"data": "AA=="}]}, "title must be a non-empty string"),
        ({"title": "T", "stickers": []}, "stickers must be a list of 1 to 200 stickers"),
        ({"title": "T", "stickers": [{"data": "%%"}]}, "stickers[0].data is not valid base64"),
        (
            {"title": "T", "stickers": [{"data": b64(b"plain text")}]},
            "stickers[0].data must be a WebP, PNG or GIF image",
        ),
    ],
    ids=["no_title", "no_stickers", "bad_base64", "not_an_image"],
)
async def test_create_sticker_pack_validates(
    rpc: LineClient, params: dict[str, Any], message: str
) -> None:
    error = await rpc.error("sandbox.createStickerPack", {"from": CAROL, **params})
    assert error == {"code": -1, "message": message, "data": None}
