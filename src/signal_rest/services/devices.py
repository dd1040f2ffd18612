"""The devices of an account, and ending an account: listDevices, addDevice, removeDevice,
unregister, deleteLocalAccountData."""

from __future__ import annotations

from typing import Any

from signal_rest.backend import Backend
from signal_rest.errors import ValidationError

__all__ = ["add_device", "delete_local_data", "list_devices", "remove_device", "unregister"]

INVALID_RESPONSE = "Couldn't process request - invalid signal-cli response"


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


async def _forget_inbox(backend: Backend, number: str) -> None:
    # The messages the account had not taken go with its data: those signal-cli pushed before
    # it answered are stored first, so none of them turns up later.
    await backend.rpc.caught_up()
    await backend.inbox.settled()
    await backend.inbox.consumers.retire(number)


async def list_devices(backend: Backend, number: str) -> list[dict[str, Any]]:
    """`listDevices` of `number` in the Go project's field names (a device without a name has
    `""`, as Go's string field gives it)."""
    devices = await backend.rpc.call("listDevices", {"account": number})
    if not isinstance(devices, list) or not all(isinstance(d, dict) for d in devices):
        raise ValidationError(INVALID_RESPONSE)
    return [
        {
            "id": _int(d.get("id")),
            "name": d.get("name") if isinstance(d.get("name"), str) else "",
            "last_seen_timestamp": _int(d.get("lastSeenTimestamp")),
            "creation_timestamp": _int(d.get("createdTimestamp")),
        }
        for d in devices
    ]


async def add_device(backend: Backend, number: str, uri: str) -> None:
    """Link the new device showing `uri` (`sgnl://linkdevice?uuid=…&pub_key=…`) to `number`,
    which must be a primary device."""
    await backend.rpc.call("addDevice", {"uri": uri, "account": number})


async def remove_device(backend: Backend, number: str, device_id: int) -> None:
    await backend.rpc.call("removeDevice", {"deviceId": device_id, "account": number})


async def delete_local_data(backend: Backend, number: str, *, ignore_registered: bool) -> None:
    """Delete what signal-cli keeps of `number`; refused while it is registered unless
    `ignore_registered`."""
    params: dict[str, Any] = {"account": number}
    if ignore_registered:
        params["ignore-registered"] = True
    await backend.rpc.call("deleteLocalAccountData", params)
    backend.accounts.forget(number)
    await _forget_inbox(backend, number)


async def unregister(
    backend: Backend, number: str, *, delete_account: bool, delete_local_data: bool
) -> None:
    """End `number` on the Signal network (with `delete_account`, delete it there); then, if
    asked, delete what signal-cli keeps of it."""
    params: dict[str, Any] = {"account": number}
    if delete_account:
        params["delete-account"] = True
    await backend.rpc.call("unregister", params)
    backend.accounts.forget(number)
    if delete_local_data:
        await backend.rpc.call("deleteLocalAccountData", {"account": number})
        await _forget_inbox(backend, number)
