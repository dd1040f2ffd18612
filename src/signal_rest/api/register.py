"""`/v1/register/{number}` and `/v1/register/{number}/verify/{token}`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from signal_rest.api.body import RequestModel, body_doc, parse_json_body, read_body
from signal_rest.api.deps import BackendDep, account
from signal_rest.api.schemas import BODY, DAEMON, empty, errors
from signal_rest.errors import RpcError

router = APIRouter(tags=["Devices"])

# Register and verify refuse malformed bodies with this text, dot included.
INVALID = "Couldn't process request - invalid request."
SMS_REFUSED = (
    "Couldn't use SMS verification to register the specified number. Wait 60 seconds and try "
    'again with {"use_voice": true}'
)


class Register(RequestModel):
    use_voice: bool = False
    captcha: str = ""


class Verify(RequestModel):
    pin: str = ""


@router.post(
    "/v1/register/{number}",
    summary="Register a phone number",
    status_code=201,
    response_class=Response,
    responses=empty(201, "A code is on its way to the phone") | errors(*BODY, *DAEMON),
    openapi_extra=body_doc(Register, required=False),
)
async def register(number: str, request: Request, backend: BackendDep) -> Response:
    raw = await read_body(request)
    body = parse_json_body(Register, raw, optional=True, invalid=INVALID)
    params: dict[str, Any] = {"account": account(number)}
    if body.use_voice:
        params["voice"] = True
    if body.captcha:
        params["captcha"] = body.captcha
    try:
        await backend.rpc.call("register", params)
    except RpcError as exc:
        if not body.use_voice and "StatusCode: 400 (InvalidTransportModeException)" in exc.message:
            raise RpcError(exc.code, SMS_REFUSED, exc.data) from exc
        raise
    return Response(status_code=201)


@router.post(
    "/v1/register/{number}/verify/{token}",
    summary="Verify a registered phone number",
    status_code=201,
    response_class=Response,
    responses=empty(201, "The number is registered") | errors(*BODY, *DAEMON),
    openapi_extra=body_doc(Verify, required=False),
)
async def verify(number: str, token: str, request: Request, backend: BackendDep) -> Response:
    raw = await read_body(request)
    body = parse_json_body(Verify, raw, optional=True, invalid=INVALID)
    params = {"account": account(number), "verificationCode": token}
    if body.pin:
        params["pin"] = body.pin
    await backend.rpc.call("verify", params)
    return Response(status_code=201)
