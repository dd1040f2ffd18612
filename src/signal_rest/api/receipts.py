"""`POST /v1/receipts/{number}`: tell a message's sender it was read or viewed.

    POST /v1/receipts/+4915100000001
    {"recipient": "+4915100000002", "receipt_type": "viewed", "timestamp": 1752436800000}   → 204

Unlike the Go project, `viewed` is honoured (Go's param name makes every receipt a read receipt).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import Field

from signal_rest.api.body import RequestModel, body_doc, parse_json_body, read_body
from signal_rest.api.deps import BackendDep, account
from signal_rest.api.schemas import BODY, DAEMON, empty, errors
from signal_rest.api.send import RATE_LIMITED
from signal_rest.domain.conversation import receipt_params
from signal_rest.services import conversation

__all__ = ["router"]

router = APIRouter(tags=["Receipts"])

# Go decodes timestamps into an int64; a larger number fails to bind.
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


class Receipt(RequestModel):
    recipient: str = ""
    receipt_type: str = ""
    timestamp: Int64 = 0


@router.post(
    "/v1/receipts/{number}",
    summary="Send a receipt",
    status_code=204,
    response_class=Response,
    responses=empty(204, "The receipt was sent") | errors(*BODY, *DAEMON) | RATE_LIMITED,
    openapi_extra=body_doc(Receipt),
)
async def send_receipt(number: str, request: Request, backend: BackendDep) -> Response:
    body = parse_json_body(Receipt, await read_body(request))
    params = receipt_params(body.recipient, body.receipt_type, body.timestamp)
    await conversation.call(backend, "sendReceipt", account(number), params)
    return Response(status_code=204)
