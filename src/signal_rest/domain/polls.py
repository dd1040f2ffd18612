"""The Go project's rules for poll bodies: string timestamps, 1-based answers, one recipient.

poll_timestamp("1752436809700")   # 1752436809700; "12x" → ValidationError
vote_options([1, 3])              # [0, 2]: signal-cli counts options from 0
poll_target("group.…")            # SendTarget.group("<internal id>")
"""

from __future__ import annotations

import re

from signal_rest.domain.recipients import RecipientKind, classify
from signal_rest.domain.sending import SendTarget
from signal_rest.errors import ValidationError

__all__ = ["BAD_INDEX", "INVALID_TIMESTAMP", "poll_target", "poll_timestamp", "vote_options"]

INVALID_TIMESTAMP = "Couldn't process request - invalid timestamp"
BAD_INDEX = "Invalid index in selected_answers specified, index needs to be >= 1!"

# What Go's strconv.ParseInt(s, 10, 64) accepts: an optional sign and decimal digits, nothing else.
_GO_INT = re.compile(r"[+-]?[0-9]+")


def poll_timestamp(text: str) -> int:
    """The poll's timestamp from the string the body carries it in."""
    if not _GO_INT.fullmatch(text):
        raise ValidationError(INVALID_TIMESTAMP)
    value = int(text)
    if not -(2**63) <= value < 2**63:
        raise ValidationError(INVALID_TIMESTAMP)
    return value


def vote_options(selected: list[int]) -> list[int]:
    """signal-cli's 0-based option indexes for the REST body's 1-based `selected_answers`."""
    if any(index < 1 for index in selected):
        raise ValidationError(BAD_INDEX)
    return [index - 1 for index in selected]


def poll_target(recipient: str) -> SendTarget:
    """Who a poll call goes to: a number or UUID, a username or a group (rest-api.md §4.2)."""
    found = classify(recipient)
    if found.kind == RecipientKind.GROUP:
        return SendTarget.group(found.value)
    if found.kind == RecipientKind.USERNAME:
        return SendTarget.usernames([found.value])
    return SendTarget.numbers([found.value])
