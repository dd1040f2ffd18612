"""The rules of named consumers that the HTTP layer checks: names and ack ids."""

from __future__ import annotations

import re

from signal_rest.errors import ValidationError

__all__ = ["ack_id", "consumer_name"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}")


def consumer_name(value: str | None) -> str | None:
    """A consumer's name: 1 to 64 letters, digits and `. _ : @ -`, starting with a letter or
    digit; None when no name was given."""
    if value is None:
        return None
    if not _NAME.fullmatch(value):
        raise ValidationError(
            f"consumer must be 1 to 64 letters, digits or . _ : @ - starting with a letter or "
            f"digit, not {value[:80]!r}"
        )
    return value


def ack_id(value: str | None, *, name: str = "acked") -> int | None:
    """A message id a client acks, as it got it in the `id` key."""
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise ValidationError(
            f"{name} must be a message id (the `id` of a message), not {value[:80]!r}"
        )
    return int(value)
