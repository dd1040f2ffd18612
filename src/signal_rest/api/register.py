"""`/v1/register/{number}` and `/v1/register/{number}/verify/{token}`."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from signal_rest.api.body import RequestModel, body_doc, parse_json_body, read_body
from signal_rest.api.deps import BackendDep, account
from signal_rest.api.schemas import BODY, DAEMON, empty, errors
from signal_rest.auth.scopes import any_number
from signal_rest.services import registration

router = APIRouter(tags=["Devices"])


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
@any_number
async def register(number: str, request: Request, backend: BackendDep) -> Response:
    body = parse_json_body(Register, await read_body(request), optional=True)
    await registration.register(
        backend, account(number), voice=body.use_voice, captcha=body.captcha
    )
    return Response(status_code=201)


@router.post(
    "/v1/register/{number}/verify/{token}",
    summary="Verify a registered phone number",
    description="`token` is the code Signal sent for the last `POST /v1/register/{number}`; "
    "a code works once.",
    status_code=201,
    response_class=Response,
    responses=empty(201, "The number is registered") | errors(*BODY, *DAEMON),
    openapi_extra=body_doc(Verify, required=False),
)
@any_number
async def verify(number: str, token: str, request: Request, backend: BackendDep) -> Response:
    body = parse_json_body(Verify, await read_body(request), optional=True)
    await registration.verify(backend, account(number), token, pin=body.pin)
    return Response(status_code=201)
