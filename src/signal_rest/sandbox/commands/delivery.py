"""The send engine shared by send, sendReaction, sendTyping, remoteDelete and group updates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import groups, identities, restrictions, usernames
from ..errors import RATE_LIMIT_ERROR, RpcError, user_error
from ..network import Network, Sender
from ..params import Params
from ..recipients import group_id, resolve

# content(group or None) → the envelope keys (dataMessage, typingMessage, …) for that target
ContentFor = Callable[[dict[str, Any] | None], dict[str, Any]]


class Targets:
    """Who a send-like command addresses: individual numbers, usernames, groups."""

    def __init__(
        self,
        numbers: list[str],
        usernames: list[str],
        group_ids: list[str],
        *,
        notify_self: bool = False,
    ) -> None:
        self.numbers = numbers
        self.usernames = usernames
        self.group_ids = group_ids
        self.notify_self = notify_self

    @classmethod
    def parse(
        cls,
        network: Network,
        me: str,
        p: Params,
        *,
        note_to_self: bool = True,
        notify_self: bool = False,
        usernames: bool = True,
    ) -> Targets:
        """The command's recipient params; the flags say which of `noteToSelf`, `notifySelf`
        and `username` the command reads (in 0.13.19 only `send` has notifySelf, and
        sendTyping has neither noteToSelf nor username)."""
        numbers: list[str] = []
        named: list[str] = []
        for value in p.items("recipient"):
            if value.strip().startswith("u:"):
                named.append(value.strip()[2:])
                continue
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
        names = list(dict.fromkeys(named + (p.items("username") if usernames else [])))
        notify = notify_self and p.flag("notifySelf")
        targets = cls(numbers, names, ids, notify_self=notify)
        if not (numbers or names or ids):
            raise user_error("No recipients given")
        return targets

    def single(self) -> str | None:
        """The one individual recipient (as a recipient string), when there is exactly one."""
        if self.group_ids or len(self.numbers) + len(self.usernames) != 1:
            return None
        return self.numbers[0] if self.numbers else "u:" + self.usernames[0]


def sendable_group(network: Network, me: str, gid: str) -> dict[str, Any]:
    group = groups.load(network, gid)
    if me not in group["members"]:
        raise groups.not_member(group)
    if group["permissionSendMessage"] == "ONLY_ADMINS" and me not in group["admins"]:
        raise user_error(f"User is not allowed to send message to group: {groups.title(group)}")
    return group


def _result(network: Network, number: str, gid: str | None, viewer: str) -> dict[str, Any]:
    if network.is_registered(number):
        entry: dict[str, Any] = {"recipientAddress": network.address(number, viewer)}
        kind = "SUCCESS" if identities.trusts(network, viewer, number) else "IDENTITY_FAILURE"
    else:
        entry = {"recipientAddress": {"uuid": None, "number": number, "username": None}}
        kind = "UNREGISTERED_FAILURE"
    if gid is not None:
        entry["groupId"] = gid
    entry["type"] = kind
    return entry


def _username_result(network: Network, me: str, name: str) -> tuple[str | None, dict[str, Any]]:
    """Resolve a username recipient like signal-cli: any failed lookup is unregistered; the ACI
    is all a username lookup tells, so the address carries no number."""
    number = network.number_of_username(name)
    if number is None:
        address = {"uuid": None, "number": None, "username": name}
        return None, {"recipientAddress": address, "type": "UNREGISTERED_FAILURE"}
    if usernames.link_key(name) is not None:
        name = network.username_of(number) or name  # a link reveals the username behind it
    network.learn_username(me, number, name)
    address = {"uuid": network.uuid_of(number), "number": None, "username": name}
    if not identities.trusts(network, me, number):
        return None, {"recipientAddress": address, "type": "IDENTITY_FAILURE"}
    return number, {"recipientAddress": address, "type": "SUCCESS"}


def _transcript(
    network: Network, destination: dict[str, Any] | None, body: dict[str, Any]
) -> dict[str, Any] | None:
    """The syncMessage.sentMessage the sender's other devices get for a data message."""
    if "dataMessage" not in body and "editMessage" not in body:
        return None  # typing, receipts: no transcript
    number = None if destination is None else destination["number"]
    uuid = None if destination is None else destination["uuid"]
    sent: dict[str, Any] = {
        "destination": number or uuid,
        "destinationNumber": number,
        "destinationUuid": uuid,
    }
    if "editMessage" in body:
        sent["editMessage"] = body["editMessage"]
    else:
        sent.update(body["dataMessage"])
    return {"syncMessage": {"sentMessage": sent}}


