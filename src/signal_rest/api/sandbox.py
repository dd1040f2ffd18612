"""`/v1/sandbox/*`: controls of the simulated Signal network, only when it is the backend.

They let a person or a test play the rest of the world: read the verification code "sent" to a
phone, send as an outside Signal user, see what outside users received, scan a device-link QR
code with an account's phone, and decide how the network treats a number.
"""

from __future__ import annotations

from typing import Annotated, Any, NotRequired

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

from signal_rest.api.body import (
    PREFIX,
    RequestModel,
    body_doc,
    empty_list,
    json_object,
    parse_json_body,
    read_body,
    type_error,
)
from signal_rest.api.deps import get_backend
from signal_rest.api.envelopes import ReceivedMessage
from signal_rest.api.responses import JSONResponse
from signal_rest.api.schemas import BODY, DAEMON, errors, ok
from signal_rest.api.send import (
    SEND_ERRORS,
    SendFailure,
    SendResult,
    SendV2,
    send_v2_body,
    v2_targets,
)
from signal_rest.auth.guard import require_account
from signal_rest.auth.scopes import any_number
from signal_rest.backend import Backend
from signal_rest.domain.recipients import number_from_path
from signal_rest.errors import NotFound, RpcError, ValidationError

router = APIRouter(prefix="/v1/sandbox", tags=["Sandbox"])


async def sandbox_backend(request: Request) -> Backend:
    backend = await get_backend(request)
    if not backend.is_sandbox:
        raise NotFound("The /v1/sandbox routes exist only when signal-rest runs with --sandbox")
    return backend


SandboxDep = Annotated[Backend, Depends(sandbox_backend)]


class SandboxSend(SendV2):
    sender: str = Field("", alias="from")


class Link(RequestModel):
    device_link_uri: str = ""
    number: str = ""


@with_config(ConfigDict(extra="forbid"))
class VerificationCode(TypedDict):
    number: str
    code: str
    transport: str


@with_config(ConfigDict(extra="forbid"))
class SandboxSent(SendResult):
    """The first send's entry, as in `/v2/send`; with several sends, all of them in `sends`."""

    sends: NotRequired[list[SendResult | SendFailure]]


@with_config(ConfigDict(extra="forbid"))
class SandboxSendFailed(SendFailure):
    """The first send failed while others succeeded; all of them are in `sends`."""

    sends: NotRequired[list[SendResult | SendFailure]]


@with_config(ConfigDict(extra="allow"))
class RecipientResult(TypedDict):
    recipientAddress: dict[str, str | None]
    type: str
    groupId: NotRequired[str]
    token: NotRequired[str]
    retryAfterSeconds: NotRequired[int]


@with_config(ConfigDict(extra="allow"))
class ActResult(TypedDict):
    """signal-cli's result of the method; for the send-like ones its SendMessageResult."""

    timestamp: NotRequired[int]
    results: NotRequired[list[RecipientResult]]


@with_config(ConfigDict(extra="forbid"))
class NumberSettings(TypedDict):
    number: str
    registered: bool
    requires_captcha: bool
    registration_lock_pin: str | None
    username: str | None
    username_link: str | None


@router.get(
    "/verification-code/{number}",
    summary="The code the network sent to a number",
    response_model=None,
    responses=ok(VerificationCode) | errors(404, *DAEMON),
)
@any_number
async def verification_code(number: str, backend: SandboxDep) -> dict[str, Any]:
    try:
        result: dict[str, Any] = await backend.rpc.call(
            "sandbox.getVerificationCode", {"number": number_from_path(number)}
        )
    except RpcError as exc:
        if exc.message.startswith("No verification code pending"):
            raise NotFound(exc.message) from exc
        raise
    return result


@router.post(
    "/send",
    summary="Send a message as an outside Signal user (or any account)",
    status_code=201,
    openapi_extra=body_doc(SandboxSend),
    responses=ok(SandboxSent | SandboxSendFailed, status=201) | SEND_ERRORS | errors(404),
)
async def send_as(request: Request, backend: SandboxDep) -> JSONResponse:
    raw = await read_body(request, files=True)
    body = parse_json_body(SandboxSend, raw)
    sender = body.sender or body.number
    require_account(request, sender)
    targets = v2_targets(body)
    if not sender:
        raise ValidationError("Couldn't process request - please provide the sender in 'from'")
    entries = await send_v2_body(
        backend, body, targets, sender=("from", sender), method="sandbox.send"
    )
    first = dict(entries[0])
    if len(entries) > 1:
        first["sends"] = entries
    return JSONResponse(first, status_code=201)


