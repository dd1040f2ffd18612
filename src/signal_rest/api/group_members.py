"""`/v1/groups/{number}/{groupid}/members` and `…/admins`: POST adds, DELETE removes.

    POST /v1/groups/+4915100000001/group.…/members   {"members": ["+4915100000002"]}   → 204

As in the Go project the group must be one of the account's groups (404 otherwise), POST members
refuses an empty list while the other three take it as a no-op, and members given as usernames go
to signal-cli as `u:<name>` (admins never do). Unlike Go, the group id may lack `group.`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from signal_rest.api.body import RequestModel, body_doc, empty_list, parse_json_body, read_body
from signal_rest.api.deps import BackendDep, account
from signal_rest.api.schemas import BODY, DAEMON, errors
from signal_rest.backend import Backend
from signal_rest.domain.groupids import rest_to_internal
from signal_rest.domain.groups import member_param
from signal_rest.errors import NotFound, ValidationError
from signal_rest.services.groups import fetch_groups, update_group

__all__ = ["router"]

router = APIRouter(tags=["Groups"])

MEMBERS_MISSING = "Couldn't process request - group members missing"


class ChangeMembers(RequestModel):
    members: list[str] = empty_list()


class ChangeAdmins(RequestModel):
    admins: list[str] = empty_list()


async def _update(
    backend: Backend, number: str, groupid: str, key: str, values: list[str]
) -> Response:
    number = account(number)
    internal_id = rest_to_internal(groupid)
    if not any(g.get("id") == internal_id for g in await fetch_groups(backend, number)):
        raise NotFound(f"No group with that group id ({groupid}) found")
    params: dict[str, Any] = {"groupId": internal_id, key: values, "account": number}
    await update_group(backend, params)
    return Response(status_code=204)


async def _members(request: Request, backend: Backend) -> list[str]:
    raw = await read_body(request)
    return [member_param(m) for m in parse_json_body(ChangeMembers, raw).members]


async def _admins(request: Request, backend: Backend) -> list[str]:
    raw = await read_body(request)
    return parse_json_body(ChangeAdmins, raw).admins


def _no_op(number: str, groupid: str) -> Response:
    # Nothing is sent to signal-cli, but the path must still make sense.
    account(number)
    rest_to_internal(groupid)
    return Response(status_code=204)


@router.post(
    "/v1/groups/{number}/{groupid}/members",
    summary="Add one or more members to an existing Signal Group",
    status_code=204,
    openapi_extra=body_doc(ChangeMembers),
    responses=errors(*BODY, 404, *DAEMON),
)
async def add_members(number: str, groupid: str, request: Request, backend: BackendDep) -> Response:
    members = await _members(request, backend)
    if not members:
        raise ValidationError(MEMBERS_MISSING)
    return await _update(backend, number, groupid, "member", members)


@router.delete(
    "/v1/groups/{number}/{groupid}/members",
    summary="Remove one or more members from an existing Signal Group",
    status_code=204,
    openapi_extra=body_doc(ChangeMembers),
    responses=errors(*BODY, 404, *DAEMON),
)
async def remove_members(
    number: str, groupid: str, request: Request, backend: BackendDep
) -> Response:
    members = await _members(request, backend)
    if not members:
        return _no_op(number, groupid)
    return await _update(backend, number, groupid, "remove-member", members)


@router.post(
    "/v1/groups/{number}/{groupid}/admins",
    summary="Add one or more admins to an existing Signal Group",
    status_code=204,
    openapi_extra=body_doc(ChangeAdmins),
    responses=errors(*BODY, 404, *DAEMON),
)
async def add_admins(number: str, groupid: str, request: Request, backend: BackendDep) -> Response:
    admins = await _admins(request, backend)
    if not admins:
        return _no_op(number, groupid)
    return await _update(backend, number, groupid, "admin", admins)


@router.delete(
    "/v1/groups/{number}/{groupid}/admins",
    summary="Remove one or more admins from an existing Signal Group",
    status_code=204,
    openapi_extra=body_doc(ChangeAdmins),
    responses=errors(*BODY, 404, *DAEMON),
)
async def remove_admins(
    number: str, groupid: str, request: Request, backend: BackendDep
) -> Response:
    admins = await _admins(request, backend)
    if not admins:
        return _no_op(number, groupid)
    return await _update(backend, number, groupid, "remove-admin", admins)
