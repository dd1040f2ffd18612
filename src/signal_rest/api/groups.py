"""`/v1/groups/{number}` and `/v1/groups/{number}/{groupid}`.

Group ids are accepted with or without the `group.` prefix everywhere (the Go project needs the
prefix on GET and refuses it elsewhere).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field, model_validator

from signal_rest.api.body import RequestModel, body_doc, parse_json_body, read_body
from signal_rest.api.deps import BackendDep, account
from signal_rest.backend import Backend
from signal_rest.domain.groupids import internal_to_rest, rest_to_internal
from signal_rest.domain.groups import group_entry, permission_params
from signal_rest.domain.recipients import classify
from signal_rest.errors import NotFound, ValidationError

router = APIRouter(tags=["Groups"])


class Permissions(RequestModel):
    add_members: str = ""
    edit_group: str = ""
    send_messages: str = ""

    @model_validator(mode="before")
    @classmethod
    def _decode_like_go(cls, data: Any) -> Any:
        # The body reader folds only the top-level keys; Go's decoder also matches nested keys
        # case-insensitively and takes a nested null as absent.
        if not isinstance(data, dict):
            return data
        names = {name.lower(): name for name in cls.model_fields}
        return {
            names[key.lower()]: value
            for key, value in data.items()
            if isinstance(key, str) and key.lower() in names and value is not None
        }


# Go decodes expiration_time into an int (64 bits); a larger number fails to bind.
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


class CreateGroup(RequestModel):
    name: str = ""
    members: list[str] = []
    description: str = ""
    permissions: Permissions = Permissions()
    group_link: str = ""
    expiration_time: Int64 = 0


def member_param(member: str) -> str:
    # Usernames go to signal-cli as `u:<name>`, as the Go project sends them.
    return f"u:{member}" if classify(member).kind == "username" else member


def _expand(value: str | None) -> bool:
    if value is None or value == "false":
        return False
    if value == "true":
        return True
    raise ValidationError(
        "Couldn't process request - expand parameter needs to be either 'true' or 'false'"
    )


async def _list(backend: Backend, number: str) -> list[dict[str, Any]]:
    groups = await backend.rpc.call("listGroups", {"account": number})
    return [g for g in groups if isinstance(g, dict)] if isinstance(groups, list) else []


@router.post(
    "/v1/groups/{number}",
    summary="Create a new Signal Group",
    status_code=201,
    openapi_extra=body_doc(CreateGroup),
)
async def create_group(number: str, request: Request, backend: BackendDep) -> JSONResponse:
    body = parse_json_body(CreateGroup, await read_body(request, backend.settings.max_body_bytes))
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


@router.get("/v1/groups/{number}", summary="List all Signal Groups")
async def list_groups(number: str, request: Request, backend: BackendDep) -> list[dict[str, Any]]:
    expand = _expand(request.query_params.get("expand"))
    return [group_entry(g, expand=expand) for g in await _list(backend, account(number))]


@router.get("/v1/groups/{number}/{groupid}", summary="List a Signal Group")
async def get_group(
    number: str, groupid: str, request: Request, backend: BackendDep
) -> dict[str, Any]:
    expand = _expand(request.query_params.get("expand"))
    internal_id = rest_to_internal(groupid)
    for group in await _list(backend, account(number)):
        if group.get("id") == internal_id:
            return group_entry(group, expand=expand)
    raise NotFound("No group with that id found")


@router.delete(
    "/v1/groups/{number}/{groupid}",
    summary="Delete a Signal Group",
    responses={200: {"description": "left and deleted; empty body"}},
)
async def delete_group(number: str, groupid: str, backend: BackendDep) -> Response:
    # Leaves the group and deletes it locally, so it is gone from the list afterwards (the Go
    # project only leaves, and the group stays listed with "member": false).
    params = {"groupId": rest_to_internal(groupid), "delete": True, "account": account(number)}
    await backend.rpc.call("quitGroup", params)
    return Response(status_code=200)
