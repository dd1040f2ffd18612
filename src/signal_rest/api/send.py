"""`POST /v2/send` and the deprecated `POST /v1/send`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, NotRequired

from fastapi import APIRouter, Request
from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

from signal_rest.api.body import RequestModel, body_doc, empty_list
from signal_rest.api.body_stream import ATTACHMENT, ATTACHMENTS, file_body
from signal_rest.api.deps import BackendDep
from signal_rest.api.responses import JSONResponse
from signal_rest.api.schemas import BODY, DAEMON, error, errors, ok
from signal_rest.auth.guard import require_account, require_known_account
from signal_rest.backend import Backend
from signal_rest.domain.attachments import Decoded
from signal_rest.domain.groupids import rest_to_internal
from signal_rest.domain.linkpreview import validate_link_preview
from signal_rest.domain.recipients import split_for_send
from signal_rest.domain.sending import SendTarget, targets_for
from signal_rest.domain.styles import parse_styled
from signal_rest.errors import ValidationError
from signal_rest.services.sending import PreparedSend, send_all

__all__ = [
    "RATE_LIMITED",
    "SEND_ERRORS",
    "SendFailure",
    "SendResult",
    "SendV2",
    "router",
    "send_v2_body",
    "v2_params",
    "v2_targets",
]

router = APIRouter(tags=["Messages"])


class Mention(RequestModel):
    start: int = 0
    length: int = 0
    author: str = ""


class LinkPreview(RequestModel):
    url: str = ""
    title: str = ""
    description: str = ""
    base64_thumbnail: str = ""


class SendV2(RequestModel):
    number: str = ""
    recipients: list[str] = empty_list()
    recipient: str = ""
    message: str = ""
    base64_attachments: list[str] = empty_list()
    sticker: str = ""
    mentions: list[Mention] = empty_list()
    quote_timestamp: int | None = None
    quote_author: str = ""
    quote_message: str = ""
    quote_mentions: list[Mention] = empty_list()
    text_mode: str | None = None
    edit_timestamp: int | None = None
    notify_self: bool | None = None
    link_preview: LinkPreview | None = None
    view_once: bool = False


class SendV1(RequestModel):
    number: str = ""
    recipients: list[str] = empty_list()
    message: str = ""
    base64_attachment: str = ""
    is_group: bool = False


@with_config(ConfigDict(extra="forbid"))
class FailedRecipient(TypedDict):
    """A recipient the send did not reach; `reason` is signal-cli's result type."""

    username: NotRequired[str]
    number: NotRequired[str]
    uuid: NotRequired[str]
    reason: str


@with_config(ConfigDict(extra="forbid"))
class SendErrors(TypedDict):
    recipients: list[FailedRecipient]


@with_config(ConfigDict(extra="forbid"))
class SendResult(TypedDict):
    """One signal-cli send: its timestamp (a string, as in the Go project) and, when some
    recipients were not reached, who and why."""

    timestamp: str
    errors: NotRequired[SendErrors]


@with_config(ConfigDict(extra="forbid"))
class SendFailure(TypedDict):
    """A send of the request that failed while others succeeded: signal-cli's error and the
    target it was for."""

    error: str
    recipients: list[str]


@with_config(ConfigDict(extra="forbid"))
class SendRateLimited(TypedDict):
    """signal-cli's rate limit: the challenge tokens lift it via
    `/v1/accounts/{number}/rate-limit-challenge`."""

    error: str
    challenge_tokens: NotRequired[list[str]]
    account: NotRequired[str]


# What every route that sends through `send_all` answers when signal-cli reports a rate limit.
RATE_LIMITED = error(429, SendRateLimited)

SEND_ERRORS = errors(*BODY, 403, 404, *DAEMON) | RATE_LIMITED


def _mention_strings(mentions: list[Mention]) -> list[str]:
    return [f"{m.start}:{m.length}:{m.author}" for m in mentions]


