"""Rules for the device and account-ending routes: device ids and the numbers they act on."""

from __future__ import annotations

import re

from signal_rest.errors import ValidationError

__all__ = ["NOT_NUMERIC", "device_id", "exact_number"]

NOT_NUMERIC = "deviceId must be numeric"
# What Go's strconv.Atoi takes: ASCII digits with an optional sign, within 64 bits.
_ATOI = re.compile(r"[+-]?[0-9]+")
_E164 = re.compile(r"\+[1-9][0-9]{4,14}")


def device_id(text: str) -> int:
    """A `{deviceId}` path segment as the Go project reads it."""
    if not _ATOI.fullmatch(text) or not -(2**63) <= int(text) < 2**63:
        raise ValidationError(NOT_NUMERIC)
    return int(text)


def exact_number(number: str) -> str:
    """`number` when it is an E.164 phone number (`+` and 5 to 15 digits). Routes that end an
    account or delete its data name it exactly, so a typo never reaches signal-cli."""
    if not _E164.fullmatch(number):
        raise ValidationError(
            f"Couldn't process request - {number!r} is not a phone number in E.164 form "
            "(e.g. +4915112345678)"
        )
    return number
