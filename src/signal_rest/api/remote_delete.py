"""`DELETE /v1/remote-delete/{number}`: delete a message the account sent, for everyone.

DELETE /v1/remote-delete/+4915100000001
{"recipient": "+4915100000002", "timestamp": 1752436800000}
→ 201 {"timestamp": "1752436860000"}   (the delete message's own timestamp)
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

from signal_rest.api.body import RequestModel, body_doc, parse_json_body, read_body
from signal_rest.api.deps import BackendDep, account
from signal_rest.api.responses import JSONResponse
from signal_rest.api.schemas import BODY, DAEMON, errors, ok
from signal_rest.api.send import RATE_LIMITED
from signal_rest.domain.conversation import remote_delete_params
from signal_rest.services import conversation

__all__ = ["router"]

router = APIRouter(tags=["Messages"])

# Go decodes timestamps into an int64; a larger number fails to bind.
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


class RemoteDelete(RequestModel):
    recipient: str = ""
    timestamp: Int64 = 0


@with_config(ConfigDict(extra="forbid"))
class RemoteDeleted(TypedDict):
    """The timestamp of the delete message, in ms, as text."""

    timestamp: str


@router.delete(
    "/v1/remote-delete/{number}",
    summary="Delete a signal message",
    status_code=201,
    response_model=None,
    responses=ok(RemoteDeleted, status=201) | errors(*BODY, *DAEMON) | RATE_LIMITED,
    openapi_extra=body_doc(RemoteDelete),
)
async def remote_delete(number: str, request: Request, backend: BackendDep) -> JSONResponse:
    body = parse_json_body(RemoteDelete, await read_body(request))
    params = remote_delete_params(body.recipient, body.timestamp)
    timestamp = await conversation.call(backend, "remoteDelete", account(number), params)
    return JSONResponse(RemoteDeleted(timestamp=timestamp), status_code=201)