async def v2_params(prepared: PreparedSend, body: SendV2, default_text_mode: str) -> dict[str, Any]:
    """signal-cli `send` params (without recipients) after the Go project's checks 4–7."""
    if body.sticker and ":" not in body.sticker:
        raise ValidationError("Couldn't process request - please provide valid sticker delimiter")
    if body.view_once and not body.base64_attachments:
        raise ValidationError("'view_once' can only be set for image attachments!")
    message = body.message
    params: dict[str, Any] = {}
    if body.link_preview is not None:
        preview = validate_link_preview(
            message,
            url=body.link_preview.url,
            title=body.link_preview.title,
            description=body.link_preview.description,
            base64_thumbnail=body.link_preview.base64_thumbnail,
        )
        image = None
        if body.link_preview.base64_thumbnail:
            image = Path(await prepared.decode(body.link_preview.base64_thumbnail))
        params.update(preview.rpc_params(image))
    if (body.text_mode or default_text_mode) == "styled":
        message, styles = parse_styled(message)
        if styles:
            params["text-style"] = styles
    params["message"] = message
    if body.base64_attachments:
        params["attachment"] = [await prepared.decode(a) for a in body.base64_attachments]
    if body.sticker:
        params["sticker"] = body.sticker
    if body.mentions:
        params["mentions"] = _mention_strings(body.mentions)
    if body.quote_timestamp:
        params["quote-timestamp"] = body.quote_timestamp
        params["quote-author"] = body.quote_author
        params["quote-message"] = body.quote_message
    if body.quote_mentions:
        params["quote-mentions"] = _mention_strings(body.quote_mentions)
    if body.edit_timestamp:
        params["edit-timestamp"] = body.edit_timestamp
    if body.notify_self is not False:
        params["notify-self"] = True
    if body.view_once:
        params["view-once"] = True
    return params


async def send_v2_body(
    backend: Backend,
    body: SendV2,
    targets: list[SendTarget],
    *,
    sender: tuple[str, str],
    method: str = "send",
    decoded: Mapping[str, Decoded] | None = None,
) -> list[dict[str, Any]]:
    """Send a /v2/send-shaped body: `sender` is the param naming who sends, and its value;
    `decoded`: the attachments `file_body` decoded while reading it."""
    key, number = sender
    async with PreparedSend(backend, decoded) as prepared:
        params = await v2_params(prepared, body, backend.settings.default_signal_text_mode)
        params[key] = number
        return await send_all(backend.rpc, method, params, targets, account=number)


def v2_targets(body: SendV2) -> list[SendTarget]:
    recipients = [*body.recipients, *([body.recipient] if body.recipient else [])]
    if not recipients:
        raise ValidationError("Couldn't process request - please provide at least one recipient")
    split = split_for_send(recipients)
    return targets_for(split.numbers, split.usernames, split.groups)


@router.post(
    "/v2/send",
    summary="Send a signal message",
    status_code=201,
    openapi_extra=body_doc(SendV2),
    responses=ok(
        list[SendResult | SendFailure],
        status=201,
        description="One entry per signal-cli send: one per group, one for all numbers, one "
        "for all usernames",
    )
    | SEND_ERRORS,
)
async def send_v2(request: Request, backend: BackendDep) -> JSONResponse:
    async with file_body(request, SendV2, ATTACHMENTS, backend) as (body, decoded):
        require_account(request, body.number)
        targets = v2_targets(body)
        if not body.number:
            raise ValidationError("Couldn't process request - please provide a valid number")
        await require_known_account(request, body.number)
        entries = await send_v2_body(
            backend, body, targets, sender=("account", body.number), decoded=decoded
        )
    return JSONResponse(entries, status_code=201)


@router.post(
    "/v1/send",
    summary="Send a signal message (deprecated: use /v2/send)",
    status_code=201,
    deprecated=True,
    openapi_extra=body_doc(SendV1),
    responses=ok(SendResult, status=201) | SEND_ERRORS,
)
async def send_v1(request: Request, backend: BackendDep) -> JSONResponse:
    async with file_body(request, SendV1, ATTACHMENT, backend) as (body, decoded):
        entries = await _send_v1(request, backend, body, decoded)
    return JSONResponse(entries[0] if len(entries) == 1 else entries, status_code=201)


async def _send_v1(
    request: Request, backend: Backend, body: SendV1, decoded: Mapping[str, Decoded]
) -> list[dict[str, Any]]:
    require_account(request, body.number)
    if not body.recipients:
        raise ValidationError("Please specify at least one recipient")
    if body.is_group:
        if len(body.recipients) > 1:
            raise ValidationError("More than one recipient is currently not allowed")
        targets = [SendTarget.group(rest_to_internal(body.recipients[0]))]
    else:
        targets = [SendTarget.numbers(body.recipients)]
    if body.number:
        await require_known_account(request, body.number)
    async with PreparedSend(backend, decoded) as prepared:
        params: dict[str, Any] = {"account": body.number, "message": body.message}
        if body.base64_attachment:
            params["attachment"] = [await prepared.decode(body.base64_attachment)]
        params["notify-self"] = True
        return await send_all(backend.rpc, "send", params, targets, account=body.number)
