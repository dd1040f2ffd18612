"""`/v1/attachments` and `/v1/attachments/{attachment}`: received attachments, by id.

The id is `dataMessage.attachments[].id` of a received envelope. These routes have no account in
their path: a token limited to some accounts sees only what those accounts received.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from signal_rest.api.deps import BackendDep
from signal_rest.auth.guard import token_of
from signal_rest.domain.attachment_ids import INVALID_ID
from signal_rest.services.attachments import (
    NO_ATTACHMENT,
    delete_attachment,
    list_attachments,
    open_attachment,
)

__all__ = ["router"]

router = APIRouter(tags=["Attachments"])


def _error(description: str, text: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"example": {"error": text}}},
    }


_NOT_FOUND = _error("no such attachment, or not one this API token may see", NO_ATTACHMENT)
_INVALID = _error("an id that is not a plain file name", INVALID_ID)


def _accounts(request: Request) -> tuple[str, ...] | None:
    token = token_of(request)
    return None if token is None else token.accounts


@router.get(
    "/v1/attachments",
    summary="List all attachments",
    description="The ids of the received attachments, sorted; `[]` when there are none.",
)
async def list_all(request: Request, backend: BackendDep) -> list[str]:
    return await list_attachments(backend, _accounts(request))


@router.get(
    "/v1/attachments/{attachment}",
    summary="Serve attachment",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "the file's bytes; Content-Type sniffed from its content",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        },
        400: _INVALID,
        404: _NOT_FOUND,
    },
)
async def serve(attachment: str, request: Request, backend: BackendDep) -> StreamingResponse:
    download = await open_attachment(backend, attachment, _accounts(request))
    return StreamingResponse(
        download.chunks,
        media_type=download.content_type,
        headers={"Content-Length": str(download.size)},
    )


@router.delete(
    "/v1/attachments/{attachment}",
    summary="Remove attachment",
    status_code=204,
    response_class=Response,
    responses={204: {"description": "deleted"}, 400: _INVALID, 404: _NOT_FOUND},
)
async def remove(attachment: str, request: Request, backend: BackendDep) -> Response:
    await delete_attachment(backend, attachment, _accounts(request))
    return Response(status_code=204)
