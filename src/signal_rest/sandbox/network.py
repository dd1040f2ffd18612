"""The simulated Signal network: who exists, who is local, and how envelopes travel.

Local accounts are the accounts of this daemon (what `listAccounts` shows); every other valid
E.164 number is an outside Signal user whose phone keeps everything it receives. Envelopes to a
local account wait in its queue until a client takes them (see daemon.py); envelopes to an
outside user land in its inbox, which the control method `sandbox.listReceived` reads.
"""

from __future__ import annotations

import re
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .attachments import referenced_ids
from .store import Store

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
DELIVERABLE = ("dataMessage", "editMessage")


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
        # What senders uploaded (Signal's CDN), and what this daemon's accounts downloaded from
        # it on receiving, under the same id (signal-cli's attachments folder).
        self.uploads_dir = data_dir / "uploads"
        self.attachments_dir = data_dir / "attachments"
        for folder in (self.uploads_dir, self.attachments_dir):
            folder.mkdir(parents=True, exist_ok=True)
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

    def profile_avatar(self, number: str) -> bytes | None:
        """The avatar `number`'s profile shows, None without one (profiles do not keep avatars
        yet)."""
        return None

    def address(self, number: str) -> dict[str, Any]:
        return {"uuid": self.uuid_of(number), "number": number, "username": None}

    # local accounts
    def local_accounts(self) -> list[str]:
        return [
            str(r["number"]) for r in self.store.all("SELECT number FROM accounts ORDER BY rowid")
        ]

    def is_local(self, number: str) -> bool:
        return self.store.one("SELECT 1 FROM accounts WHERE number = ?", number) is not None

    def sender(self, number: str) -> Sender:
        row = self.store.one("SELECT device_id FROM accounts WHERE number = ?", number)
        return Sender(number, self.uuid_of(number), 1 if row is None else int(row["device_id"]))

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
            "sourceName": None,
            "sourceDevice": sender.device,
            "timestamp": timestamp,
            "serverReceivedTimestamp": now_ms(),
            "serverDeliveredTimestamp": 0,
            **content,
        }

    def deliver(self, recipient: str, envelope: dict[str, Any]) -> None:
        """Hand an envelope to the recipient's device: queue (local) or phone inbox (outside)."""
        message = {"envelope": envelope, "account": recipient}
        if self.is_local(recipient):
            if self._blocks(recipient, envelope):
                return  # signal-cli drops what blocked contacts and groups send
            self.store.enqueue(recipient, message)
            self.on_queued(recipient)
            return
        envelope["serverDeliveredTimestamp"] = now_ms()
        self.store.add_received(recipient, message)
        # A phone acknowledges what it receives; local senders see the delivery receipt.
        if any(key in envelope for key in DELIVERABLE) and self.is_local(envelope["sourceNumber"]):
            self.send_delivery_receipt(recipient, envelope)

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

    def download_attachments(self, message: dict[str, Any]) -> None:
        """What signal-cli does as it receives `message`: fetch every attachment it refers to
        into the attachments folder, before any client sees the message."""
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
