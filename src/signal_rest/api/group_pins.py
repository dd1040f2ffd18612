"""`/v1/groups/{number}/{groupid}/pin-message`: pin (POST) and unpin (DELETE) a group's message.

    POST /v1/groups/+4915100000001/group.…/pin-message
    {"target_author": "+4915100000002", "timestamp": 1752436809700, "duration": 3600}
    → 201, empty

As in the Go project both answer 201, `duration` defaults to -1 (pinned until unpinned) and the
group id may lack its `group.` prefix. Unlike Go, POST checks `target_author` and `timestamp` as
DELETE does, rather than passing empty values to signal-cli. Pins need signal-cli 0.14.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import Field
from starlette.convertors import Convertor, register_url_convertor

from signal_rest.api.body import RequestModel, body_doc, parse_json_body, read_body
from signal_rest.api.deps import BackendDep, account
from signal_rest.api.schemas import BODY, DAEMON, empty, errors
from signal_rest.api.send import RATE_LIMITED
from signal_rest.domain.groupids import rest_to_internal
from signal_rest.errors import ValidationError
from signal_rest.services.pins import pin_message, unpin_message

__all__ = ["router"]

router = APIRouter(tags=["Groups"])

NO_GROUP_ID = "Please specify a group id"

# 501: a signal-cli older than 0.14 has no pins.
PIN_ERRORS = errors(*BODY, *DAEMON, 501) | RATE_LIMITED


class _Segment(Convertor[str]):
    """A path segment that may be empty, so `…/+49…//pin-message` gets the Go project's text."""

    regex = "[^/]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("segment", _Segment())
PATH = "/v1/groups/{number}/{groupid:segment}/pin-message"

Int32 = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


class PinMessage(RequestModel):
    target_author: str = ""
    timestamp: Int64 = 0
    duration: Int32 = -1


class UnpinMessage(RequestModel):
    target_author: str = ""
    timestamp: Int64 = 0


def _target(number: str, groupid: str, target_author: str, timestamp: int) -> tuple[str, str]:
    number = account(number)
    if not groupid:
        raise ValidationError(NO_GROUP_ID)
    group_id = rest_to_internal(groupid)
    if not target_author:
        raise ValidationError("Couldn't process request - target author missing")
    if not timestamp:
        raise ValidationError("Couldn't process request - timestamp missing")
    return number, group_id


@router.post(
    PATH,
    summary="Pin a message in a Signal Group",
    status_code=201,
    openapi_extra=body_doc(PinMessage),
    response_class=Response,
    responses=empty(201, "The pin was sent") | PIN_ERRORS,
)
async def pin(number: str, groupid: str, request: Request, backend: BackendDep) -> Response:
    body = parse_json_body(PinMessage, await read_body(request))
    number, group_id = _target(number, groupid, body.target_author, body.timestamp)
    await pin_message(backend, number, group_id, body.target_author, body.timestamp, body.duration)
    return Response(status_code=201)


@router.delete(
    PATH,
    summary="Unpin a message in a Signal Group",
    status_code=201,
    openapi_extra=body_doc(UnpinMessage),
    response_class=Response,
    responses=empty(201, "The unpin was sent") | PIN_ERRORS,
)
async def unpin(number: str, groupid: str, request: Request, backend: BackendDep) -> Response:
    body = parse_json_body(UnpinMessage, await read_body(request))
    number, group_id = _target(number, groupid, body.target_author, body.timestamp)
    await unpin_message(backend, number, group_id, body.target_author, body.timestamp)
    return Response(status_code=201)
