"""The send engine shared by send, sendReaction, sendTyping, remoteDelete and group updates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import groups
from ..errors import user_error
from ..network import Network, Sender
from ..params import Params
from ..recipients import group_id, resolve

# content(group or None) → the envelope keys (dataMessage, typingMessage, …) for that target
ContentFor = Callable[[dict[str, Any] | None], dict[str, Any]]


class Targets:
    """Who a send-like command addresses: individual numbers, usernames, groups."""

    def __init__(self, numbers: list[str], usernames: list[str], group_ids: list[str]) -> None:
        self.numbers = numbers
        self.usernames = usernames
        self.group_ids = group_ids

    @classmethod
    def parse(
        cls,
        network: Network,
        me: str,
        p: Params,
        *,
        note_to_self: bool = True,
        usernames: bool = True,
    ) -> Targets:
        """The recipients of a command's params; `note_to_self` and `usernames` say whether the
        command has those params (sendTyping has neither: it ignores them)."""
        numbers: list[str] = []
        for value in p.items("recipient"):
            number = resolve(network, value)
            if number not in numbers:
                numbers.append(number)
        if note_to_self and p.flag("noteToSelf") and me not in numbers:
            numbers.append(me)
        ids = []
        for value in p.items("groupId"):
            gid = group_id(value)
            if gid not in ids:
                ids.append(gid)
        names = list(dict.fromkeys(p.items("username"))) if usernames else []
        targets = cls(numbers, names, ids)
        if not (numbers or names or ids):
            raise user_error("No recipients given")
        return targets

    def single(self) -> str | None:
        return self.numbers[0] if len(self.numbers) == 1 and not self.group_ids else None


def sendable_group(network: Network, me: str, gid: str) -> dict[str, Any]:
    group = groups.load(network, gid)
    if me not in group["members"]:
        raise groups.not_member(group)
    if group["permissionSendMessage"] == "ONLY_ADMINS" and me not in group["admins"]:
        raise user_error(f"User is not allowed to send message to group: {groups.title(group)}")
    return group


def _result(network: Network, number: str, gid: str | None) -> dict[str, Any]:
    if network.is_registered(number):
        entry: dict[str, Any] = {"recipientAddress": network.address(number)}
        kind = "SUCCESS"
    else:
        entry = {"recipientAddress": {"uuid": None, "number": number, "username": None}}
        kind = "UNREGISTERED_FAILURE"
    if gid is not None:
        entry["groupId"] = gid
    entry["type"] = kind
    return entry


def send(
    network: Network,
    sender: Sender,
    targets: Targets,
    timestamp: int,
    content: ContentFor,
    *,
    check: bool = True,
) -> dict[str, Any]:
    """Deliver to every target and return signal-cli's SendResult (or raise its error)."""
    group_list = [sendable_group(network, sender.number, gid) for gid in targets.group_ids]
    results: list[dict[str, Any]] = []
    with network.store.transaction():
        for number in targets.numbers:
            entry = _result(network, number, None)
            if entry["type"] == "SUCCESS" and number != sender.number:
                network.deliver(number, network.envelope(sender, timestamp, content(None)))
            results.append(entry)
        for name in targets.usernames:
            results.append(
                {
                    "recipientAddress": {"uuid": None, "number": None, "username": name},
                    "type": "UNREGISTERED_FAILURE",
                }
            )
        for group in group_list:
            for number in group["members"]:
                if number == sender.number:
                    continue
                entry = _result(network, number, group["id"])
                if entry["type"] == "SUCCESS":
                    network.deliver(number, network.envelope(sender, timestamp, content(group)))
                results.append(entry)
    outcome = {"timestamp": timestamp, "results": results}
    if check and results and not any(r["type"] == "SUCCESS" for r in results):
        raise user_error("Failed to send message", {"response": outcome})
    return outcome


def send_group_update(
    network: Network, sender: Sender, group: dict[str, Any], extra: list[str] | None = None
) -> dict[str, Any]:
    """Tell members, invitees (and removed members) about a group change: a type UPDATE message."""
    network.store.save_group(group["id"], group)
    timestamp = network.next_timestamp()
    recipients = [
        n for n in group["members"] + group["pending"] + (extra or []) if n != sender.number
    ]
    message = {
        "timestamp": timestamp,
        "message": None,
        "expiresInSeconds": group["expiration"],
        "isExpirationUpdate": False,
        "viewOnce": False,
        "groupInfo": groups.info(group, "UPDATE"),
    }
    results = []
    with network.store.transaction():
        network.store.show_group(sender.number, group["id"])
        for number in dict.fromkeys(recipients):
            network.store.show_group(number, group["id"])
            entry = _result(network, number, group["id"])
            if entry["type"] == "SUCCESS":
                envelope = network.envelope(sender, timestamp, {"dataMessage": dict(message)})
                network.deliver(number, envelope)
            results.append(entry)
    return {"timestamp": timestamp, "results": results}
