"""`/v1/groups/{number}/{groupid}/avatar`: the group's avatar image."""

from __future__ import annotations

from fastapi import APIRouter, Response

from signal_rest.api.deps import BackendDep, account
from signal_rest.api.schemas import DAEMON, binary, errors
from signal_rest.domain.groupids import rest_to_internal
from signal_rest.services.avatars import group_avatar

__all__ = ["router"]

router = APIRouter(tags=["Groups"])


@router.get(
    "/v1/groups/{number}/{groupid}/avatar",
    summary="Returns the avatar of a Signal Group",
    response_class=Response,
    # 404: the group has no avatar (or the account does not know the group); 500: signal-cli
    # answered with data that is not base64.
    responses=binary("*/*", "The image's bytes; Content-Type sniffed from its content")
    | errors(*DAEMON, 404, 500),
)
async def get_group_avatar(number: str, groupid: str, backend: BackendDep) -> Response:
    avatar = await group_avatar(backend, account(number), rest_to_internal(groupid))
    return Response(avatar.data, media_type=avatar.content_type)
