"""`POST /v1/unregister/{number}`: end an account on the Signal network.

    POST /v1/unregister/+4915100000001  {"delete_account": false, "delete_local_data": true}
    → 204

The body is optional, as in the Go project; unlike it, the number must be an exact E.164 one.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from signal_rest.api.body import RequestModel, body_doc, parse_json_body, read_body
from signal_rest.api.deps import BackendDep, account
from signal_rest.api.schemas import BODY, DAEMON, empty, errors
from signal_rest.domain.devices import exact_number
from signal_rest.services import devices

__all__ = ["router"]

router = APIRouter(tags=["Devices"])


class Unregister(RequestModel):
    delete_account: bool = False
    delete_local_data: bool = False


@router.post(
    "/v1/unregister/{number}",
    summary="Unregister a phone number",
    description="DANGER: the account stops working. Its sends fail, and from its primary "
    "device others' messages to the number fail as unregistered. With `delete_account` the "
    "Signal account is deleted for good (username, linked devices, registration lock); with "
    "`delete_local_data` signal-cli's data of it on this machine is deleted too. None of this "
    "can be undone; only the account named is touched.",
    status_code=204,
    response_class=Response,
    responses=empty(204, "The account is unregistered") | errors(*BODY, *DAEMON),
    openapi_extra=body_doc(Unregister, required=False),
)
async def unregister(number: str, request: Request, backend: BackendDep) -> Response:
    raw = await read_body(request)
    body = parse_json_body(Unregister, raw, optional=True)
    await devices.unregister(
        backend,
        exact_number(account(number)),
        delete_account=body.delete_account,
        delete_local_data=body.delete_local_data,
    )
    return Response(status_code=204)
