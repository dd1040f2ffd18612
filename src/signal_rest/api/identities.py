"""`/v1/identities/{number}`: the identity keys an account knows, and trusting one.

    GET /v1/identities/+4915100000001                         → 200 [{"number", "status", …}]
    PUT /v1/identities/+4915100000001/trust/+4915100000003
        {"verified_safety_number": "12345 67890 …"}           → 204

Unlike the Go project, an unknown account is a 400 rather than a 500 (signal-cli's other
failures to list stay 500, as in Go).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

from signal_rest.api.body import RequestModel, body_doc, parse_json_body, read_body
from signal_rest.api.deps import BackendDep, account
from signal_rest.api.schemas import BODY, DAEMON, empty, errors, ok
from signal_rest.errors import ValidationError
from signal_rest.services import identities

__all__ = ["router"]

router = APIRouter(tags=["Identities"])

NO_CHOICE = (
    "Couldn't process request - please either provide a safety number (preferred & more "
    "secure) or set 'trust_all_known_keys' to true"
)
BOTH = (
    "Couldn't process request - please either provide a safety number or set "
    "'trust_all_known_keys' to true. But do not set both parameters at once!"
)
EMPTY_NUMBER = "Couldn't process request - please provide a valid safety number"


@with_config(ConfigDict(extra="forbid"))
class IdentityEntry(TypedDict):
    """One key the account knows: `status` is signal-cli's trust level (TRUSTED_UNVERIFIED,
    TRUSTED_VERIFIED, UNTRUSTED), `added` when it was first seen (ms, as a string)."""

    number: str
    status: str
    fingerprint: str
    added: str
    safety_number: str
    uuid: str


class TrustIdentity(RequestModel):
    verified_safety_number: str | None = None
    trust_all_known_keys: bool | None = None


@router.get(
    "/v1/identities/{number}",
    summary="List Identities",
    response_model=None,
    responses=ok(list[IdentityEntry]) | errors(400, 500, 503, 504),
)
async def list_identities(number: str, backend: BackendDep) -> list[dict[str, Any]]:
    return await identities.list_identities(backend, account(number))


def _choice(body: TrustIdentity) -> tuple[str | None, bool]:
    code, all_keys = body.verified_safety_number, body.trust_all_known_keys
    if code is None and not all_keys:
        raise ValidationError(NO_CHOICE)
    if code is not None and all_keys:
        raise ValidationError(BOTH)
    if code == "":
        raise ValidationError(EMPTY_NUMBER)
    return code, bool(all_keys)


@router.put(
    "/v1/identities/{number}/trust/{numberToTrust}",
    summary="Trust Identity",
    description="Trust `numberToTrust`'s identity key: the one `verified_safety_number` "
    "verifies (preferred), or with `trust_all_known_keys` every key known for it (only "
    "recommended for testing). Sends to a contact whose key changed fail until then.",
    status_code=204,
    response_class=Response,
    responses=empty(204, "Trusted") | errors(*BODY, *DAEMON),
    openapi_extra=body_doc(TrustIdentity),
)
async def trust_identity(
    number: str, numberToTrust: str, request: Request, backend: BackendDep
) -> Response:
    number = account(number)
    body = parse_json_body(TrustIdentity, await read_body(request))
    code, all_keys = _choice(body)
    await identities.trust(backend, number, numberToTrust, code, all_keys)
    return Response(status_code=204)
