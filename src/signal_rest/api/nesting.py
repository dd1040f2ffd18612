"""A cheap look at a JSON body's shape before it is parsed: how deep it nests, how many
strings, arrays and objects it holds. Every step is a C-speed bytes operation, so a 130 MB
base64 body costs a few hundredths of a second and a hostile one is refused long before
`json.loads` would recurse or build millions of objects.

    shape_error(b'{"a": [[[]]]}', max_depth=2)  # "... nested deeper than 2 levels"
"""

from __future__ import annotations

import json
import re

__all__ = ["MAX_VALUES", "shape_error"]

# More strings, arrays and objects than any real request has; a body with more brackets than
# the depth limit (the only kind that is scanned) and more values than this is refused, which
# bounds the work of the scan.
MAX_VALUES = 1_000_000

_STRUCTURE = b'"[]{}'
_NOT_STRUCTURE = bytes(c for c in range(256) if c not in _STRUCTURE)
_ONE_KIND = bytes.maketrans(b"{}", b"[]")
_STRING = re.compile(rb'"[^"]*"')


def _utf8(raw: bytes) -> bytes:
    # json.loads accepts UTF-16 and UTF-32 too; scan what it will parse.
    encoding = json.detect_encoding(raw)
    if encoding in ("utf-8", "utf-8-sig"):
        return raw
    return raw.decode(encoding, "surrogatepass").encode("utf-8", "surrogatepass")


def shape_error(raw: bytes, max_depth: int) -> str | None:
    """Why `raw` is refused before parsing (too deep, too many values), or None.

    Malformed JSON is left to the parser, which refuses it anyway."""
    if raw.count(b"[") + raw.count(b"{") <= max_depth:
        return None  # nearly every body: no scan at all
    try:
        data = _utf8(raw)
    except UnicodeError:
        return None
    # Drop escaped backslashes and quotes, then everything but quotes and brackets: what is
    # left is the strings' delimiters (and any brackets inside them) and the structure.
    core = data.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
    if core.count(b'"') > 2 * MAX_VALUES:
        return f"more than {MAX_VALUES} values"
    brackets = _STRING.sub(b"", core).translate(_ONE_KIND)
    if len(brackets) > 2 * MAX_VALUES:
        return f"more than {MAX_VALUES} values"
    # Each pass removes the innermost arrays and objects: a body nested d levels deep is gone
    # after exactly d passes (mismatched brackets stop the passes; the parser refuses those).
    for done in range(max_depth):
        if not brackets:
            return None
        if b"[" * (max_depth - done + 1) in brackets:
            break  # a run of openers deeper than what is left of the limit
        reduced = brackets.replace(b"[]", b"")
        if len(reduced) == len(brackets):
            return None
        brackets = reduced
    else:
        if not brackets:
            return None
    return f"nested deeper than {max_depth} levels"