class Act(RequestModel):
    sender: str = Field("", alias="from")
    method: str = ""
    params: dict[str, Any] = {}


@router.post(
    "/act",
    summary="An outside Signal user (or any account) runs a send-like signal-cli method",
    description=(
        "`method` is one of send, sendReaction, sendTyping, sendReceipt, remoteDelete, … and "
        "`params` are signal-cli's JSON-RPC params for it; the answer is signal-cli's result. "
        "This is how tests make a contact react, mark read, type or delete for an account."
    ),
    openapi_extra=body_doc(Act),
    response_model=None,
    responses=ok(ActResult) | errors(*BODY, 403, 404, *DAEMON),
)
async def act(request: Request, backend: SandboxDep) -> Any:
    body = parse_json_body(Act, await read_body(request, files=True))
    require_account(request, body.sender)
    if not body.sender or not body.method:
        raise ValidationError("Couldn't process request - 'from' and 'method' are needed")
    params = {"from": body.sender, "method": body.method, "params": body.params}
    return await backend.rpc.call("sandbox.act", params)


class NewSticker(RequestModel):
    emoji: str = ""
    data: str = ""


class NewStickerPack(RequestModel):
    sender: str = Field("", alias="from")
    title: str = ""
    author: str = ""
    stickers: list[NewSticker] = empty_list()


@with_config(ConfigDict(extra="forbid"))
class CreatedStickerPack(TypedDict):
    """What others add the pack with (`POST /v1/sticker-packs/{number}`), and its link."""

    pack_id: str
    pack_key: str
    url: str


@router.post(
    "/sticker-packs",
    summary="Upload a sticker pack to the network as an outside Signal user (or any account)",
    description=(
        'Each sticker is `{"emoji", "data"}` with `data` a base64 WebP, PNG or GIF image. '
        "The uploader knows the pack and can send its stickers; others add it with "
        "`POST /v1/sticker-packs/{number}` and the returned `pack_id` and `pack_key`."
    ),
    status_code=201,
    openapi_extra=body_doc(NewStickerPack),
    response_model=None,
    responses=ok(CreatedStickerPack, status=201) | errors(*BODY, 403, 404, *DAEMON),
)
async def create_sticker_pack(request: Request, backend: SandboxDep) -> JSONResponse:
    body = parse_json_body(NewStickerPack, await read_body(request, files=True))
    require_account(request, body.sender)
    if not body.sender:
        raise ValidationError("Couldn't process request - please provide the uploader in 'from'")
    params = {
        "from": body.sender,
        "title": body.title,
        "author": body.author,
        "stickers": [s.model_dump() for s in body.stickers],
    }
    result = await backend.rpc.call("sandbox.createStickerPack", params)
    pack = CreatedStickerPack(
        pack_id=result["packId"], pack_key=result["packKey"], url=result["url"]
    )
    return JSONResponse(pack, status_code=201)


@router.get(
    "/received/{number}",
    summary="What an outside Signal user (or a linked device: `?device=<id>`) has received",
    response_model=None,
    responses=ok(list[ReceivedMessage], description="Oldest first") | errors(404, *DAEMON),
)
@any_number
async def received(
    number: str,
    backend: SandboxDep,
    device: Annotated[int | None, Query(ge=1, le=2**31 - 1, description="A device id")] = None,
) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"number": number_from_path(number)}
    if device is not None:
        params["device"] = device
    result: list[dict[str, Any]] = await backend.rpc.call("sandbox.listReceived", params)
    return result


class NewDevice(RequestModel):
    name: str = ""


@with_config(ConfigDict(extra="forbid"))
class NewDeviceLink(TypedDict):
    device_link_uri: str