def _sync(
    network: Network,
    sender: Sender,
    timestamp: int,
    destination: dict[str, Any] | None,
    body: dict[str, Any],
) -> None:
    transcript = _transcript(network, destination, body)
    if transcript is not None:
        network.deliver_to_own_devices(sender, network.envelope(sender, timestamp, transcript))


def send(
    network: Network,
    sender: Sender,
    targets: Targets,
    timestamp: int,
    content: ContentFor,
    *,
    check: bool = True,
) -> dict[str, Any]:
    """Deliver to every target and return signal-cli's SendResult (or raise its error).

    The sender's other devices hear of each data message: a sentMessage transcript per
    recipient, or the message itself when it goes to the own number with `notifySelf`.
    """
    me = sender.number
    group_list = [sendable_group(network, me, gid) for gid in targets.group_ids]
    limit = restrictions.rate_limit(network, me)
    results: list[dict[str, Any]] = []
    with network.store.transaction():
        for number in targets.numbers:
            entry = _limited(_result(network, number, None, me), limit, number != me)
            results.append(entry)
            if number == me:
                _to_self(network, sender, timestamp, content(None), targets.notify_self)
            elif entry["type"] == "SUCCESS":
                body = _to_contact(network, me, number, content(None))
                network.deliver(number, network.envelope(sender, timestamp, body))
                _sync(network, sender, timestamp, entry["recipientAddress"], body)
        for name in targets.usernames:
            found, entry = _username_result(network, me, name)
            entry = _limited(entry, limit, found != me)
            results.append(entry)
            if found == me:
                _to_self(network, sender, timestamp, content(None), targets.notify_self)
            elif found is not None and entry["type"] == "SUCCESS":
                body = _to_contact(network, me, found, content(None))
                network.deliver(found, network.envelope(sender, timestamp, body))
                _sync(network, sender, timestamp, entry["recipientAddress"], body)
        for group in group_list:
            for number in group["members"]:
                if number == me:
                    continue
                entry = _limited(_result(network, number, group["id"], me), limit)
                if entry["type"] == "SUCCESS":
                    network.deliver(number, network.envelope(sender, timestamp, content(group)))
                results.append(entry)
            if targets.notify_self:
                envelope = network.envelope(sender, timestamp, content(group))
                network.deliver_to_own_devices(sender, envelope)
            else:
                _sync(network, sender, timestamp, None, content(group))
    outcome = {"timestamp": timestamp, "results": results}
    if check:
        check_outcome(outcome)
    return outcome


def check_outcome(outcome: dict[str, Any]) -> None:
    """signal-cli's error for a send that reached no one. Raise it outside the send's
    transaction: what the send learned (an untrusted identity) stays."""
    results = outcome["results"]
    if results and not any(r["type"] == "SUCCESS" for r in results):
        if all(r["type"] == "IDENTITY_FAILURE" for r in results):
            raise identities.untrusted_error(outcome)
        if all(r["type"] == "RATE_LIMIT_FAILURE" for r in results):
            message = "Failed to send message due to rate limiting"
            raise RpcError(RATE_LIMIT_ERROR, message, {"response": outcome})
        raise user_error("Failed to send message", {"response": outcome})


def _to_contact(network: Network, me: str, number: str, body: dict[str, Any]) -> dict[str, Any]:
    """A 1:1 message: `me` shares its profile with `number`, and a data message carries the
    disappearing-message timer `me` keeps for them."""
    data = body.get("dataMessage") or (body.get("editMessage") or {}).get("dataMessage")
    network.meet(me, number, sharing=data is not None)
    if data is not None:
        data["expiresInSeconds"] = network.expiration(me, number)
    return body


def _limited(
    entry: dict[str, Any], limit: restrictions.RateLimit | None, applies: bool = True
) -> dict[str, Any]:
    """A rate-limited sender reaches no one (but its own devices): each recipient that would
    have got the message fails with the challenge token instead."""
    if limit is None or not applies or entry["type"] != "SUCCESS":
        return entry
    return {**{k: v for k, v in entry.items() if k != "type"}, **limit.failure()}


def _to_self(
    network: Network, sender: Sender, timestamp: int, body: dict[str, Any], notify: bool
) -> None:
    """Note to self: the other devices get a transcript, or with notifySelf the message."""
    if notify:
        network.deliver_to_own_devices(sender, network.envelope(sender, timestamp, body))
    else:
        _sync(network, sender, timestamp, network.address(sender.number), body)


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
            entry = _result(network, number, group["id"], sender.number)
            if entry["type"] == "SUCCESS":
                envelope = network.envelope(sender, timestamp, {"dataMessage": dict(message)})
                network.deliver(number, envelope)
            results.append(entry)
    return {"timestamp": timestamp, "results": results}
