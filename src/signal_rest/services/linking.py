"""Linking this service as a new device of a phone's account."""

from __future__ import annotations

import logging

from signal_rest.backend import Backend
from signal_rest.errors import SignalApiError, ValidationError

__all__ = ["FINISH_LINK_TIMEOUT", "start_link"]

log = logging.getLogger(__name__)

# finishLink blocks until the phone scans; signal-cli gives up on its own after a while.
FINISH_LINK_TIMEOUT = 15 * 60.0


async def start_link(backend: Backend, device_name: str) -> str:
    """A new device-link URI; a background task waits for the phone to scan it (`finishLink`),
    after which the account appears in `listAccounts`."""
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
            number = result.get("number") if isinstance(result, dict) else None
            if isinstance(number, str):
                backend.accounts.add(number)

    backend.spawn(finish())
    return uri
