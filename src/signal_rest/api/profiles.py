"""`/v1/profiles/{number}`: the account's own profile, as its contacts see it.

    PUT /v1/profiles/+4915100000001  {"name": "Bot", "about": "beep", "base64_avatar": "iVBO…"}
    → 204, empty

An update without `base64_avatar` keeps the current avatar (the Go project removes it).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from signal_rest.api.body import RequestModel, body_doc
from signal_rest.api.body_stream import AVATAR, file_body
from signal_rest.api.deps import BackendDep, account
from signal_rest.api.schemas import BODY, DAEMON, empty, errors
from signal_rest.errors import ValidationError
from signal_rest.services.profiles import update_profile

__all__ = ["router"]

router = APIRouter(tags=["Profiles"])


class UpdateProfile(RequestModel):
    name: str = ""
    about: str | None = None
    base64_avatar: str = ""


@router.put(
    "/v1/profiles/{number}",
    summary="Update Profile",
    description=(
        "Sets the profile's name (Signal's given name), and its about text and avatar (raw "
        "base64) when given; an update without `base64_avatar` keeps the avatar."
    ),
    status_code=204,
    response_class=Response,
    responses=empty(204, "The profile is updated") | errors(*BODY, *DAEMON),
    openapi_extra=body_doc(UpdateProfile),
)
async def put_profile(number: str, request: Request, backend: BackendDep) -> Response:
    number = account(number)
    async with file_body(request, UpdateProfile, AVATAR, backend) as (body, decoded):
        if not body.name:
            raise ValidationError("Couldn't process request - profile name missing")
        await update_profile(
            backend,
            number,
            name=body.name,
            about=body.about,
            base64_avatar=body.base64_avatar,
            decoded=decoded,
        )
    return Response(status_code=204)
