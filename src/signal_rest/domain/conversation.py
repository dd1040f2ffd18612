"""The rules of the conversation routes: reactions, receipts, typing indicators, remote deletes.

Each turns its REST body into the params of one signal-cli call (without `account`), after the
Go project's checks with its texts:

    reaction_params("+4915…", "👍", "+4915…", 1752436800000, remove=False)
    # {"recipient": ["+4915…"], "emoji": "👍", "targetAuthor": "+4915…",
    #  "targetTimestamp": 1752436800000}
    typing_params("group.UG1w…", stop=True)     # {"groupId": "Pmp…", "stop": True}

Recipients are classified per `signal_rest.domain.recipients.classify`: a group goes as `groupId`,
a number or UUID as `recipient` and a username as `username` where signal-cli's method takes one
(sendReaction, remoteDelete), else as the recipient `u:<name>` (sendTyping, sendReceipt). The Go
project sends usernames as plain recipients, which signal-cli reads as malformed phone numbers.
"""

from __future__ import annotations

from typing import Any

from signal_rest.domain.groupids import GROUP_PREFIX, INVALID_GROUP_ID
from signal_rest.domain.recipients import Recipient, RecipientKind, classify
from signal_rest.errors import ValidationError

__all__ = [
    "DEFAULT_REMOVED_EMOJI",
    "RECEIPT_TYPES",
    "reaction_params",
    "receipt_params",
    "remote_delete_params",
    "typing_params",
    "username_address",
]

DEFAULT_REMOVED_EMOJI = "👍"
RECEIPT_TYPES = ("read", "viewed")

_MISSING = "Couldn't process request - {} missing"
_BAD_RECEIPT_TYPE = "Couldn't process request - receipt type must be read or viewed"
_NOT_A_TIMESTAMP = (
    "Couldn't process request - timestamp must be the message's timestamp in milliseconds"
)
# signal-cli reads a JSON number below 2^31 as an int, which it cannot take for a timestamp (a
# Java ClassCastException); no message sent after January 1970 has such a timestamp.
_MIN_TIMESTAMP = 2**31
_RECEIPT_TO_GROUP = (
    "Couldn't process request - a receipt goes to the sender of the message, not to a group"
)


def _missing(field: str) -> ValidationError:
    return ValidationError(_MISSING.format(field))


def _check_timestamp(timestamp: int) -> None:
    if not timestamp:
        raise _missing("timestamp")
    if timestamp < _MIN_TIMESTAMP:
        raise ValidationError(_NOT_A_TIMESTAMP)


def _classified(recipient: str, *, group_text: str | None) -> Recipient:
    """classify(), with `group_text` replacing its error for `group.` values where the Go
    project reports any bad group id with one text."""
    try:
        return classify(recipient)
    except ValidationError:
        if group_text is not None and recipient.startswith(GROUP_PREFIX):
            raise ValidationError(group_text) from None
        raise


def _target(recipient: Recipient, *, takes_usernames: bool) -> dict[str, Any]:
    if recipient.kind is RecipientKind.GROUP:
        return {"groupId": recipient.value}
    if recipient.kind is RecipientKind.USERNAME:
        if takes_usernames:
            return {"username": [recipient.value]}
        return {"recipient": [username_address(recipient.value)]}
    return {"recipient": [recipient.value]}


def username_address(username: str) -> str:
    """How signal-cli's recipient params name a username."""
    return f"u:{username}"


def _author(target_author: str) -> str:
    # A username needs signal-cli's `u:` form; everything else goes as given (a number, UUID).
    try:
        author = classify(target_author)
    except ValidationError:
        return target_author
    if author.kind is RecipientKind.USERNAME:
        return username_address(author.value)
    return author.value if author.kind is RecipientKind.NUMBER else target_author


def reaction_params(
    recipient: str, reaction: str, target_author: str, timestamp: int, *, remove: bool
) -> dict[str, Any]:
    """sendReaction params. Removing, the emoji is optional (`👍` when empty), as in Go."""
    if not recipient:
        raise _missing("recipient")
    if not reaction:
        if not remove:
            raise _missing("reaction")
        reaction = DEFAULT_REMOVED_EMOJI
    if not target_author:
        raise _missing("target_author")
    _check_timestamp(timestamp)
    target = _classified(recipient, group_text=INVALID_GROUP_ID)
    params = {
        **_target(target, takes_usernames=True),
        "emoji": reaction,
        "targetAuthor": _author(target_author),
        "targetTimestamp": timestamp,
    }
    if remove:
        params["remove"] = True
    return params


def receipt_params(recipient: str, receipt_type: str, timestamp: int) -> dict[str, Any]:
    """sendReceipt params, with the receipt type as signal-cli's `type` (Go sends
    `receipt-type`, which signal-cli ignores: every receipt was a read receipt)."""
    if not recipient:
        raise _missing("recipient")
    if receipt_type not in RECEIPT_TYPES:
        raise ValidationError(_BAD_RECEIPT_TYPE)
    _check_timestamp(timestamp)
    target = _classified(recipient, group_text=INVALID_GROUP_ID)
    if target.kind is RecipientKind.GROUP:
        raise ValidationError(_RECEIPT_TO_GROUP)
    value = target.value
    if target.kind is RecipientKind.USERNAME:
        value = username_address(value)
    # sendReceipt's recipient is a single string, unlike the other methods' lists.
    return {"recipient": value, "targetTimestamp": [timestamp], "type": receipt_type}


def typing_params(recipient: str, *, stop: bool) -> dict[str, Any]:
    """sendTyping params: STARTED, or STOPPED with `stop`."""
    if not recipient:
        raise _missing("recipient")
    target = _classified(recipient, group_text=INVALID_GROUP_ID)
    params = _target(target, takes_usernames=False)
    if stop:
        params["stop"] = True
    return params


def remote_delete_params(recipient: str, timestamp: int) -> dict[str, Any]:
    """remoteDelete params; a bad recipient gets `getRecipientType`'s texts, as in Go."""
    if not recipient:
        raise _missing("recipient")
    _check_timestamp(timestamp)
    target = _classified(recipient, group_text=None)
    return {**_target(target, takes_usernames=True), "targetTimestamp": timestamp}
