"""`/v1/qrcodelink` (a PNG QR code) and `/v1/qrcodelink/raw` (the URI as JSON).

Each call starts a new link (`startLink`) and waits in the background for the phone to scan it
(`finishLink`); when it does, the new account appears in `/v1/accounts`.
"""

from __future__ import annotations

import io
import logging
import re

import segno
from fastapi import APIRouter, Request, Response
from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

from signal_rest.api.deps import BackendDep
from signal_rest.api.schemas import DAEMON, binary, errors, ok
from signal_rest.backend import Backend
from signal_rest.errors import SignalApiError, ValidationError

router = APIRouter(tags=["Devices"])
log = logging.getLogger(__name__)

# finishLink blocks until the phone scans; signal-cli gives up on its own after a while.
FINISH_LINK_TIMEOUT = 15 * 60.0
QR_PIXELS = 256
DEFAULT_QR_VERSION = 10
# What Go's strconv.Atoi takes: ASCII digits with an optional sign; Python's int() would also
# take surrounding spaces, `1_0` and non-ASCII digits.
_ATOI = re.compile(r"[+-]?[0-9]+")


def _device_name(request: Request) -> str:
    name = request.query_params.get("device_name")
    if not name:
        raise ValidationError("Please provide a name for the device")
    return name


async def _start_link(backend: Backend, device_name: str) -> str:
    result = await backend.rpc.call("startLink", {})
    uri = result.get("deviceLinkUri") if isinstance(result, dict) else None
    if not isinstance(uri, str):
        raise ValidationError("Couldn't parse startLink response: no deviceLinkUri")

    async def finish() -> None:
        params = {"deviceLinkUri": uri, "deviceName": device_name}
        try:
            result = await backend.rpc.call("finishLink", params, timeout=FINISH_LINK_TIMEOUT)
        except SignalApiError as exc:
            log.warning("linking %r did not complete: %s", device_name, exc.message)
        else:
            log.info("linked %r as %s", device_name, result)

    backend.spawn(finish())
    return uri


def qr_png(data: str, version: int | None = None) -> bytes:
    """A PNG of `data` at the highest error correction, in QR `version` when one is asked for.

    Without one it is version 10 (the Go project's default) or, when the link does not fit
    there, the smallest that fits: URL-encoding makes link URIs vary in length, and now and then
    one is too long for version 10 (about one in several hundred).
    """
    try:
        qr = segno.make_qr(data, error="h", version=version, boost_error=False)
        if version is None and int(qr.version) < DEFAULT_QR_VERSION:
            qr = segno.make_qr(data, error="h", version=DEFAULT_QR_VERSION, boost_error=False)
    except (ValueError, segno.DataOverflowError) as exc:
        raise ValidationError(f"Couldn't create QR code: {exc}") from exc
    width = qr.symbol_size(scale=1, border=4)[0]
    out = io.BytesIO()
    # At least QR_PIXELS wide (the Go project's image is 256 px): phones scan it from a screen.
    qr.save(out, kind="png", scale=-(-QR_PIXELS // width), border=4)
    return out.getvalue()


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
    uri = await _start_link(backend, device_name)
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
        uri = await _start_link(backend, device_name)
    except ValidationError:
        raise
    except SignalApiError as exc:
        if exc.status == 503:
            raise
        raise ValidationError(f"Couldn't start link: {exc.message}") from exc
    return {"device_link_uri": uri}
