"""JSON on the hot paths (request bodies, JSON-RPC frames, envelopes, responses): orjson where
it gives what the standard library gives, the standard library where it does not.

    jsoncodec.dumps({"a": "é"})     # b'{"a":"\xc3\xa9"}': compact UTF-8, nothing escaped
    jsoncodec.loads(b'{"a": 1}')    # {'a': 1}, as json.loads

orjson parses and writes several times faster, but differs at the edges: it refuses NaN,
Infinity and numbers beyond a double, and half of a surrogate pair (`"\\ud800"`); it reads
an integer of 20 or more digits as a float; it cannot write such halves, integers beyond 64
bits or keys that are not strings. There the standard library does the work, so every value
reads and writes exactly as `json` would have it (floats aside: orjson writes 1.5e-07 as
1.5e-7, the same number).
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

__all__ = ["column", "dumps", "dumps_text", "loads"]

# An integer orjson would read as a float: 19 digits or more (2**63 has 19).
_LONG_NUMBER = re.compile(rb"\d{19}")
# The same test for a short text, several times faster: every ASCII digit made a "9", every
# other byte a space, then a plain substring search (a regex tries 19 digits at each byte).
_NINES = bytes(0x39 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_LONG_RUN = b"9" * 19
_TRANSLATED_UP_TO = 64 * 1024  # a copy of the text is made: not for long ones


def _has_long_number(raw: bytes) -> bool:
    if len(raw) <= _TRANSLATED_UP_TO:
        return _LONG_RUN in raw.translate(_NINES)
    return _LONG_NUMBER.search(raw) is not None


def dumps(value: Any, *, sort_keys: bool = False) -> bytes:
    """`value` as compact JSON in UTF-8, non-ASCII characters as they are."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else None)
    except TypeError:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys)
        return text.encode("utf-8", "surrogatepass")


def dumps_text(value: Any) -> str:
    """`dumps` as a str."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def column(value: Any) -> str:
    """`value` as JSON text for a database column: as `dumps_text`, but where orjson can't
    write it, every non-ASCII character escaped (half a surrogate pair would not go into
    SQLite's UTF-8)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"))


def loads(data: bytes | str, *, strict: bool = True) -> Any:
    """What `json.loads(data, strict=strict)` returns, and the same ValueError where it fails.
    `strict=False` accepts raw control characters inside strings, as json's does."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if not _has_long_number(raw):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # json says what is wrong, or reads what orjson does not
    return json.loads(data, strict=strict)
