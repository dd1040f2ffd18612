"""`/v1/qrcodelink` (a PNG QR code) and `/v1/qrcodelink/raw` (the URI as JSON).

Each call starts a new link (`startLink`) and waits in the background for the phone to scan it
(`finishLink`); when it does, the new account appears in `/v1/accounts`.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request, Response
from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

from signal_rest.api.deps import BackendDep
from signal_rest.api.schemas import DAEMON, binary, errors, ok
from signal_rest.domain.qrcodes import qr_png
from signal_rest.errors import SignalApiError, ValidationError
from signal_rest.services.linking import start_link

router = APIRouter(tags=["Devices"])

# What Go's strconv.Atoi takes: ASCII digits with an optional sign; Python's int() would also
# take surrounding spaces, `1_0` and non-ASCII digits.
_ATOI = re.compile(r"[+-]?[0-9]+")


def _device_name(request: Request) -> str:
    name = request.query_params.get("device_name")
    if not name:
        raise ValidationError("Please provide a name for the device")
    return name


@router.get(
    "/v1/qrcodelink",
    summary="Link device and generate QR code",
    response_class=Response,
    responses=binary("image/png", "The QR code to scan with the phone") | errors(*DAEMON),
)
async def qrcodelink(request: Request, backend: BackendDep) -> Response:
    device_name = _device_name(request)
    version_text = request.query_params.get("qrcode_version")
    version = None
    if version_text is not None:
        if not _ATOI.fullmatch(version_text):
            raise ValidationError("The qrcode_version parameter needs to be an integer!")
        version = int(version_text)
        if not 1 <= version <= 40:
            raise ValidationError(f"Couldn't create QR code: invalid version {version}")
    uri = await start_link(backend, device_name)
    return Response(qr_png(uri, version), media_type="image/png")


@with_config(ConfigDict(extra="forbid"))
class DeviceLink(TypedDict):
    device_link_uri: str


@router.get(
    "/v1/qrcodelink/raw",
    summary="Link device and return the device link URI",
    response_model=None,
    responses=ok(DeviceLink) | errors(400, 503),
)
async def qrcodelink_raw(request: Request, backend: BackendDep) -> dict[str, str]:
    device_name = _device_name(request)
    try:
        uri = await start_link(backend, device_name)
    except ValidationError:
        raise
    except SignalApiError as exc:
        if exc.status == 503:
            raise
        raise ValidationError(f"Couldn't start link: {exc.message}") from exc
    return {"device_link_uri": uri}