@router.post(
    "/devices",
    summary="A new device (a Signal Desktop, say) shows the link to add it to an account",
    description=(
        "`POST /v1/devices/{number}` with the returned `device_link_uri` links the new device "
        "to that account under `name`; what it then receives is at "
        "`GET /v1/sandbox/received/{number}?device=<its id>`."
    ),
    status_code=201,
    openapi_extra=body_doc(NewDevice, required=False),
    response_model=None,
    responses=ok(NewDeviceLink, status=201) | errors(*BODY, *DAEMON),
)
async def new_device(request: Request, backend: SandboxDep) -> JSONResponse:
    body = parse_json_body(NewDevice, await read_body(request), optional=True)
    result = await backend.rpc.call("sandbox.newDevice", {"name": body.name or None})
    return JSONResponse({"device_link_uri": result["deviceLinkUri"]}, status_code=201)


@router.post(
    "/link",
    summary="The phone of `number` scans a device-link QR code",
    status_code=204,
    openapi_extra=body_doc(Link),
    responses=errors(*BODY, 403, 404, *DAEMON),
)
async def link(request: Request, backend: SandboxDep) -> Response:
    body = parse_json_body(Link, await read_body(request))
    require_account(request, body.number)
    if not body.device_link_uri or not body.number:
        raise ValidationError("Couldn't process request - device_link_uri and number are needed")
    await backend.rpc.call(
        "sandbox.scanLink", {"deviceLinkUri": body.device_link_uri, "number": body.number}
    )
    return Response(status_code=204)


NUMBER_FIELDS: dict[str, tuple[str, type | tuple[type, ...]]] = {
    "registered": ("registered", bool),
    "requires_captcha": ("requiresCaptcha", bool),
    "registration_lock_pin": ("registrationLockPin", (str, type(None))),
    "username": ("username", (str, type(None))),
}


# The body of `PUT /numbers/{number}` as the API document shows it; the route reads it by hand.
NUMBER_SETTINGS_DOC: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "Absent fields stay as they are.",
                    "properties": {
                        "registered": {
                            "type": "boolean",
                            "description": "Whether the number is a Signal user (every number "
                            "is, until set to false): sends to one that is not fail with "
                            "UNREGISTERED_FAILURE, and search reports it as not registered. "
                            "An account of this service always is.",
                        },
                        "requires_captcha": {
                            "type": "boolean",
                            "description": "Registering the number asks for a captcha first",
                        },
                        "registration_lock_pin": {
                            "type": ["string", "null"],
                            "description": "null: no registration lock",
                        },
                        "username": {
                            "type": ["string", "null"],
                            "description": "`nick` (a free discriminator is picked), "
                            "`nick.42` (exactly that one) or null (no username)",
                        },
                    },
                }
            }
        },
    }
}


@router.put(
    "/numbers/{number}",
    summary="How the simulated network treats a number",
    openapi_extra=NUMBER_SETTINGS_DOC,
    response_model=None,
    responses=ok(NumberSettings) | errors(*BODY, 404, *DAEMON),
)
@any_number
async def set_number(number: str, request: Request, backend: SandboxDep) -> dict[str, Any]:
    # Read by hand: here an explicit null means something (no registration-lock PIN).
    params = await _fields_by_hand(request, number, NUMBER_FIELDS)
    result = await backend.rpc.call("sandbox.setNumber", params)
    return {
        "number": result.get("number"),
        "registered": result.get("registered"),
        "requires_captcha": result.get("requiresCaptcha"),
        "registration_lock_pin": result.get("registrationLockPin"),
        "username": result.get("username"),
        "username_link": result.get("usernameLink"),
    }


async def _fields_by_hand(
    request: Request, number: str, fields: dict[str, tuple[str, type | tuple[type, ...]]]
) -> dict[str, Any]:
    """The known fields of a JSON object body, renamed for the control method; null kept."""
    data = json_object(await read_body(request), optional=True) or {}
    params: dict[str, Any] = {"number": number_from_path(number)}
    for key, value in data.items():
        if key.lower() not in fields:
            continue
        name, kinds = fields[key.lower()]
        if not isinstance(value, kinds):
            expected = "true or false" if kinds is bool else "a string or null"
            raise ValidationError(PREFIX + type_error(key, expected, value))
        params[name] = value
    return params


