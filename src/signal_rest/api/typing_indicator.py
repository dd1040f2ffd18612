"""`PUT|DELETE /v1/typing-indicator/{number}`: show, or stop showing, that the account types.

PUT /v1/typing-indicator/+4915100000001   {"recipient": "group.UG1w…"}   → 204
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from signal_rest.api.body import RequestModel, body_doc, parse_json_body, read_body
from signal_rest.api.deps import BackendDep, account
from signal_rest.api.schemas import BODY, DAEMON, empty, errors
from signal_rest.api.send import RATE_LIMITED
from signal_rest.domain.conversation import typing_params
from signal_rest.services import conversation

__all__ = ["router"]

router = APIRouter(tags=["Messages"])


class TypingIndicator(RequestModel):
    recipient: str = ""


async def _typing(number: str, request: Request, backend: BackendDep, *, stop: bool) -> Response:
    body = parse_json_body(TypingIndicator, await read_body(request))
    params = typing_params(body.recipient, stop=stop)
    await conversation.call(backend, "sendTyping", account(number), params)
    return Response(status_code=204)


@router.put(
    "/v1/typing-indicator/{number}",
    summary="Show Typing Indicator",
    status_code=204,
    response_class=Response,
    responses=empty(204, "The typing indicator was sent") | errors(*BODY, *DAEMON) | RATE_LIMITED,
    openapi_extra=body_doc(TypingIndicator),
)
async def start_typing(number: str, request: Request, backend: BackendDep) -> Response:
    return await _typing(number, request, backend, stop=False)


@router.delete(
    "/v1/typing-indicator/{number}",
    summary="Hide Typing Indicator",
    status_code=204,
    response_class=Response,
    responses=empty(204, "The stop was sent") | errors(*BODY, *DAEMON) | RATE_LIMITED,
    openapi_extra=body_doc(TypingIndicator),
)
async def stop_typing(number: str, request: Request, backend: BackendDep) -> Response:
    return await _typing(number, request, backend, stop=True)
