"""`/v1/devices/{number}`: an account's devices, linking and removing one, deleting local data.

    GET    /v1/devices/+4915100000001                    → 200 [{"id", "name", …}]
    POST   /v1/devices/+4915100000001  {"uri": "sgnl://linkdevice?…"}  → 204
    DELETE /v1/devices/+4915100000001/2                  → 204
    DELETE /v1/devices/+4915100000001/local-data  {"ignore_registered": false}  → 204

As in the Go project a device without a name lists `"name": ""` and `local-data` wins over a
device id. Unlike it, POST refuses a missing `uri` itself, and removing a device or deleting
local data needs the account's exact E.164 number.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

from signal_rest.api.body import RequestModel, body_doc, parse_json_body, read_body
from signal_rest.api.deps import BackendDep, account
from signal_rest.api.schemas import BODY, DAEMON, empty, errors, ok
from signal_rest.auth.scopes import any_number
from signal_rest.domain.devices import device_id, exact_number
from signal_rest.errors import ValidationError
from signal_rest.services import devices

__all__ = ["router"]

router = APIRouter(tags=["Devices"])


@with_config(ConfigDict(extra="forbid"))
class DeviceEntry(TypedDict):
    id: int
    name: str
    last_seen_timestamp: int
    creation_timestamp: int


class AddDevice(RequestModel):
    uri: str = ""


class DeleteLocalData(RequestModel):
    ignore_registered: bool = False


@router.get(
    "/v1/devices/{number}",
    summary="List linked devices",
    description="The account's devices: its primary device (id 1) and the devices linked to it, "
    "with their names, creation times and the day they were last seen (ms, UTC midnight).",
    response_model=None,
    responses=ok(list[DeviceEntry]) | errors(*DAEMON),
)
async def list_devices(number: str, backend: BackendDep) -> list[dict[str, Any]]:
    return await devices.list_devices(backend, account(number))


@router.post(
    "/v1/devices/{number}",
    summary="Links another device to this device",
    description="`uri` is the `sgnl://linkdevice?uuid=…&pub_key=…` link the new device shows "
    "as a QR code. Only a primary device can link others.",
    status_code=204,
    response_class=Response,
    responses=empty(204, "The device is linked") | errors(*BODY, *DAEMON),
    openapi_extra=body_doc(AddDevice),
)
async def add_device(number: str, request: Request, backend: BackendDep) -> Response:
    body = parse_json_body(AddDevice, await read_body(request))
    if not body.uri:
        raise ValidationError("Couldn't process request - uri missing")
    await devices.add_device(backend, account(number), body.uri)
    return Response(status_code=204)


# Before `/{deviceId}`, so `local-data` is never taken for a device id.
@router.delete(
    "/v1/devices/{number}/local-data",
    summary="Delete local account data",
    description="DANGER: deletes everything signal-cli keeps of this account on this machine "
    "(keys, contacts, groups, messages not yet received); it cannot be undone. Refused while "
    "the account is still registered, unless `ignore_registered` is true: then the account "
    "stops working here although Signal still has it. Only the account named is touched.",
    status_code=204,
    response_class=Response,
    responses=empty(204, "The account's local data is deleted") | errors(*BODY, *DAEMON),
    openapi_extra=body_doc(DeleteLocalData, required=False),
)
@any_number
async def delete_local_data(number: str, request: Request, backend: BackendDep) -> Response:
    body = parse_json_body(DeleteLocalData, await read_body(request), optional=True)
    number = exact_number(account(number))
    await devices.delete_local_data(backend, number, ignore_registered=body.ignore_registered)
    return Response(status_code=204)


@router.delete(
    "/v1/devices/{number}/{deviceId}",
    summary="Remove linked device",
    description="Unlinks the device: it receives nothing for this account any more. Only a "
    "primary device can remove devices, and not itself (id 1).",
    status_code=204,
    response_class=Response,
    responses=empty(204, "The device is removed") | errors(*DAEMON),
)
async def remove_device(number: str, deviceId: str, backend: BackendDep) -> Response:
    number = exact_number(account(number))
    await devices.remove_device(backend, number, device_id(deviceId))
    return Response(status_code=204)
