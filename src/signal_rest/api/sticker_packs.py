"""`/v1/sticker-packs/{number}`: the sticker packs an account knows, and installing one.

    GET  /v1/sticker-packs/+4915100000001                              → 200 [{"pack_id", …}]
    POST /v1/sticker-packs/+4915100000001  {"pack_id": …, "pack_key": …} → 201, empty

Unlike the Go project, which passes whatever it gets into the signal.art link, both fields must
be present and hexadecimal (as they appear in the link); otherwise 400 says which is wrong.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

from signal_rest.api.body import RequestModel, body_doc, parse_json_body, read_body
from signal_rest.api.deps import BackendDep, account
from signal_rest.api.schemas import BODY, DAEMON, empty, errors, ok
from signal_rest.errors import ValidationError
from signal_rest.services.stickers import install_pack, list_packs

__all__ = ["router"]

router = APIRouter(tags=["Sticker Packs"])

_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")


class AddStickerPack(RequestModel):
    pack_id: str = ""
    pack_key: str = ""


@with_config(ConfigDict(extra="forbid"))
class StickerPack(TypedDict):
    """A pack of signal-cli's listStickerPacks, in the Go project's field names."""

    pack_id: str | None
    url: str | None
    installed: bool | None
    title: str | None
    author: str | None


def _hex_field(name: str, value: str) -> str:
    if not value:
        raise ValidationError(f"Couldn't process request - {name} missing")
    if not _HEX.fullmatch(value):
        raise ValidationError(
            f"Couldn't process request - {name} must be hexadecimal, as in the signal.art link"
        )
    return value


@router.get(
    "/v1/sticker-packs/{number}",
    summary="List Installed Sticker Packs",
    response_model=None,
    responses=ok(list[StickerPack]) | errors(*DAEMON),
)
async def list_sticker_packs(number: str, backend: BackendDep) -> list[dict[str, Any]]:
    return await list_packs(backend, account(number))


@router.post(
    "/v1/sticker-packs/{number}",
    summary="Add Sticker Pack",
    status_code=201,
    response_class=Response,
    responses=empty(201, "Installed") | errors(*BODY, *DAEMON),
    openapi_extra=body_doc(AddStickerPack),
)
async def add_sticker_pack(number: str, request: Request, backend: BackendDep) -> Response:
    body = parse_json_body(AddStickerPack, await read_body(request))
    pack_id = _hex_field("pack_id", body.pack_id)
    pack_key = _hex_field("pack_key", body.pack_key)
    await install_pack(backend, account(number), pack_id, pack_key)
    return Response(status_code=201)
