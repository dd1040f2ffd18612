"""`/v1/attachments` and `/v1/attachments/{attachment}`: received attachments, by id.

The id is `dataMessage.attachments[].id` of a received envelope. These routes have no account in
their path: a token limited to some accounts sees only what those accounts received.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from signal_rest.api.deps import BackendDep
from signal_rest.api.schemas import DAEMON, binary, empty, errors, ok
from signal_rest.auth.guard import allowed_accounts
from signal_rest.services.attachments import delete_attachment, list_attachments, open_attachment

__all__ = ["router"]

router = APIRouter(tags=["Attachments"])


@router.get(
    "/v1/attachments",
    summary="List all attachments",
    description="The ids of the received attachments, sorted; `[]` when there are none.",
    response_model=None,
    responses=ok(list[str]) | errors(500),
)
async def list_all(request: Request, backend: BackendDep) -> list[str]:
    return await list_attachments(backend, allowed_accounts(request))


@router.get(
    "/v1/attachments/{attachment}",
    summary="Serve attachment",
    response_class=StreamingResponse,
    # 400: an id that is not a plain file name (or signal-cli's error fetching it); 404: no such
    # attachment, or not one this API token may see; 500: the file could not be read.
    responses=binary("*/*", "The file's bytes; Content-Type sniffed from its content")
    | errors(*DAEMON, 404, 500),
)
async def serve(attachment: str, request: Request, backend: BackendDep) -> StreamingResponse:
    download = await open_attachment(backend, attachment, allowed_accounts(request))
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
    responses=empty(204, "Deleted") | errors(400, 404, 500),
)
async def remove(attachment: str, request: Request, backend: BackendDep) -> Response:
    await delete_attachment(backend, attachment, allowed_accounts(request))
    return Response(status_code=204)
