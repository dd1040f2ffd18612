"""send, sendReaction, sendTyping, sendReceipt, remoteDelete, getAttachment."""

from __future__ import annotations

import base64
from typing import Any

from .. import content, groups, stickers
from ..context import Context
from ..errors import INTERNAL_ERROR, RpcError, user_error
from ..network import Network
from ..params import Params
from ..recipients import resolve
from .delivery import Targets, check_outcome, send, sendable_group


def _with_group(message: dict[str, Any], group: dict[str, Any] | None) -> dict[str, Any]:
    out = dict(message)
    if group is not None:
        out["expiresInSeconds"] = group["expiration"]
        out["groupInfo"] = groups.info(group, "DELIVER")
    return out


def send_as(
    network: Network, me: str, raw: dict[str, Any], device: int | None = None
) -> dict[str, Any]:
    """`send` on behalf of `me` (a local account, or an outside user for sandbox.send) from
    `device` (default: the local device if `me` is local, else its phone)."""
    p = Params(raw)
    targets = Targets.parse(network, me, p, notify_self=True)
    if p.flag("endSession"):
        # End-session only resets 1:1 sessions; signal-cli prints nothing for it.
        return {}
    checked = content.validate(network, p)
    for gid in targets.group_ids:
        groups.load(network, gid)
    sticker = p.text("sticker")
    if sticker is not None:
        stickers.check_sendable(network, me, sticker)
    edit = p.long("editTimestamp")
    # One transaction (one commit) for the timestamp and every delivery of the send.
    with network.store.transaction():
        timestamp = network.next_timestamp()
        message = content.build(network, p, checked, timestamp)

        def envelope_content(group: dict[str, Any] | None) -> dict[str, Any]:
            body = _with_group(message, group)
            if edit is not None:
                return {"editMessage": {"targetSentTimestamp": edit, "dataMessage": body}}
            return {"dataMessage": body}

        sender = network.sender(me, device)
        outcome = send(network, sender, targets, timestamp, envelope_content, check=False)
    check_outcome(outcome)
    if sticker is not None:
        stickers.learn_from(network, message["sticker"]["packId"], outcome["results"])
    return outcome


async def send_command(ctx: Context, raw: dict[str, Any]) -> Any:
    return send_as(ctx.network, ctx.me, raw, ctx.device)


def _send_data(
    ctx: Context, targets: Targets, timestamp: int, message: dict[str, Any]
) -> dict[str, Any]:
    """Send a data message (reaction, remote delete, ...) with the group info of each target."""
    return send(
        ctx.network,
        ctx.sender,
        targets,
        timestamp,
        lambda group: {"dataMessage": _with_group(message, group)},
    )


def _npe(what: str) -> RpcError:
    return RpcError(
        INTERNAL_ERROR, f'Cannot invoke "{what}" because value is null (NullPointerException)'
    )


async def send_reaction(ctx: Context, raw: dict[str, Any]) -> Any:
    network, p = ctx.network, Params(raw)
    targets = Targets.parse(network, ctx.me, p)
    emoji = p.text("emoji")
    target_ts = p.long("targetTimestamp")
    if emoji is None:
        raise _npe("String.length()")
    if target_ts is None:
        raise _npe("java.lang.Long.longValue()")
    author_text = p.text("targetAuthor") or targets.single()
    if author_text is None:
        raise _npe("String.length()")
    author = resolve(network, author_text)
    timestamp = network.next_timestamp()
    reaction = {
        "emoji": emoji,
        "targetAuthor": author,
        "targetAuthorNumber": author,
        "targetAuthorUuid": network.uuid_of(author),
        "targetSentTimestamp": target_ts,
        "isRemove": p.flag("remove"),
    }
    message = content.data_message(timestamp, reaction=reaction)
    return _send_data(ctx, targets, timestamp, message)


async def remote_delete(ctx: Context, raw: dict[str, Any]) -> Any:
    network, p = ctx.network, Params(raw)
    targets = Targets.parse(network, ctx.me, p)
    target_ts = p.long("targetTimestamp")
    if target_ts is None:
        raise _npe("java.lang.Long.longValue()")
    timestamp = network.next_timestamp()
    message = content.data_message(timestamp, remoteDelete={"timestamp": target_ts})
    return _send_data(ctx, targets, timestamp, message)


async def send_typing(ctx: Context, raw: dict[str, Any]) -> Any:
    network, p = ctx.network, Params(raw)
    targets = Targets.parse(network, ctx.me, p, note_to_self=False, usernames=False)
    action = "STOPPED" if p.flag("stop") else "STARTED"
    try:
        for gid in targets.group_ids:
            sendable_group(network, ctx.me, gid)
    except RpcError as exc:
        # sendTyping words group problems its own way, unlike the other send commands.
        raise user_error(f"Failed to send to group: {exc.message}") from None
    timestamp = network.next_timestamp()

    def typing(group: dict[str, Any] | None) -> dict[str, Any]:
        message: dict[str, Any] = {"action": action, "timestamp": timestamp}
        if group is not None:
            message["groupId"] = group["id"]
        return {"typingMessage": message}

    return send(network, ctx.sender, targets, timestamp, typing)


async def send_receipt(ctx: Context, raw: dict[str, Any]) -> Any:
    network, p = ctx.network, Params(raw)
    recipient_text = p.text("recipient")
    if recipient_text is None:
        raise _npe("String.length()")
    recipient = resolve(network, recipient_text)
    stamps = []
    for value in p.raw_items("targetTimestamp"):
        if isinstance(value, bool) or not isinstance(value, int) or -(2**31) <= value < 2**31:
            raise RpcError(
                INTERNAL_ERROR,
                "class java.lang.Integer cannot be cast to class java.lang.Long (java.lang.Integer "
                "and java.lang.Long are in module java.base of loader 'bootstrap') "
                "(ClassCastException)",
            )
        stamps.append(value)
    kind = p.text("type")
    if kind is None:
        kind = "read"
    if kind not in ("read", "viewed"):
        raise user_error(f"Unknown receipt type: {kind}")
    timestamp = network.next_timestamp()
    receipt = {
        "when": timestamp,
        "isDelivery": False,
        "isRead": kind == "read",
        "isViewed": kind == "viewed",
        "timestamps": stamps,
    }
    targets = Targets([recipient], [], [])
    return send(
        network,
        ctx.sender,
        targets,
        timestamp,
        lambda group: {"receiptMessage": receipt},
    )


async def get_attachment(ctx: Context, raw: dict[str, Any]) -> Any:
    attachment_id = Params(raw).text("id")
    if attachment_id is None:
        # signal-cli 0.13.19 builds `new File(attachmentsPath, id)`, which throws a bare NPE.
        raise RpcError(INTERNAL_ERROR, "null (NullPointerException)")
    path = ctx.network.attachments_dir / attachment_id
    if "/" in attachment_id or attachment_id in (".", "..") or not path.is_file():
        raise user_error(f"Could not find attachment with ID: {attachment_id}")
    return {"data": base64.b64encode(path.read_bytes()).decode()}
