"""What a recipient string names (a group, a number or UUID, or a username), as the Go project
decides it in `getRecipientType`, and how `/v2/send` splits a recipient list into sends.

    classify("+4915112345678")       # Recipient(NUMBER, "+4915112345678")
    classify("{6BA7B810-9DAD-11D1-80B4-00C04FD430C8}")
    # Recipient(NUMBER, "6ba7b810-9dad-11d1-80b4-00c04fd430c8")
    classify("group.UG1waStFZlBXbXN4aW9tTGU5TngyWEY5SE9FNDgzcDZpS2lGajY1aU13ST0=")
    # Recipient(GROUP, "Pmpi+EfPWmsxiomLe9Nx2XF9HOE483p6iKiFj65iMwI=")
    split_for_send(["+491", "alice.01", "+491"])
    # SendTargets(numbers=["+491"], usernames=["alice.01"], groups=[])
    classify("hello")   # ValidationError: 'hello' is not a phone number, UUID, username or …

Where Go calls everything else a username, a username here must look like one (a nickname, a
dot and a discriminator of two or more digits, as libsignal has it): anything else can never
reach anyone, and Go's send reported it as an unregistered user after asking signal-cli.
"""

from __future__ import annotations

import enum
import re
import uuid
from dataclasses import dataclass, field
from urllib.parse import unquote

from signal_rest.domain.b64 import Base64Error, decode
from signal_rest.domain.groupids import GROUP_PREFIX, is_internal_id
from signal_rest.errors import ValidationError

__all__ = [
    "MALFORMED_NUMBER",
    "MIX_GROUPS_NUMBERS",
    "MIX_GROUPS_USERNAMES",
    "MIX_NUMBERS_USERNAMES",
    "MULTIPLE_GROUPS",
    "NOT_A_RECIPIENT",
    "Recipient",
    "RecipientKind",
    "SendTargets",
    "classify",
    "number_from_path",
    "reject_mixed",
    "split_for_send",
]

MIX_GROUPS_NUMBERS = (
    "Signal Messenger Groups and phone numbers cannot be specified together in one request! "
    "Please split them up into multiple REST API calls."
)
MIX_GROUPS_USERNAMES = (
    "Signal Messenger Groups and usernames cannot be specified together in one request! "
    "Please split them up into multiple REST API calls."
)
MIX_NUMBERS_USERNAMES = (
    "Signal Messenger phone numbers and usernames cannot be specified together in one request! "
    "Please split them up into multiple REST API calls."
)
MULTIPLE_GROUPS = (
    "A signal message cannot be sent to more than one group at once! "
    "Please use multiple REST API calls for that."
)
MALFORMED_NUMBER = "Couldn't process request - malformed number"
NOT_A_RECIPIENT = (
    "Couldn't process request - {recipient} is not a phone number, UUID, username or group id"
)
_HINT_NUMBER = " (a phone number starts with + and the country code)"
_HINT_USERNAME = " (a username ends in a dot and two or more digits, as in {example}.01)"

# The forms gofrs/uuid's FromString accepts: plain (canonical or 32 hex digits), braced, urn.
_HEX = "[0-9a-fA-F]"
_PLAIN_UUID = f"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}|{_HEX}{{32}}"
_UUID = re.compile(rf"(?:{_PLAIN_UUID})|\{{(?:{_PLAIN_UUID})\}}|urn:uuid:(?:{_PLAIN_UUID})")
_BAD_PERCENT = re.compile(r"%(?![0-9a-fA-F]{2})")
_REPLACEMENT = "\ufffd"  # what a lenient UTF-8 decoding puts where the bytes were invalid
_SIGNAL_GROUP_ID_BYTES = 32
_MAX_GROUP_LIKE_USERNAME = 10
# libsignal's username: a nickname (letters, digits, _; no digit first), a dot and a
# discriminator of two or more digits, not zero, with no leading zero beyond two digits.
_NICKNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_USERNAME = re.compile(rf"{_NICKNAME.pattern}\.(?:0[1-9]|[1-9][0-9]+)")
_DIGITS = re.compile(r"[0-9 ()/-]+")


class RecipientKind(enum.StrEnum):
    GROUP = "group"
    NUMBER = "number"  # a phone number or an ACI/PNI UUID: both go to signal-cli's `recipient`
    USERNAME = "username"


@dataclass(frozen=True, slots=True)
class Recipient:
    """A classified recipient. `value` is what signal-cli gets: the number as given, the UUID in
    canonical lowercase form, the username as given, or the group's internal id."""

    kind: RecipientKind
    value: str


@dataclass(frozen=True, slots=True)
class SendTargets:
    """The recipients of one `/v2/send`, grouped by the signal-cli call that reaches them: one
    `send` with `recipient` = numbers, one with `username` = usernames, one per entry of `groups`
    (internal group ids)."""

    numbers: list[str] = field(default_factory=list)
    usernames: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)


