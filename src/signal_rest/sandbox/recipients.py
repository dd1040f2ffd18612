"""Recipient strings and group ids as signal-cli parses them."""

from __future__ import annotations

import re

from .errors import user_error
from .network import E164, Network

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_SEPARATORS = re.compile(r"[\s\-().]")
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_INDEX = {c: i for i, c in enumerate(_B64)}


def resolve(network: Network, identifier: str) -> str:
    """The number behind a recipient string (E.164, or the ACI of a known number)."""
    text = identifier.strip()
    if text.startswith("+"):
        compact = _SEPARATORS.sub("", text)
        if E164.match(compact):
            return compact
    elif _UUID.match(text):
        number = network.number_of_uuid(text)
        if number is None:
            raise user_error(f"The user {identifier} is not registered.")
        return number
    elif text.startswith("u:"):
        # signal-cli turns every failed username lookup into "not registered", bad names too.
        name = text[2:]
        number = network.number_of_username(name)
        if number is None:
            raise user_error(f"The user {name} is not registered.")
        return number
    elif text.startswith("PNI:"):
        raise user_error(f"The user {identifier} is not registered.")
    raise user_error(
        f"Invalid phone number '{identifier}': "
        "The string supplied did not seem to be a phone number."
    )


def java_b64decode(text: str) -> bytes:
    """java.util.Base64.getDecoder().decode, with its exception messages."""
    out = bytearray()
    bits, shift, pos, end = 0, 18, 0, len(text)
    while pos < end:
        char = text[pos]
        pos += 1
        if char == "=":
            if (shift == 6 and (pos == end or text[pos] != "=")) or shift == 18:
                raise ValueError("Input byte array has wrong 4-byte ending unit")
            if shift == 6:
                pos += 1
            break
        value = _B64_INDEX.get(char)
        if value is None:
            raise ValueError(f"Illegal base64 character {ord(char):x}")
        bits |= value << shift
        shift -= 6
        if shift < 0:
            out += bytes([(bits >> 16) & 0xFF, (bits >> 8) & 0xFF, bits & 0xFF])
            bits, shift = 0, 18
    if shift == 6:
        out.append((bits >> 16) & 0xFF)
    elif shift == 0:
        out += bytes([(bits >> 16) & 0xFF, (bits >> 8) & 0xFF])
    elif shift == 12:
        raise ValueError("Last unit does not have enough valid bits")
    if pos < end:
        raise ValueError(f"Input byte array has incorrect ending byte at {pos}")
    return bytes(out)


def group_id(text: str) -> str:
    """Validate a group id parameter; the canonical base64 is what the network stores."""
    try:
        java_b64decode(text)
    except ValueError as exc:
        raise user_error(
            f'Invalid group id: Failed to decode groupId (must be base64) "{text}": {exc}'
        ) from None
    return text