_TEXT_OR_NULL = (str, type(None))
PROFILE_FIELDS: dict[str, tuple[str, type | tuple[type, ...]]] = {
    "given_name": ("givenName", _TEXT_OR_NULL),
    "family_name": ("familyName", _TEXT_OR_NULL),
    "about": ("about", _TEXT_OR_NULL),
    "about_emoji": ("aboutEmoji", _TEXT_OR_NULL),
    "avatar": ("avatar", _TEXT_OR_NULL),
}

PROFILE_DOC: dict[str, Any] = {
    "requestBody": {
        "required": False,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "Absent fields stay as they are; null clears one.",
                    "properties": {
                        **{
                            key: {"type": ["string", "null"]}
                            for key in ("given_name", "family_name", "about", "about_emoji")
                        },
                        "avatar": {"type": ["string", "null"], "description": "base64 image"},
                    },
                }
            }
        },
    }
}


@with_config(ConfigDict(extra="forbid"))
class Profile(TypedDict):
    number: str
    given_name: str | None
    family_name: str | None
    about: str | None
    about_emoji: str | None
    has_avatar: bool
    last_updated_timestamp: int


@router.put(
    "/profiles/{number}",
    summary="The profile an outside Signal user publishes (its name is the sourceName)",
    openapi_extra=PROFILE_DOC,
    response_model=None,
    responses=ok(Profile) | errors(*BODY, 404, *DAEMON),
)
@any_number
async def set_profile(number: str, request: Request, backend: SandboxDep) -> dict[str, Any]:
    params = await _fields_by_hand(request, number, PROFILE_FIELDS)
    result = await backend.rpc.call("sandbox.setProfile", params)
    return {
        "number": result.get("number"),
        "given_name": result.get("givenName"),
        "family_name": result.get("familyName"),
        "about": result.get("about"),
        "about_emoji": result.get("aboutEmoji"),
        "has_avatar": result.get("hasAvatar"),
        "last_updated_timestamp": result.get("lastUpdateTimestamp"),
    }


@with_config(ConfigDict(extra="forbid"))
class Reinstalled(TypedDict):
    """The user's new identity key, as signal-cli shows fingerprints."""

    number: str
    fingerprint: str


@router.post(
    "/reinstall/{number}",
    summary="A Signal user reinstalls Signal: a new identity key, untrusted where the old was",
    response_model=None,
    responses=ok(Reinstalled) | errors(404, *DAEMON),
)
@any_number
async def reinstall(number: str, backend: SandboxDep) -> dict[str, Any]:
    result = await backend.rpc.call("sandbox.reinstall", {"number": number_from_path(number)})
    return {"number": result["number"], "fingerprint": result["fingerprint"]}


class RateLimitOrder(RequestModel):
    challenge: str = ""


@with_config(ConfigDict(extra="forbid"))
class RateLimitSet(TypedDict):
    number: str
    challenge: str
    retry_after_seconds: int


@router.put(
    "/rate-limits/{number}",
    summary="Signal's server rate-limits an account until it solves a captcha",
    description=(
        "Every send of the account then fails for each recipient with RATE_LIMIT_FAILURE and "
        "`challenge` as the token (`/v2/send` answers 429 with it in `challenge_tokens`) until "
        "`POST /v1/accounts/{number}/rate-limit-challenge` submits that token with a captcha. "
        "Without `challenge` a new token is handed out."
    ),
    openapi_extra=body_doc(RateLimitOrder, required=False),
    response_model=None,
    responses=ok(RateLimitSet) | errors(*BODY, 404, *DAEMON),
)
@any_number
async def rate_limit(number: str, request: Request, backend: SandboxDep) -> RateLimitSet:
    body = parse_json_body(RateLimitOrder, await read_body(request), optional=True)
    params = {"number": number_from_path(number)}
    if body.challenge:
        params["challenge"] = body.challenge
    result = await backend.rpc.call("sandbox.rateLimit", params)
    return RateLimitSet(
        number=result["number"],
        challenge=result["challenge"],
        retry_after_seconds=result["retryAfterSeconds"],
    )
