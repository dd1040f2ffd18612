"""`/v1/groups/{number}/{groupid}/avatar`: the group's avatar image."""

from __future__ import annotations

from fastapi import APIRouter, Response

from signal_rest.api.deps import BackendDep, account
from signal_rest.domain.groupids import INVALID_GROUP_ID, rest_to_internal
from signal_rest.services.avatars import NO_AVATAR, group_avatar

__all__ = ["router"]

router = APIRouter(tags=["Groups"])


@router.get(
    "/v1/groups/{number}/{groupid}/avatar",
    summary="Returns the avatar of a Signal Group",
    response_class=Response,
    responses={
        200: {
            "description": "the image's bytes; Content-Type sniffed from its content",
            "content": {"image/*": {"schema": {"type": "string", "format": "binary"}}},
        },
        400: {
            "description": "a group id that is neither form, or signal-cli's error",
            "content": {"application/json": {"example": {"error": INVALID_GROUP_ID}}},
        },
        404: {
            "description": "the group has no avatar (or the account does not know the group)",
            "content": {"application/json": {"example": {"error": NO_AVATAR}}},
        },
    },
)
async def get_group_avatar(number: str, groupid: str, backend: BackendDep) -> Response:
    avatar = await group_avatar(backend, account(number), rest_to_internal(groupid))
    return Response(avatar.data, media_type=avatar.content_type)
