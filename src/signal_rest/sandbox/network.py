"""The simulated Signal network: who exists, who is local, and how envelopes travel.

Local accounts are the accounts of this daemon (what `listAccounts` shows); every other valid
E.164 number is an outside Signal user whose phone keeps everything it receives. Envelopes to a
local account wait in its queue until a client takes them (see daemon.py); envelopes to an
outside user land in its inbox, which the control method `sandbox.listReceived` reads.

Devices. A number has one phone (device 1). A local account registered here *is* that phone.
A local account linked here (device 2, 3, …) has its phone outside: the phone's inbox is
`sandbox.listReceived` of the account's own number, and `sandbox.send`/`sandbox.act` from that
number act as the phone. Every device of a number receives what is sent to the number, and
when one device sends a data message the number's other devices get a
`syncMessage.sentMessage` transcript (per recipient; `destination` null for groups) with
source = the own number and `sourceDevice` = the sending device. A note to self (the own
number as recipient, or `noteToSelf`) gives a transcript with destination = the own number;
with `notifySelf` the other devices get the message itself instead, as they do for a group
message sent with `notifySelf`. Only the device the sender addressed sends receipts back.

People. A user may hold a username (`nick.42`; see usernames.py) and publish a profile. An
envelope's `sourceName` is the sender's profile name (given + " " + family) once it has a
profile, else null, as signal-cli shows it once it knows the profile. A send result shows a
username in `recipientAddress` only when the sender looked that user up by username (or it is
its own); a user reached by username shows no number, as a username lookup yields only an ACI.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import usernames
from .store import Store

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
DELIVERABLE = ("dataMessage", "editMessage")
PHONE = 1  # the device id of a number's primary device
PROFILE_COLUMNS = ("given_name", "family_name", "about", "about_emoji", "avatar")


@dataclass(frozen=True)
class Sender:
    number: str
    uuid: str
    device: int


@dataclass(frozen=True)
class Settings:
    number: str
    registered: bool
    requires_captcha: bool
    registration_lock_pin: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "registered": self.registered,
            "requiresCaptcha": self.requires_captcha,
            "registrationLockPin": self.registration_lock_pin,
        }


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Network:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.attachments_dir = data_dir / "attachments"
        self.attachments_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(data_dir / "sandbox.sqlite3")
        # The daemon listens here: on_queued(account) after an envelope was queued for a local
        # account, on_account(number) after an account became local.
        self.on_queued: Callable[[str], None] = lambda account: None
        self.on_account: Callable[[str], None] = lambda account: None

    def close(self) -> None:
        self.store.close()

    # time
    def next_timestamp(self) -> int:
        """A real ms timestamp, strictly increasing network-wide: no two messages share one."""
        with self.store.transaction():
            last = int(self.store.meta("last_timestamp") or 0)
            stamp = max(now_ms(), last + 1)
            self.store.set_meta("last_timestamp", str(stamp))
        return stamp

    # numbers
    def uuid_of(self, number: str) -> str:
        row = self.store.one("SELECT uuid FROM numbers WHERE number = ?", number)
        if row is not None:
            return str(row["uuid"])
        aci = str(uuid.uuid4())
        self.store.run("INSERT INTO numbers (number, uuid) VALUES (?, ?)", number, aci)
        return aci

    def number_of_uuid(self, aci: str) -> str | None:
        row = self.store.one("SELECT number FROM numbers WHERE uuid = ?", aci.lower())
        return None if row is None else str(row["number"])

    def settings(self, number: str) -> Settings:
        self.uuid_of(number)
        row = self.store.one("SELECT * FROM numbers WHERE number = ?", number)
        assert row is not None
        return Settings(number, bool(row["registered"]), bool(row["requires_captcha"]), row["pin"])

    def update_settings(self, number: str, changes: dict[str, Any]) -> Settings:
        self.uuid_of(number)
        columns = {"registered": "registered", "requiresCaptcha": "requires_captcha"}
        with self.store.transaction():
            for key, column in columns.items():
                if key in changes:
                    self.store.run(
                        f"UPDATE numbers SET {column} = ? WHERE number = ?",
                        int(changes[key]),
                        number,
                    )
            if "registrationLockPin" in changes:
                self.store.run(
                    "UPDATE numbers SET pin = ?, pin_tries = 10 WHERE number = ?",
                    changes["registrationLockPin"],
                    number,
                )
        return self.settings(number)

    def is_registered(self, number: str) -> bool:
        return self.is_local(number) or self.settings(number).registered

    def address(self, number: str, viewer: str | None = None) -> dict[str, Any]:
        """signal-cli's RecipientAddress as `viewer` knows it: a username only when it is the
        viewer's own or one the viewer has looked up."""
        username = None
        if viewer is not None:
            username = self.username_of(number) if viewer == number else self.known(viewer, number)
        return {"uuid": self.uuid_of(number), "number": number, "username": username}

    # usernames (see usernames.py for their rules)
    def username_of(self, number: str) -> str | None:
        row = self.store.one("SELECT username FROM usernames WHERE number = ?", number)
        return None if row is None else str(row["username"])

    def username_link(self, number: str) -> str | None:
        row = self.store.one("SELECT link FROM usernames WHERE number = ?", number)
        return None if row is None else str(row["link"])

    def number_of_username(self, username: str) -> str | None:
        """Who holds a username (any case), or the username link's owner."""
        key = usernames.link_key(username)
        if key is not None:
            row = self.store.one(
                "SELECT number FROM usernames WHERE link = ?", usernames.LINK_BASE + key
            )
        else:
            row = self.store.one("SELECT number FROM usernames WHERE folded = ?", username.lower())
        return None if row is None else str(row["number"])

    def claim_username(self, number: str, candidates: list[str]) -> str | None:
        """Give `number` the first free candidate (a new link with it); None if all are taken."""
        with self.store.transaction():
            for name in candidates:
                holder = self.number_of_username(name)
                if holder is None or holder == number:
                    self.store.run(
                        "INSERT OR REPLACE INTO usernames (number, username, folded, link) "
                        "VALUES (?, ?, ?, ?)",
                        number,
                        name,
                        name.lower(),
                        usernames.new_link(),
                    )
                    return name
        return None

    def delete_username(self, number: str) -> None:
        self.store.run("DELETE FROM usernames WHERE number = ?", number)

    def learn_username(self, viewer: str, number: str, username: str) -> None:
        self.store.run(
            "INSERT OR REPLACE INTO known_usernames (account, number, username) VALUES (?, ?, ?)",
            viewer,
            number,
            username,
        )

    def known(self, viewer: str, number: str) -> str | None:
        row = self.store.one(
            "SELECT username FROM known_usernames WHERE account = ? AND number = ?",
            viewer,
            number,
        )
        return None if row is None else str(row["username"])

    # profiles: what a user publishes about itself; others see it once they know it
    def profile(self, number: str) -> dict[str, Any] | None:
        row = self.store.one("SELECT * FROM profiles WHERE number = ?", number)
        if row is None:
            return None
        return {
            "givenName": row["given_name"],
            "familyName": row["family_name"],
            "about": row["about"],
            "aboutEmoji": row["about_emoji"],
            "hasAvatar": row["avatar"] is not None,
            "lastUpdateTimestamp": int(row["updated"]),
        }

    def update_profile(self, number: str, changes: dict[str, Any]) -> None:
        """Set the given fields (`given_name`, `family_name`, `about`, `about_emoji`, `avatar`
        bytes or None to remove it); fields not named keep their value."""
        with self.store.transaction():
            self.store.run(
                "INSERT OR IGNORE INTO profiles (number, updated) VALUES (?, ?)", number, now_ms()
            )
            for column, value in changes.items():
                assert column in PROFILE_COLUMNS, column
                self.store.run(f"UPDATE profiles SET {column} = ? WHERE number = ?", value, number)
            self.store.run("UPDATE profiles SET updated = ? WHERE number = ?", now_ms(), number)

    def profile_avatar(self, number: str) -> bytes | None:
        row = self.store.one("SELECT avatar FROM profiles WHERE number = ?", number)
        return None if row is None or row["avatar"] is None else bytes(row["avatar"])

    def display_name(self, number: str) -> str | None:
        """signal-cli's Profile.getDisplayName: given and family name joined; None when no
        profile is known at all."""
        profile = self.profile(number)
        if profile is None:
            return None
        given, family = profile["givenName"] or "", profile["familyName"] or ""
        if given and family:
            return f"{given} {family}"
        return given or family

    # local accounts
    def local_accounts(self) -> list[str]:
        return [
            str(r["number"]) for r in self.store.all("SELECT number FROM accounts ORDER BY rowid")
        ]

    def is_local(self, number: str) -> bool:
        return self.store.one("SELECT 1 FROM accounts WHERE number = ?", number) is not None

    def local_device(self, number: str) -> int | None:
        row = self.store.one("SELECT device_id FROM accounts WHERE number = ?", number)
        return None if row is None else int(row["device_id"])

    def sender(self, number: str, device: int | None = None) -> Sender:
        """`number` sending from `device`; by default from this daemon's device when the number
        is local, else from its phone (device 1)."""
        if device is None:
            device = self.local_device(number) or PHONE
        return Sender(number, self.uuid_of(number), device)

    def add_account(self, number: str, device_name: str | None, *, linked: bool) -> None:
        created = now_ms()
        with self.store.transaction():
            self.uuid_of(number)
            self.store.run("UPDATE numbers SET registered = 1 WHERE number = ?", number)
            if linked:
                top = self.store.one(
                    "SELECT MAX(device_id) AS top FROM devices WHERE number = ?", number
                )
                device = max(2, int(top["top"] or 1) + 1) if top is not None else 2
                self.store.run(
                    "INSERT OR IGNORE INTO devices (number, device_id, name, created) "
                    "VALUES (?, 1, NULL, ?)",
                    number,
                    created,
                )
            else:
                device = 1
                self.store.run("DELETE FROM devices WHERE number = ?", number)
            self.store.run(
                "INSERT OR REPLACE INTO devices (number, device_id, name, created) "
                "VALUES (?, ?, ?, ?)",
                number,
                device,
                device_name,
                created,
            )
            self.store.run(
                "INSERT OR REPLACE INTO accounts (number, device_id, created) VALUES (?, ?, ?)",
                number,
                device,
                created,
            )
        self.on_account(number)

    def devices(self, number: str) -> list[dict[str, Any]]:
        rows = self.store.all("SELECT * FROM devices WHERE number = ? ORDER BY device_id", number)
        seen = now_ms()
        return [
            {
                "id": int(r["device_id"]),
                "name": r["name"],
                "createdTimestamp": int(r["created"]),
                "lastSeenTimestamp": seen,
            }
            for r in rows
        ]

    # envelopes
    def envelope(self, sender: Sender, timestamp: int, content: dict[str, Any]) -> dict[str, Any]:
        return {
            "source": sender.number,
            "sourceNumber": sender.number,
            "sourceUuid": sender.uuid,
            "sourceName": self.display_name(sender.number),
            "sourceDevice": sender.device,
            "timestamp": timestamp,
            "serverReceivedTimestamp": now_ms(),
            "serverDeliveredTimestamp": 0,
            **content,
        }

    def deliver(self, recipient: str, envelope: dict[str, Any]) -> None:
        """Hand an envelope to the recipient's device: queue (local) or phone inbox (outside)."""
        message = {"envelope": envelope, "account": recipient}
        local = self.local_device(recipient)
        if local is not None:
            if self._blocks(recipient, envelope):
                return  # signal-cli drops what blocked contacts and groups send
            self.store.enqueue(recipient, message)
            self.on_queued(recipient)
            if local != PHONE:
                self._to_phone(recipient, envelope)  # the linked account's phone gets it too
            return
        envelope["serverDeliveredTimestamp"] = now_ms()
        self.store.add_received(recipient, message)
        # A phone acknowledges what it receives; local senders see the delivery receipt.
        if any(key in envelope for key in DELIVERABLE) and self.is_local(envelope["sourceNumber"]):
            self.send_delivery_receipt(recipient, envelope)

    def deliver_to_own_devices(self, sender: Sender, envelope: dict[str, Any]) -> None:
        """Hand an envelope to the sender's other devices: the local account (queue) and, when
        that is a linked device, the number's phone (its inbox). No receipts come back."""
        number = sender.number
        local = self.local_device(number)
        if local is None:
            return  # an outside user's phone is its only device
        if local != sender.device:
            self.store.enqueue(number, {"envelope": envelope, "account": number})
            self.on_queued(number)
        if local != PHONE and sender.device != PHONE:
            self._to_phone(number, envelope)

    def _to_phone(self, number: str, envelope: dict[str, Any]) -> None:
        copy = {**envelope, "serverDeliveredTimestamp": now_ms()}
        self.store.add_received(number, {"envelope": copy, "account": number})

    def _blocks(self, account: str, envelope: dict[str, Any]) -> bool:
        targets = [envelope["sourceNumber"]]
        for key in DELIVERABLE:
            info = (envelope.get(key) or {}).get("groupInfo") or (
                (envelope.get(key) or {}).get("dataMessage") or {}
            ).get("groupInfo")
            if info:
                targets.append(info["groupId"])
        marks = ",".join("?" * len(targets))
        sql = f"SELECT 1 FROM blocked WHERE account = ? AND target IN ({marks})"
        return self.store.one(sql, account, *targets) is not None

    def handed_over(self, account: str, message: dict[str, Any]) -> None:
        """signal-cli sends a delivery receipt for every data message it receives."""
        envelope = message.get("envelope") or {}
        source = envelope.get("sourceNumber")
        if source and source != account and any(key in envelope for key in DELIVERABLE):
            self.send_delivery_receipt(account, envelope)

    def send_delivery_receipt(self, receiver: str, envelope: dict[str, Any]) -> None:
        stamp = self.next_timestamp()
        receipt = {
            "when": stamp,
            "isDelivery": True,
            "isRead": False,
            "isViewed": False,
            "timestamps": [envelope["timestamp"]],
        }
        sender = self.sender(receiver)
        self.deliver(
            envelope["sourceNumber"], self.envelope(sender, stamp, {"receiptMessage": receipt})
        )
