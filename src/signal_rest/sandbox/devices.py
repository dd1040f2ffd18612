"""A number's devices, and accounts leaving this daemon.

Devices. A number's devices are rows of the `devices` table: its phone (device 1) and the
devices linked to it (2, 3, …). One of them may be this daemon's (the local account). Every
other linked device is *outside*: a new device (a Signal Desktop, say) asks to be linked by
showing a `sgnl://linkdevice?uuid=…&pub_key=…` URI (`sandbox.newDevice`), and the primary
account adds it (`addDevice`). An outside device keeps what it receives in its own inbox
(`sandbox.listReceived` with `device`): what is sent to the number, and the sync transcripts of
what the number's other devices send. `removeDevice` unlinks it and it receives nothing more.
Devices report `lastSeenTimestamp` as Signal's server does, to the day (UTC midnight).

Leaving. `unregister` ends the account on the network: from the phone (device 1) the number is
no longer registered, so others' sends to it fail as UNREGISTERED_FAILURE; from a linked device
only that device goes. With `deleteAccount` the number is no Signal user at all any more: its
devices, username and registration lock go too. Either way the account leaves this daemon
(`listAccounts`) and keeps its local data, dormant, until `deleteLocalAccountData` removes it
(which refuses while the account is registered, unless told to ignore that).
"""

from __future__ import annotations

import json
from typing import Any

from .store import Store, now_ms

DAY_MS = 24 * 60 * 60 * 1000
MAX_DEVICES = 6  # Signal's limit: the phone and five linked devices

# Tables holding an account's local data (what signal-cli keeps in its data dir) by number.
_LOCAL_DATA = (
    ("queue", "number"),
    ("blocked", "account"),
    ("group_views", "account"),
    ("known_usernames", "account"),
    ("sticker_views", "number"),
)


def today_ms() -> int:
    """Midnight (UTC) of today in ms: the granularity of Signal's last-seen times."""
    now = now_ms()
    return now - now % DAY_MS


class Devices:
    """The devices part of Network (which provides `store` and the local account lookups)."""

    store: Store

    def local_device(self, number: str) -> int | None:
        raise NotImplementedError

    def devices(self, number: str) -> list[dict[str, Any]]:
        """signal-cli's listDevices entries for `number`."""
        rows = self.store.all("SELECT * FROM devices WHERE number = ? ORDER BY device_id", number)
        seen = today_ms()
        return [
            {
                "id": int(r["device_id"]),
                "name": r["name"],
                "createdTimestamp": int(r["created"]),
                "lastSeenTimestamp": seen,
            }
            for r in rows
        ]

    def outside_devices(self, number: str) -> list[int]:
        """The linked devices (not the phone) of `number` that are not this daemon's."""
        local = self.local_device(number)
        rows = self.store.all(
            "SELECT device_id FROM devices WHERE number = ? AND device_id > 1 ORDER BY device_id",
            number,
        )
        return [int(r["device_id"]) for r in rows if int(r["device_id"]) != local]

    # new devices waiting to be linked (sandbox.newDevice), by the uuid of their link URI
    def offer_device(self, identifier: str, name: str | None) -> None:
        self.store.run(
            "INSERT OR REPLACE INTO device_offers (uuid, name) VALUES (?, ?)", identifier, name
        )

    def link_offered_device(self, number: str, identifier: str) -> int | None:
        """Link the new device showing `identifier` to `number`; None when none waits."""
        with self.store.transaction():
            offer = self.store.one("SELECT name FROM device_offers WHERE uuid = ?", identifier)
            if offer is None:
                return None
            self.store.run("DELETE FROM device_offers WHERE uuid = ?", identifier)
            top = self.store.one(
                "SELECT MAX(device_id) AS top FROM devices WHERE number = ?", number
            )
            device = max(2, int(top["top"] or 1) + 1) if top is not None else 2
            self.store.run(
                "INSERT INTO devices (number, device_id, name, created) VALUES (?, ?, ?, ?)",
                number,
                device,
                offer["name"],
                now_ms(),
            )
        return device

    def device_count(self, number: str) -> int:
        row = self.store.one("SELECT COUNT(*) AS n FROM devices WHERE number = ?", number)
        return 0 if row is None else int(row["n"])

    def remove_device(self, number: str, device: int) -> None:
        self.store.run("DELETE FROM devices WHERE number = ? AND device_id = ?", number, device)

    # what outside linked devices receive
    def to_outside_devices(
        self, number: str, envelope: dict[str, Any], *, skip: int | None = None
    ) -> None:
        for device in self.outside_devices(number):
            if device == skip:
                continue
            copy = dict(envelope)
            copy["serverDeliveredTimestamp"] = max(now_ms(), copy["serverReceivedTimestamp"])
            self.store.run(
                "INSERT INTO device_inbox (number, device_id, message) VALUES (?, ?, ?)",
                number,
                device,
                json.dumps({"envelope": copy, "account": number}),
            )

    def device_received(self, number: str, device: int) -> list[dict[str, Any]]:
        rows = self.store.all(
            "SELECT message FROM device_inbox WHERE number = ? AND device_id = ? ORDER BY seq",
            number,
            device,
        )
        return [json.loads(r["message"]) for r in rows]

    # leaving this daemon
    def unregister(self, number: str, device: int, *, delete_account: bool) -> None:
        """The local account `number` (on `device`) unregisters; see the module docstring."""
        with self.store.transaction():
            self._go_dormant(number)
            if delete_account:
                self.store.run("DELETE FROM devices WHERE number = ?", number)
                self.store.run("DELETE FROM usernames WHERE number = ?", number)
                self.store.run(
                    "UPDATE numbers SET registered = 0, pin = NULL WHERE number = ?", number
                )
            elif device == 1:
                self.store.run("UPDATE numbers SET registered = 0 WHERE number = ?", number)
            else:
                self.remove_device(number, device)

    def _go_dormant(self, number: str) -> None:
        self.store.run(
            "INSERT OR REPLACE INTO dormant_accounts (number, device_id, created) "
            "SELECT number, device_id, created FROM accounts WHERE number = ?",
            number,
        )
        self.store.run("DELETE FROM accounts WHERE number = ?", number)
        self.store.run("DELETE FROM queue WHERE number = ?", number)

    def delete_local_data(self, number: str) -> None:
        """Forget everything this daemon keeps for `number` (not what the network knows)."""
        with self.store.transaction():
            self.store.run("DELETE FROM accounts WHERE number = ?", number)
            self.store.run("DELETE FROM dormant_accounts WHERE number = ?", number)
            for table, column in _LOCAL_DATA:
                self.store.run(f"DELETE FROM {table} WHERE {column} = ?", number)

    def wake(self, number: str) -> None:
        """A registered-again account is no longer dormant."""
        self.store.run("DELETE FROM dormant_accounts WHERE number = ?", number)
