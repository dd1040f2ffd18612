"""`POST|DELETE /v1/reactions/{number}`: react to a message, or take the reaction back.

    POST /v1/reactions/+4915100000001
    {"recipient": "+4915100000002", "reaction": "👍", "target_author": "+4915100000002",
     "timestamp": 1752436800000}                                           → 204

The recipient is a number, UUID, username or `group.` id; removing, `reaction` may be left out.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import Field

from signal_rest.api.body import RequestModel, body_doc, parse_json_body, read_body
from signal_rest.api.deps import BackendDep, account
from signal_rest.api.schemas import BODY, DAEMON, empty, errors
from signal_rest.api.send import RATE_LIMITED
from signal_rest.domain.conversation import reaction_params
from signal_rest.services import conversation

__all__ = ["router"]

router = APIRouter(tags=["Reactions"])

# Go decodes timestamps into an int64; a larger number fails to bind.
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


class Reaction(RequestModel):
    recipient: str = ""
    reaction: str = ""
    target_author: str = ""
    timestamp: Int64 = 0


async def _react(number: str, request: Request, backend: BackendDep, *, remove: bool) -> Response:
    body = parse_json_body(Reaction, await read_body(request))
    params = reaction_params(
        body.recipient, body.reaction, body.target_author, body.timestamp, remove=remove
    )
    await conversation.call(backend, "sendReaction", account(number), params)
    return Response(status_code=204)


@router.post(
    "/v1/reactions/{number}",
    summary="Send a reaction",
    status_code=204,
    response_class=Response,
    responses=empty(204, "The reaction was sent") | errors(*BODY, *DAEMON) | RATE_LIMITED,
    openapi_extra=body_doc(Reaction),
)
async def send_reaction(number: str, request: Request, backend: BackendDep) -> Response:
    return await _react(number, request, backend, remove=False)


@router.delete(
    "/v1/reactions/{number}",
    summary="Remove a reaction",
    status_code=204,
    response_class=Response,
    responses=empty(204, "The removal was sent") | errors(*BODY, *DAEMON) | RATE_LIMITED,
    openapi_extra=body_doc(Reaction),
)
async def remove_reaction(number: str, request: Request, backend: BackendDep) -> Response:
    return await _react(number, request, backend, remove=True)