def classify(recipient: str) -> Recipient:
    """Classify a recipient like Go's `getRecipientType`; raise `ValidationError` with Go's text."""
    if recipient.startswith(GROUP_PREFIX):
        return _classify_group(recipient)
    if _is_phone_number(recipient):
        return Recipient(RecipientKind.NUMBER, recipient)
    if _UUID.fullmatch(recipient):
        hex_digits = re.sub(r"[^0-9a-fA-F]", "", recipient.removeprefix("urn:uuid:"))
        return Recipient(RecipientKind.NUMBER, str(uuid.UUID(hex=hex_digits)))
    # Extension over Go (user asks #9): a bare internal group id, as found in received envelopes,
    # names that group. Go would call it a username, which can never be valid: usernames need a
    # `.` and allow no `=`.
    if is_internal_id(recipient):
        return Recipient(RecipientKind.GROUP, recipient)
    return _username(recipient)


def _username(recipient: str) -> Recipient:
    if _USERNAME.fullmatch(recipient):
        return Recipient(RecipientKind.USERNAME, recipient)
    text = NOT_A_RECIPIENT.format(recipient=repr(recipient))
    if _DIGITS.fullmatch(recipient):
        text += _HINT_NUMBER
    elif _NICKNAME.fullmatch(recipient):
        text += _HINT_USERNAME.format(example=recipient)
    raise ValidationError(text)


def split_for_send(recipients: list[str]) -> SendTargets:
    """Classify every recipient and group them per signal-cli call, keeping the first occurrence
    of each and the order given.

    Unlike Go, groups, numbers and usernames may be mixed and several groups named in one request
    (each group gets its own send); `reject_mixed` restores Go's refusal where that is wanted.
    """
    targets = SendTargets()
    buckets = {
        RecipientKind.NUMBER: targets.numbers,
        RecipientKind.USERNAME: targets.usernames,
        RecipientKind.GROUP: targets.groups,
    }
    for raw in recipients:
        recipient = classify(raw)
        bucket = buckets[recipient.kind]
        if recipient.value not in bucket:
            bucket.append(recipient.value)
    return targets


def reject_mixed(targets: SendTargets) -> None:
    """Raise Go's `/v2/send` error for a mix it does not allow, checked in Go's order."""
    if targets.numbers and targets.groups:
        raise ValidationError(MIX_GROUPS_NUMBERS)
    if targets.usernames and targets.groups:
        raise ValidationError(MIX_GROUPS_USERNAMES)
    if targets.numbers and targets.usernames:
        raise ValidationError(MIX_NUMBERS_USERNAMES)
    if len(targets.groups) > 1:
        raise ValidationError(MULTIPLE_GROUPS)


def number_from_path(raw: str) -> str:
    """Decode a `{number}` path segment once more, as Go's `url.PathUnescape` does after routing:
    `%2B49…` (sent by clients that encode twice) becomes `+49…`, a `+` stays a `+`.

    A segment that is not UTF-8 is malformed, whichever decoding reveals it (`%FF` the server's,
    `%25FF` this one): both put U+FFFD where the bytes were invalid, and no number holds one."""
    if _BAD_PERCENT.search(raw):
        raise ValidationError(MALFORMED_NUMBER)
    number = unquote(raw, errors="replace")
    if _REPLACEMENT in number:
        raise ValidationError(MALFORMED_NUMBER)
    return number


def _classify_group(recipient: str) -> Recipient:
    encoded = recipient.removeprefix(GROUP_PREFIX)
    try:
        internal = decode(encoded)
    except Base64Error:
        # Short remainders are usernames such as `group.42` (a nickname plus discriminator).
        if len(encoded) <= _MAX_GROUP_LIKE_USERNAME:
            return _username(recipient)
        raise ValidationError(f"Invalid identifier {recipient}") from None
    try:
        # latin-1 maps bytes 1:1; any non-ASCII byte then fails as a base64 character.
        group_bytes = decode(internal.decode("latin-1"))
    except Base64Error:
        # Extension over Go: `group.` + the internal id itself is a common mix-up (user asks #9).
        if is_internal_id(encoded):
            return Recipient(RecipientKind.GROUP, encoded)
        raise ValidationError(f"Invalid identifier {recipient}") from None
    if len(group_bytes) != _SIGNAL_GROUP_ID_BYTES:
        # Go's text, missing `)` included.
        raise ValidationError(f"Invalid Signal group size ({len(group_bytes)}")
    return Recipient(RecipientKind.GROUP, internal.decode("ascii"))


def _is_phone_number(value: str) -> bool:
    # Go's IsPhoneNumber: a leading `+`, then digits (unicode.IsDigit = category Nd, which is
    # str.isdecimal) or spaces. "" and "+" pass too.
    if not value:
        return True
    return value[0] == "+" and all(c.isdecimal() or c == " " for c in value[1:])
