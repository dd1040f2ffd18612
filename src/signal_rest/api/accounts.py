"""`/v1/accounts` and what an account manages about itself: its username, registration-lock
PIN, settings and rate-limit captcha.

    POST /v1/accounts/+4915100000001/username {"username": "ally"}
    → 201 {"username": "ally.42", "username_link": "https://signal.me/#eu/…"}

Success codes follow the Go project, odd ones included (settings PUT and pin POST answer 201).
Unlike it, a refused username answers signal-cli's reason, settings left out of the body stay as
they are, and an empty PIN is refused rather than set.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

from signal_rest.api.body import RequestModel, body_doc, parse_json_body, read_body
from signal_rest.api.deps import BackendDep, account
from signal_rest.api.schemas import BODY, DAEMON, empty, errors, ok
from signal_rest.auth.guard import token_of
from signal_rest.errors import InternalError, RpcError, ValidationError
from signal_rest.services import accounts as service

router = APIRouter(tags=["Accounts"])


@router.get(
    "/v1/accounts",
    summary="List all accounts",
    response_model=None,
    responses=ok(list[str], description="The accounts' numbers") | errors(500, 503, 504),
)
async def list_accounts(request: Request, backend: BackendDep) -> list[str]:
    try:
        numbers = await backend.accounts.listed()
    except RpcError as exc:
        raise InternalError(f"Couldn't get list of accounts: {exc.message}") from exc
    # A token for some accounts sees only those.
    token = token_of(request)
    return [n for n in numbers if token is None or token.may_act_for(n)]


class SetUsername(RequestModel):
    username: str = ""


@with_config(ConfigDict(extra="forbid"))
class UsernameSet(TypedDict):
    """The username Signal gave (`nick.NN`) and the link that finds it."""

    username: str
    username_link: str | None


@router.post(
    "/v1/accounts/{number}/username",
    summary="Set the account's username",
    description="A plain nickname gets a free discriminator (`nick` → `nick.42`); `nick.42` "
    "asks for exactly that username. Others can then send to it and find it.",
    status_code=201,
    openapi_extra=body_doc(SetUsername),
    response_model=None,
    responses=ok(UsernameSet, status=201) | errors(*BODY, *DAEMON),
)
async def set_username(number: str, request: Request, backend: BackendDep) -> UsernameSet:
    body = parse_json_body(SetUsername, await read_body(request))
    result = await service.set_username(backend, account(number), body.username)
    return UsernameSet(username=result["username"], username_link=result["username_link"])


@router.delete(
    "/v1/accounts/{number}/username",
    summary="Remove the account's username",
    status_code=204,
    response_class=Response,
    responses=empty(204, "The username is gone; sends to it fail") | errors(*DAEMON),
)
async def delete_username(number: str, backend: BackendDep) -> Response:
    await service.delete_username(backend, account(number))
    return Response(status_code=204)


class SetPin(RequestModel):
    pin: str = ""


@router.post(
    "/v1/accounts/{number}/pin",
    summary="Set the registration-lock PIN",
    description="Registering this number again (on any device) then needs the PIN.",
    status_code=201,
    response_class=Response,
    openapi_extra=body_doc(SetPin),
    responses=empty(201, "The PIN is set") | errors(*BODY, *DAEMON),
)
async def set_pin(number: str, request: Request, backend: BackendDep) -> Response:
    body = parse_json_body(SetPin, await read_body(request))
    if not body.pin:
        raise ValidationError("Couldn't process request - pin missing")
    await service.set_pin(backend, account(number), body.pin)
    return Response(status_code=201)


@router.delete(
    "/v1/accounts/{number}/pin",
    summary="Remove the registration-lock PIN",
    status_code=204,
    response_class=Response,
    responses=empty(204, "Registering this number needs no PIN any more") | errors(*DAEMON),
)
async def remove_pin(number: str, backend: BackendDep) -> Response:
    await service.remove_pin(backend, account(number))
    return Response(status_code=204)


class AccountSettings(RequestModel):
    discoverable_by_number: bool | None = None
    share_number: bool | None = None


@router.put(
    "/v1/accounts/{number}/settings",
    summary="Update the account's settings",
    description="`discoverable_by_number`: whether others find the account by its number; "
    "`share_number`: whether it shares its number with whom it messages. A setting left out "
    "stays as it is.",
    status_code=201,
    response_class=Response,
    openapi_extra=body_doc(AccountSettings),
    responses=empty(201, "The settings are updated") | errors(*BODY, *DAEMON),
)
async def update_settings(number: str, request: Request, backend: BackendDep) -> Response:
    body = parse_json_body(AccountSettings, await read_body(request))
    await service.update_settings(
        backend,
        account(number),
        discoverable=body.discoverable_by_number,
        share_number=body.share_number,
    )
    return Response(status_code=201)


class RateLimitChallenge(RequestModel):
    challenge_token: str = ""
    captcha: str = ""


@router.post(
    "/v1/accounts/{number}/rate-limit-challenge",
    summary="Lift a rate limit with a solved captcha",
    description="`challenge_token` is one of the `challenge_tokens` of a 429 from `/v2/send`; "
    "`captcha` the `signalcaptcha://…` link of a captcha solved at "
    "https://signalcaptchas.org/challenge/generate.html.",
    status_code=204,
    response_class=Response,
    openapi_extra=body_doc(RateLimitChallenge),
    responses=empty(204, "The rate limit is lifted") | errors(*BODY, *DAEMON),
)
async def rate_limit_challenge(number: str, request: Request, backend: BackendDep) -> Response:
    body = parse_json_body(RateLimitChallenge, await read_body(request))
    if not body.challenge_token:
        raise ValidationError("Couldn't process request - challenge token missing")
    if not body.captcha:
        raise ValidationError("Couldn't process request - captcha missing")
    await service.submit_rate_limit_challenge(
        backend, account(number), body.challenge_token, body.captcha
    )
    return Response(status_code=204)
