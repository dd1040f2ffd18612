"""sendPinMessage and sendUnpinMessage: signal-cli 0.14's pin commands.

As in signal-cli, `targetAuthor` may be left out when the only recipient is one person (then the
message pinned is theirs), and over JSON-RPC `pinDuration` must be given: argparse's default of
-1 (forever) is not applied, so a missing one is unboxed as null.
"""

from __future__ import annotations

from typing import Any

from ..context import Context
from ..params import Params
from ..recipients import resolve
from .delivery import Targets
from .polls import author_fields, data_send, missing_int, missing_long, npe


def _target(ctx: Context, p: Params, targets: Targets) -> dict[str, Any]:
    author_text = p.text("targetAuthor")
    if author_text is None:
        author_text = targets.single()
        if author_text is None and len(targets.usernames) == 1 and not targets.group_ids:
            author_text = "u:" + targets.usernames[0]
    if author_text is None:
        raise npe("String.length()")
    return author_fields(ctx, resolve(ctx.network, author_text), "targetAuthor")


async def send_pin_message(ctx: Context, raw: dict[str, Any]) -> Any:
    p = Params(raw)
    targets = Targets.parse(ctx.network, ctx.me, p)
    duration = p.integer("pinDuration")
    target_ts = p.long("targetTimestamp")
    author = _target(ctx, p, targets)
    # Java unboxes the arguments of sendPinMessage left to right.
    if duration is None:
        raise missing_int()
    if target_ts is None:
        raise missing_long()
    pin = {**author, "targetSentTimestamp": target_ts, "pinDurationSeconds": duration}
    timestamp = ctx.network.next_timestamp()
    return data_send(ctx, targets, timestamp, after_group={"pinMessage": pin})


async def send_unpin_message(ctx: Context, raw: dict[str, Any]) -> Any:
    p = Params(raw)
    targets = Targets.parse(ctx.network, ctx.me, p)
    target_ts = p.long("targetTimestamp")
    author = _target(ctx, p, targets)
    if target_ts is None:
        raise missing_long()
    unpin = {**author, "targetSentTimestamp": target_ts}
    timestamp = ctx.network.next_timestamp()
    return data_send(ctx, targets, timestamp, after_group={"unpinMessage": unpin})
