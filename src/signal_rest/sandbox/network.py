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
See people.py for usernames and profiles, contacts.py for what each number knows of others,
devices.py for the devices linked to a local account and for accounts leaving.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import identities
from .attachments import referenced_ids
from .contacts import ContactBook
from .devices import Devices
from .people import People
from .store import Store
from .store import now_ms as now_ms  # re-exported: the daemon stamps deliveries with it

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
DELIVERABLE = ("dataMessage", "editMessage")
# Envelope contents that never carry an attachment.
_NO_ATTACHMENTS = frozenset({"receiptMessage", "typingMessage"})
PHONE = 1  # the device id of a number's primary device


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


def delivered_now(envelope: dict[str, Any]) -> None:
    """Stamp the moment the server hands `envelope` over: never before it received it."""
    envelope["serverDeliveredTimestamp"] = max(now_ms(), envelope["serverReceivedTimestamp"])


def _untrusted(message: dict[str, Any]) -> dict[str, Any]:
    """What signal-cli emits for an envelope from an untrusted key: the sender and the times,
    no content, and the exception."""
    envelope = message["envelope"]
    kept = ("source", "sourceNumber", "sourceUuid", "sourceName", "sourceDevice", "timestamp")
    stamps = ("serverReceivedTimestamp", "serverDeliveredTimestamp")
    return {
        "account": message["account"],
        "exception": {
            "message": f"Untrusted identity: {envelope['sourceUuid']}",
            "type": "UntrustedIdentityException",
        },
        "envelope": {key: envelope[key] for key in kept + stamps},
    }


class Network(People, ContactBook, Devices):
    def __init__(self, data_dir: Path, *, trust_new_identities: str = "on-first-use") -> None:
        self.data_dir = data_dir
        # signal-cli's --trust-new-identities; an account may have its own (identities.py)
        self.trust_new_identities = trust_new_identities
        # What senders uploaded (Signal's CDN), and what this daemon's accounts downloaded from
        # it on receiving, under the same id (signal-cli's attachments folder).
        self.uploads_dir = data_dir / "uploads"
        self.attachments_dir = data_dir / "attachments"
        for folder in (self.uploads_dir, self.attachments_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self.store = Store(data_dir / "sandbox.sqlite3")
        self._last_timestamp: int | None = None  # the last stamp given out (next_timestamp)
        # The daemon listens here: on_queued(account) after an envelope was queued for a local
        # account, on_account(number) after an account became local.
        self.on_queued: Callable[[str], None] = lambda account: None
        self.on_account: Callable[[str], None] = lambda account: None
        # on_account_gone(number) after an account left this daemon (unregistered, deleted).
        self.on_account_gone: Callable[[str], None] = lambda account: None

    def close(self) -> None:
        self.store.close()

    # time
    def next_timestamp(self) -> int:
        """A real ms timestamp, strictly increasing network-wide: no two messages share one."""
        with self.store.transaction():
            if self._last_timestamp is None:
                self._last_timestamp = int(self.store.meta("last_timestamp") or 0)
            stamp = max(now_ms(), self._last_timestamp + 1)
            self.store.set_meta_at_commit("last_timestamp", str(stamp))
        # Kept here too: a rolled-back stamp only makes the next one later, never the same.
        self._last_timestamp = stamp
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
            self.wake(number)
        self.on_account(number)

    # envelopes
    def envelope(self, sender: Sender, timestamp: int, content: dict[str, Any]) -> dict[str, Any]:
        return {
            "source": sender.number,
            "sourceNumber": sender.number,
            "sourceUuid": sender.uuid,
            "sourceName": self.display_name(sender.number),
            "sourceDevice": sender.device,
            "timestamp": timestamp,
            # Message timestamps are unique network-wide, so a burst runs a few ms ahead of the
            # clock; the server never receives a message before it was sent.
            "serverReceivedTimestamp": max(now_ms(), timestamp),
            "serverDeliveredTimestamp": 0,
            **content,
        }

    def deliver(self, recipient: str, envelope: dict[str, Any]) -> None:
        """Hand an envelope to the recipient's device: queue (local) or phone inbox (outside)."""
        envelope = self._as_seen_by(recipient, envelope)
        message = {"envelope": envelope, "account": recipient}
        local = self.local_device(recipient)
        if local is not None:
            if self._blocks(recipient, envelope):
                return  # signal-cli drops what blocked contacts and groups send
            if not identities.trusts(self, recipient, envelope["sourceNumber"]):
                message = _untrusted(message)
            self.store.enqueue(recipient, message)
            self.on_queued(recipient)
            if local != PHONE:
                self._to_phone(recipient, envelope)  # the linked account's phone gets it too
            self.to_outside_devices(recipient, envelope)
            return
        delivered_now(envelope)
        self.store.add_received(recipient, message)
        # A phone acknowledges what it receives; local senders see the delivery receipt.
        if any(key in envelope for key in DELIVERABLE) and self.is_local(envelope["sourceNumber"]):
            self.send_delivery_receipt(recipient, envelope)

    def _as_seen_by(self, recipient: str, envelope: dict[str, Any]) -> dict[str, Any]:
        """The recipient's contact book takes note of the sender: it meets them, names them as
        it knows them, and takes the timer a 1:1 message sets."""
        source = envelope["sourceNumber"]
        if source == recipient:
            return envelope
        self.meet(recipient, source)
        data = envelope.get("dataMessage") or {}
        sets_timer = data.get("isExpirationUpdate") or data.get("message") is not None
        if sets_timer and "groupInfo" not in data:
            self.set_expiration(recipient, source, data["expiresInSeconds"])
        name = self.contact_name(recipient, source)
        return {**envelope, "sourceName": name} if name else envelope

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
        self.to_outside_devices(number, envelope, skip=sender.device)

    def _to_phone(self, number: str, envelope: dict[str, Any]) -> None:
        copy = dict(envelope)
        delivered_now(copy)
        self.store.add_received(number, {"envelope": copy, "account": number})

    def _blocks(self, account: str, envelope: dict[str, Any]) -> bool:
        targets = [envelope["sourceNumber"]]
        for key in DELIVERABLE:
            body = envelope.get(key)
            if body:
                info = body.get("groupInfo") or (body.get("dataMessage") or {}).get("groupInfo")
                if info:
                    targets.append(info["groupId"])
        marks = ",".join("?" * len(targets))
        sql = f"SELECT 1 FROM blocked WHERE account = ? AND target IN ({marks})"
        return self.store.one(sql, account, *targets) is not None

    def download_attachments(self, message: dict[str, Any]) -> None:
        """What signal-cli does as it receives `message`: fetch every attachment it refers to
        into the attachments folder, before any client sees the message. Receipts and typing
        messages carry none (most of what a busy account receives is delivery receipts)."""
        envelope = message.get("envelope")
        if isinstance(envelope, dict) and not envelope.keys().isdisjoint(_NO_ATTACHMENTS):
            return
        for ident in referenced_ids(message):
            target = self.attachments_dir / ident
            source = self.uploads_dir / ident
            if source.is_file() and not target.exists():
                shutil.copyfile(source, target)

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
