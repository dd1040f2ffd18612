"""Group ids in their two forms: signal-cli's internal id and the REST `group.…` id.

    internal_to_rest("abc=")             # "group.YWJjPQ=="
    rest_to_internal("group.YWJjPQ==")   # "abc="
    rest_to_internal("YWJjPQ==")         # "abc=" (the prefix is optional, as in Go)

signal-cli names a group by the standard base64 of its 32-byte identifier (44 characters, the
"internal id"); the REST API base64-encodes that text once more and prefixes `group.`.
"""

from __future__ import annotations

import base64
import re

from signal_rest.domain.b64 import Base64Error, decode
from signal_rest.errors import ValidationError

__all__ = [
    "GROUP_PREFIX",
    "INVALID_GROUP_ID",
    "internal_to_rest",
    "is_internal_id",
    "rest_to_internal",
]

GROUP_PREFIX = "group."
INVALID_GROUP_ID = "Invalid group id"

# 32 bytes in padded standard base64: 42 full characters, one carrying 2 bits, then one `=`.
_INTERNAL_ID = re.compile(r"[A-Za-z0-9+/]{43}=")


def internal_to_rest(internal_id: str) -> str:
    """The REST id of a group: `group.` + base64 of the internal id's text."""
    return GROUP_PREFIX + base64.b64encode(internal_id.encode()).decode("ascii")


def is_internal_id(value: str) -> bool:
    """Whether `value` has the shape of a signal-cli internal group id (base64 of 32 bytes)."""
    return _INTERNAL_ID.fullmatch(value) is not None


def rest_to_internal(group_id: str) -> str:
    """The internal id for a REST group id, with or without its `group.` prefix.

    Raises `ValidationError("Invalid group id")` when the value is neither form.
    """
    encoded = group_id.removeprefix(GROUP_PREFIX)
    decoded = _decode_text(encoded)
    if decoded is not None and is_internal_id(decoded):
        return decoded
    # Extension over Go (user asks #9: people paste the `groupId` of a received envelope, or
    # prefix it with `group.`): a value that is itself an internal id is taken as one. Its REST
    # decoding is 32 raw bytes, never base64 text, so the two forms cannot be confused.
    if is_internal_id(encoded):
        return encoded
    # Go forwards whatever decodes (e.g. `group.YWJjPQ==` → `abc=`) and lets signal-cli answer
    # that no such group exists; only empty or binary results are refused here, as signal-cli
    # could never match them.
    if decoded:
        return decoded
    raise ValidationError(INVALID_GROUP_ID)


def _decode_text(encoded: str) -> str | None:
    try:
        return decode(encoded).decode("ascii")
    except (Base64Error, UnicodeDecodeError):
        return None
