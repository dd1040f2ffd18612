"""`/v1/groups/{number}`, `/v1/groups/{number}/{groupid}` and its block, join and quit actions.

Group ids are accepted with or without the `group.` prefix everywhere (the Go project needs the
prefix on GET and refuses it elsewhere). Members and admins are in `group_members.py`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

from signal_rest.api.body import RequestModel, body_doc, empty_list, parse_json_body, read_body
from signal_rest.api.body_stream import AVATAR, file_body
from signal_rest.api.deps import BackendDep, account, query_flag
from signal_rest.api.responses import JSONResponse
from signal_rest.api.schemas import BODY, DAEMON, empty, errors, ok
from signal_rest.backend import Backend
from signal_rest.domain.groupids import internal_to_rest, rest_to_internal
from signal_rest.domain.groups import group_entry, member_param, permission_params
from signal_rest.errors import NotFound, ValidationError
from signal_rest.services.groups import fetch_groups, leave_group, update_with_avatar

__all__ = ["router"]

router = APIRouter(tags=["Groups"])


class Permissions(RequestModel):
    add_members: str = ""
    edit_group: str = ""
    send_messages: str = ""


# Go decodes expiration_time into an int (64 bits); a larger number fails to bind.
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


class UpdateGroup(RequestModel):
    # None = absent (or null): the key is not sent to signal-cli.
    name: str | None = None
    description: str | None = None
    base64_avatar: str = ""  # "" like absent: there is no avatar to write
    expiration_time: Int64 | None = None
    group_link: str = ""
    permissions: Permissions = Permissions()


class CreateGroup(RequestModel):
    name: str = ""
    members: list[str] = empty_list()
    description: str = ""
    permissions: Permissions = Permissions()
    group_link: str = ""
    expiration_time: Int64 = 0


# "" when signal-cli reports neither.
Permission = Literal["every-member", "only-admins", ""]


@with_config(ConfigDict(extra="forbid"))
class GroupPermissions(TypedDict):
    add_members: Permission
    edit_group: Permission
    send_messages: Permission


@with_config(ConfigDict(extra="forbid"))
class GroupMember(TypedDict):
    """A member with `?expand=true`; `number` is "" when signal-cli does not know it."""

    number: str
    uuid: str


@with_config(ConfigDict(extra="forbid"))
class GroupEntry(TypedDict):
    """A group; each member is a number, or a UUID where the number is unknown."""

    name: str
    description: str
    id: str
    internal_id: str
    members: list[str]
    blocked: bool
    member: bool
    pending_invites: list[str]
    pending_requests: list[str]
    invite_link: str
    admins: list[str]
    permissions: GroupPermissions


@with_config(ConfigDict(extra="forbid"))
class ExpandedGroupEntry(TypedDict):
    """A group with `?expand=true`: each member as its number and UUID."""

    name: str
    description: str
    id: str
    internal_id: str
    members: list[GroupMember]
    blocked: bool
    member: bool
    pending_invites: list[GroupMember]
    pending_requests: list[GroupMember]
    invite_link: str
    admins: list[GroupMember]
    permissions: GroupPermissions


@with_config(ConfigDict(extra="forbid"))
class CreatedGroup(TypedDict):
    id: str


@router.post(
    "/v1/groups/{number}",
    summary="Create a new Signal Group",
    status_code=201,
    openapi_extra=body_doc(CreateGroup),
    responses=ok(CreatedGroup, status=201) | errors(*BODY, *DAEMON),
)
async def create_group(number: str, request: Request, backend: BackendDep) -> JSONResponse:
    body = parse_json_body(CreateGroup, await read_body(request))
    permissions = body.permissions
    params: dict[str, Any] = permission_params(
        permissions.add_members, permissions.edit_group, permissions.send_messages, body.group_link
    )
    if body.name:
        params["name"] = body.name
    if body.members:
        params["members"] = [member_param(m) for m in body.members]
    if body.description:
        params["description"] = body.description
    if body.expiration_time:
        params["expiration"] = body.expiration_time
    params["account"] = account(number)
    result = await backend.rpc.call("updateGroup", params)
    group_id = result.get("groupId") if isinstance(result, dict) else None
    if not isinstance(group_id, str) or not group_id:
        raise ValidationError("Couldn't process request - invalid signal-cli response")
    return JSONResponse({"id": internal_to_rest(group_id)}, status_code=201)


@router.get(
    "/v1/groups/{number}",
    summary="List all Signal Groups",
    response_model=None,
    responses=ok(list[GroupEntry | ExpandedGroupEntry]) | errors(*DAEMON),
)
async def list_groups(number: str, request: Request, backend: BackendDep) -> list[dict[str, Any]]:
    expand = query_flag(request, "expand")
    return [group_entry(g, expand=expand) for g in await fetch_groups(backend, account(number))]


@router.get(
    "/v1/groups/{number}/{groupid}",
    summary="List a Signal Group",
    response_model=None,
    responses=ok(GroupEntry | ExpandedGroupEntry) | errors(404, *DAEMON),
)
async def get_group(
    number: str, groupid: str, request: Request, backend: BackendDep
) -> dict[str, Any]:
    expand = query_flag(request, "expand")
    internal_id = rest_to_internal(groupid)
    for group in await fetch_groups(backend, account(number)):
        if group.get("id") == internal_id:
            return group_entry(group, expand=expand)
    raise NotFound("No group with that id found")


# `?new_admin=` of DELETE and quit: the members the only admin hands over to before leaving.
NewAdmins = Annotated[
    list[str] | None, Query(description="a member to make admin before leaving (repeatable)")
]


async def _leave(
    number: str, groupid: str, backend: Backend, new_admin: list[str] | None, *, delete: bool
) -> None:
    new_admins = [_query_number(v) for v in new_admin or []]
    await leave_group(
        backend, account(number), rest_to_internal(groupid), new_admins, delete=delete
    )


@router.delete(
    "/v1/groups/{number}/{groupid}",
    summary="Delete a Signal Group",
    description=(
        "Leaves the group and forgets it. The group's only admin names a member as new admin "
        "with `?new_admin=NUMBER` (repeatable); without one, leaving is refused."
    ),
    response_class=Response,
    responses=empty(200, "Left and deleted") | errors(400, 404, *DAEMON),
)
async def delete_group(
    number: str,
    groupid: str,
    backend: BackendDep,
    new_admin: NewAdmins = None,
) -> Response:
    # Leaves the group and deletes it locally, so it is gone from the list afterwards (the Go
    # project only leaves, and the group stays listed with "member": false).
    await _leave(number, groupid, backend, new_admin, delete=True)
    return Response(status_code=200)


def _query_number(value: str) -> str:
    # An unencoded `+` in a query string arrives as a space: `?new_admin=+49…` means +49….
    if value.startswith(" ") and value[1:].isdigit():
        value = "+" + value[1:]
    if not value.strip():
        raise ValidationError("Couldn't process request - new_admin must be a member's number")
    return value.strip()


@router.put(
    "/v1/groups/{number}/{groupid}",
    summary="Update the state of a Signal Group",
    status_code=204,
    openapi_extra=body_doc(UpdateGroup),
    responses=errors(*BODY, *DAEMON),
)
async def update_group(
    number: str, groupid: str, request: Request, backend: BackendDep
) -> Response:
    number = account(number)
    internal_id = rest_to_internal(groupid)
    async with file_body(request, UpdateGroup, AVATAR, backend) as (body, decoded):
        params = _update_params(body, internal_id, number)
        await update_with_avatar(backend, params, body.base64_avatar, decoded)
    return Response(status_code=204)


def _update_params(body: UpdateGroup, internal_id: str, number: str) -> dict[str, Any]:
    permissions = body.permissions
    params: dict[str, Any] = {"groupId": internal_id}
    params.update(
        permission_params(
            permissions.add_members,
            permissions.edit_group,
            permissions.send_messages,
            body.group_link,
        )
    )
    if body.name is not None:
        params["name"] = body.name
    if body.description is not None:
        params["description"] = body.description
    if body.expiration_time is not None:
        # Fix over Go, which drops 0 (omitempty) so a timer can never be turned off: an explicit
        # `expiration_time` is always sent, 0 included; an absent or null one is not.
        params["expiration"] = body.expiration_time
    params["account"] = number
    return params


async def _group_action(number: str, groupid: str, backend: Backend, method: str) -> Response:
    params = {"groupId": rest_to_internal(groupid), "account": account(number)}
    await backend.rpc.call(method, params)
    return Response(status_code=204)


@router.post(
    "/v1/groups/{number}/{groupid}/block",
    summary="Block a Signal Group",
    status_code=204,
    responses=errors(*DAEMON),
)
async def block_group(number: str, groupid: str, backend: BackendDep) -> Response:
    return await _group_action(number, groupid, backend, "block")


@router.post(
    "/v1/groups/{number}/{groupid}/join",
    summary="Join a Signal Group",
    status_code=204,
    responses=errors(*DAEMON),
)
async def join_group(number: str, groupid: str, backend: BackendDep) -> Response:
    # An update without changes: it accepts a pending invitation.
    return await _group_action(number, groupid, backend, "updateGroup")


@router.post(
    "/v1/groups/{number}/{groupid}/quit",
    summary="Quit a Signal Group",
    description=(
        "Leaves the group; it stays listed with `member: false`. The group's only admin names a "
        "member as new admin with `?new_admin=NUMBER` (repeatable); without one, leaving is "
        "refused."
    ),
    status_code=204,
    responses=errors(400, 404, *DAEMON),
)
async def quit_group(
    number: str,
    groupid: str,
    backend: BackendDep,
    new_admin: NewAdmins = None,
) -> Response:
    # Unlike DELETE, the group stays listed (with "member": false), as in Go.
    await _leave(number, groupid, backend, new_admin, delete=False)
    return Response(status_code=204)
