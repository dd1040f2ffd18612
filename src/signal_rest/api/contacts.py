"""`/v1/contacts/{number}`: the account's contacts, one contact and its avatar, naming a contact
and setting its disappearing-message timer, and syncing the list to linked devices.

    GET  /v1/contacts/+4915100000001?all_recipients=true          → 200 [{"number", "uuid", …}]
    PUT  /v1/contacts/+4915100000001  {"recipient": "+4915…", "name": "Bob",
                                       "expiration_in_seconds": 3600} → 204, empty

Entries carry `blocked`, `message_expiration` and `profile_name` (always empty with the Go
project), and `"expiration_in_seconds": 0` turns a timer off (the Go project drops the 0).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

from signal_rest.api.body import RequestModel, body_doc, parse_json_body, read_body
from signal_rest.api.deps import BackendDep, account, query_flag
from signal_rest.api.schemas import BODY, DAEMON, binary, empty, errors, ok
from signal_rest.errors import ValidationError
from signal_rest.services.contacts import (
    contact_avatar,
    find_contact,
    list_contacts,
    sync_contacts,
    update_contact,
)

__all__ = ["router"]

router = APIRouter(tags=["Contacts"])

# Go decodes expiration_in_seconds into an int (64 bits); a larger number fails to bind.
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
MAX_EXPIRATION = 2**31 - 1  # signal-cli keeps the timer in a Java int
ALL_RECIPIENTS = "all_recipients"
# Documents the query flag; query_flag reads it with the Go project's check and text.
AllRecipients = Annotated[
    str | None,
    Query(description="`true` also lists those the account knows but has as no contact"),
]


class UpdateContact(RequestModel):
    recipient: str = ""
    name: str = ""
    expiration_in_seconds: Int64 | None = None


@with_config(ConfigDict(extra="forbid"))
class ContactProfile(TypedDict):
    given_name: str
    lastname: str
    about: str
    has_avatar: bool
    last_updated_timestamp: int


@with_config(ConfigDict(extra="forbid"))
class Nickname(TypedDict):
    name: str
    given_name: str
    family_name: str


@with_config(ConfigDict(extra="forbid"))
class ContactEntry(TypedDict):
    """A contact; `name` is the account's own name for it, `profile_name` the one it chose.
    `message_expiration` is the disappearing-message timer in seconds ("0" = off)."""

    number: str
    uuid: str
    name: str
    profile_name: str
    username: str
    color: str
    blocked: bool
    message_expiration: str
    note: str
    profile: ContactProfile
    given_name: str
    nickname: Nickname


@router.get(
    "/v1/contacts/{number}",
    summary="List Contacts",
    description=(
        "The account's contacts: those it messaged, named, gave a timer or blocked. "
        "`?all_recipients=true` lists everyone it knows."
    ),
    response_model=None,
    responses=ok(list[ContactEntry]) | errors(*DAEMON),
)
async def get_contacts(
    number: str, request: Request, backend: BackendDep, all_recipients: AllRecipients = None
) -> list[dict[str, Any]]:
    everyone = query_flag(request, ALL_RECIPIENTS)
    return await list_contacts(backend, account(number), all_recipients=everyone)


@router.put(
    "/v1/contacts/{number}",
    summary="Updates the info associated to a number on the contact list",
    description=(
        "Names the contact (when `name` is given) and sets the disappearing-message timer of "
        "the chat with it (when `expiration_in_seconds` is given; 0 turns it off), which the "
        "contact is told of."
    ),
    status_code=204,
    response_class=Response,
    responses=empty(204, "The contact is updated") | errors(*BODY, *DAEMON),
    openapi_extra=body_doc(UpdateContact),
)
async def put_contact(number: str, request: Request, backend: BackendDep) -> Response:
    number = account(number)
    body = parse_json_body(UpdateContact, await read_body(request))
    if not body.recipient:
        raise ValidationError("Couldn't process request - recipient missing")
    expiration = body.expiration_in_seconds
    if expiration is not None and not 0 <= expiration <= MAX_EXPIRATION:
        raise ValidationError(
            "Couldn't process request - expiration_in_seconds must be between 0 and "
            f"{MAX_EXPIRATION}"
        )
    await update_contact(backend, number, body.recipient, name=body.name, expiration=expiration)
    return Response(status_code=204)


@router.post(
    "/v1/contacts/{number}/sync",
    summary="Send a synchronize contacts message to all linked devices",
    status_code=204,
    response_class=Response,
    responses=empty(204, "The linked devices are sent the contact list") | errors(*DAEMON),
)
async def post_sync(number: str, backend: BackendDep) -> Response:
    await sync_contacts(backend, account(number))
    return Response(status_code=204)


@router.get(
    "/v1/contacts/{number}/{uuid}",
    summary="List a specific contact",
    description="`?all_recipients=true` also finds someone who is not a contact.",
    response_model=None,
    responses=ok(ContactEntry) | errors(404, *DAEMON),
)
async def get_contact(
    number: str,
    uuid: str,
    request: Request,
    backend: BackendDep,
    all_recipients: AllRecipients = None,
) -> dict[str, Any]:
    everyone = query_flag(request, ALL_RECIPIENTS)
    return await find_contact(backend, account(number), uuid, all_recipients=everyone)


@router.get(
    "/v1/contacts/{number}/{uuid}/avatar",
    summary="Returns the avatar of a contact",
    description="The contact's profile avatar; without one, 400 `No avatar found.` (as in Go).",
    response_class=Response,
    responses=binary("image/*", "the image's bytes; Content-Type sniffed from its content")
    | errors(*DAEMON),
)
async def get_contact_avatar(number: str, uuid: str, backend: BackendDep) -> Response:
    avatar = await contact_avatar(backend, account(number), uuid)
    return Response(avatar.data, media_type=avatar.content_type)
