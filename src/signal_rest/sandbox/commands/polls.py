"""sendPollCreate, sendPollVote, sendPollTerminate: signal-cli 0.14's poll commands.

signal-cli 0.13.19 (the offline oracle) answers "Method not implemented" for these; what the
sandbox does follows 0.14's SendPoll*Command sources: the command checks the option count itself,
everything else it leaves to Java (a missing `voteCount` or `pollTimestamp` is a
NullPointerException when it is unboxed). Nobody checks a vote against the poll: signal-cli does
not know the polls of others, and receiving apps ignore a vote whose `voteCount` is not higher
than the voter's previous one.
"""

from __future__ import annotations

from typing import Any

from .. import content, groups
from ..context import Context
from ..errors import INTERNAL_ERROR, RpcError, class_cast, user_error
from ..params import Params
from ..recipients import resolve
from .delivery import Targets, send

MAX_OPTIONS = 10


def npe(what: str) -> RpcError:
    """The -32603 signal-cli answers when a missing param is dereferenced (as sendReaction)."""
    return RpcError(
        INTERNAL_ERROR, f'Cannot invoke "{what}" because value is null (NullPointerException)'
    )


def missing_long() -> RpcError:
    return npe("java.lang.Long.longValue()")


def missing_int() -> RpcError:
    return npe("java.lang.Integer.intValue()")


def data_send(
    ctx: Context,
    targets: Targets,
    timestamp: int,
    *,
    before_group: dict[str, Any] | None = None,
    after_group: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Send a dataMessage whose own part sits before or after `groupInfo`, in the key order of
    signal-cli's JsonDataMessage (polls come before it, pins after it)."""

    def message(group: dict[str, Any] | None) -> dict[str, Any]:
        body = content.data_message(timestamp, **(before_group or {}))
        if group is not None:
            body["expiresInSeconds"] = group["expiration"]
            body["groupInfo"] = groups.info(group, "DELIVER")
        body.update(after_group or {})
        return {"dataMessage": body}

    return send(ctx.network, ctx.sender, targets, timestamp, message)


def author_fields(ctx: Context, number: str, prefix: str) -> dict[str, Any]:
    """`<prefix>` (deprecated), `<prefix>Number`, `<prefix>Uuid` of a message author."""
    return {
        prefix: number,
        f"{prefix}Number": number,
        f"{prefix}Uuid": ctx.network.uuid_of(number),
    }


async def send_poll_create(ctx: Context, raw: dict[str, Any]) -> Any:
    p = Params(raw)
    targets = Targets.parse(ctx.network, ctx.me, p)
    question = p.text("question")
    if not p.has("option") and not p.has("options"):
        raise RpcError(
            INTERNAL_ERROR,
            'Cannot invoke "java.util.List.size()" because "options" is null '
            "(NullPointerException)",
        )
    options = p.items("option")
    if len(options) < 2:
        raise user_error("Poll needs at least two options")
    if len(options) > MAX_OPTIONS:
        raise user_error(f"Poll cannot have more than {MAX_OPTIONS} options")
    if question is None:
        raise npe("String.length()")
    timestamp = ctx.network.next_timestamp()
    poll = {"question": question, "allowMultiple": not p.flag("noMulti"), "options": options}
    return data_send(ctx, targets, timestamp, before_group={"pollCreate": poll})


def _option_indexes(p: Params) -> list[int]:
    indexes = []
    for value in p.raw_items("option"):
        if isinstance(value, bool) or not isinstance(value, int) or not -(2**31) <= value < 2**31:
            raise class_cast(value, "java.lang.Integer")
        indexes.append(value)
    return indexes


async def send_poll_vote(ctx: Context, raw: dict[str, Any]) -> Any:
    p = Params(raw)
    targets = Targets.parse(ctx.network, ctx.me, p)
    poll_ts = p.long("pollTimestamp")
    author_text = p.text("pollAuthor")
    if author_text is None:
        raise npe("String.length()")
    author = resolve(ctx.network, author_text)
    indexes = _option_indexes(p)
    vote_count = p.integer("voteCount")
    # Java unboxes the arguments of sendPollVoteMessage left to right.
    if poll_ts is None:
        raise missing_long()
    if vote_count is None:
        raise missing_int()
    timestamp = ctx.network.next_timestamp()
    vote = {
        **author_fields(ctx, author, "author"),
        "targetSentTimestamp": poll_ts,
        "optionIndexes": indexes,
        "voteCount": vote_count,
    }
    return data_send(ctx, targets, timestamp, before_group={"pollVote": vote})


async def send_poll_terminate(ctx: Context, raw: dict[str, Any]) -> Any:
    p = Params(raw)
    targets = Targets.parse(ctx.network, ctx.me, p)
    poll_ts = p.long("pollTimestamp")
    if poll_ts is None:
        raise missing_long()
    timestamp = ctx.network.next_timestamp()
    terminate = {"targetSentTimestamp": poll_ts}
    return data_send(ctx, targets, timestamp, before_group={"pollTerminate": terminate})
