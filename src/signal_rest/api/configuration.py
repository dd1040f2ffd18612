"""`/v1/configuration`: the service's log level, and each account's trust mode.

    GET  /v1/configuration                                     → 200 {"logging": {"Level": "info"}}
    POST /v1/configuration {"logging": {"Level": "debug"}}     → 204
    GET  /v1/configuration/+4915100000001/settings             → 200 {"trust_mode": "on-first-use"}
    POST /v1/configuration/+4915100000001/settings {"trust_mode": "always"}  → 204

Both change at run time. Unlike the Go project, level `error` is reported as "error" (Go
reports ""), and the trust mode really applies: on the sandbox per account, with signal-cli
the one mode of its daemon (`JSON_RPC_TRUST_NEW_IDENTITIES`), which every account shares.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

from signal_rest.api.body import RequestModel, body_doc, parse_json_body, read_body
from signal_rest.api.deps import BackendDep, account
from signal_rest.api.schemas import BODY, DAEMON, empty, errors, ok
from signal_rest.edge import logs
from signal_rest.errors import ValidationError
from signal_rest.services import identities

__all__ = ["router"]

router = APIRouter(tags=["General"])

INVALID_LEVEL = "Couldn't set log level - invalid log level"
INVALID_MODE = "Invalid trust mode"


class LoggingLevel(RequestModel):
    Level: str = ""


class ConfigurationBody(RequestModel):
    logging: LoggingLevel = LoggingLevel()


class TrustModeBody(RequestModel):
    trust_mode: str = ""


@with_config(ConfigDict(extra="forbid"))
class Logging(TypedDict):
    Level: str


@with_config(ConfigDict(extra="forbid"))
class Configuration(TypedDict):
    """The log level: debug, info, warn or error (key `Level`, as in the Go project)."""

    logging: Logging


@with_config(ConfigDict(extra="forbid"))
class TrustModeSettings(TypedDict):
    """signal-cli's --trust-new-identities for the account: on-first-use, always or never."""

    trust_mode: str


@router.get(
    "/v1/configuration",
    summary="List the REST API configuration",
    response_model=None,
    responses=ok(Configuration),
)
async def get_configuration() -> dict[str, Any]:
    return {"logging": {"Level": logs.level_name()}}


@router.post(
    "/v1/configuration",
    summary="Set the REST API configuration",
    description="Sets the log level (debug, info, warn or error) from now on; an empty level "
    "changes nothing.",
    status_code=204,
    response_class=Response,
    responses=empty(204, "Set") | errors(*BODY),
    openapi_extra=body_doc(ConfigurationBody),
)
async def set_configuration(request: Request) -> Response:
    body = parse_json_body(ConfigurationBody, await read_body(request))
    level = body.logging.Level
    if level:
        if level not in logs.LEVELS:
            raise ValidationError(INVALID_LEVEL)
        logs.set_level(level)
    return Response(status_code=204)


@router.get(
    "/v1/configuration/{number}/settings",
    summary="List account specific settings",
    response_model=None,
    responses=ok(TrustModeSettings) | errors(*DAEMON),
)
async def get_settings(number: str, backend: BackendDep) -> dict[str, Any]:
    return {"trust_mode": await identities.trust_mode(backend, account(number))}


@router.post(
    "/v1/configuration/{number}/settings",
    summary="Set account specific settings",
    description="`trust_mode` is what happens to identity keys the account has not seen: "
    "`on-first-use` trusts a contact's first key and not a changed one, `always` trusts every "
    "key, `never` none until trusted by hand (PUT /v1/identities/…/trust/…).",
    status_code=204,
    response_class=Response,
    responses=empty(204, "Set") | errors(*BODY, *DAEMON),
    openapi_extra=body_doc(TrustModeBody),
)
async def set_settings(number: str, request: Request, backend: BackendDep) -> Response:
    number = account(number)
    body = parse_json_body(TrustModeBody, await read_body(request))
    if body.trust_mode not in identities.TRUST_MODES:
        raise ValidationError(INVALID_MODE)
    await identities.set_trust_mode(backend, number, body.trust_mode)
    return Response(status_code=204)
