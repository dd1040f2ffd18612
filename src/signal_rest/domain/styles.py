"""Markdown-like styled text (`text_mode: "styled"`) → plain text plus signal-cli `text-style`s.

    parse_styled("This is a **bold** and *italic* message")
    # ("This is a bold and italic message", ["10:4:BOLD", "19:6:ITALIC"])

A port of the Go project's `src/utils/textstyleparser.go`, quirks included, because clients such
as Home Assistant send the same text to either server and expect the same rendering:

* markers are read greedily left to right: `***`, `**`, `*`, `||`, `~`, `` ` `` (a lone `|` is
  text);
* a stack of (marker, start): a marker equal to the top of the stack closes it, any other marker
  opens a new one. Styles therefore come out in closing order, crossing markers never close, and
  markers left open at the end just disappear;
* a backslash before `*`, `` ` ``, `|` or `~` is dropped and the marker after it is kept as text;
* offsets and lengths count UTF-16 code units of the output text, as Signal clients do.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["parse_styled"]

_ESCAPE = "\\"
_ESCAPABLE = frozenset("*`|~")

# Marker → the styles it emits when closed (`***` emits two, BOLD first, as the Go code does).
_STYLES: dict[str, tuple[str, ...]] = {
    "*": ("ITALIC",),
    "**": ("BOLD",),
    "***": ("BOLD", "ITALIC"),
    "~": ("STRIKETHROUGH",),
    "`": ("MONOSPACE",),
    "||": ("SPOILER",),
}


@dataclass(slots=True)
class _Open:
    marker: str
    start: int


def parse_styled(text: str) -> tuple[str, list[str]]:
    """Strip the style markers from `text`; return it with `"<start>:<length>:<STYLE>"` strings."""
    output: list[str] = []
    styles: list[str] = []
    stack: list[_Open] = []
    utf16_len = 0  # length of the output so far, kept incrementally instead of re-measured
    escaped = False
    i = 0
    while i < len(text):
        marker = _marker_at(text, i)
        if marker is None:
            char = text[i]
            i += 1
            if char == _ESCAPE and i < len(text) and text[i] in _ESCAPABLE:
                escaped = True
                continue
            output.append(char)
            utf16_len += 2 if ord(char) > 0xFFFF else 1
            escaped = False
            continue
        i += len(marker)
        if escaped:
            output.append(marker)
            utf16_len += len(marker)
            escaped = False
        elif stack and stack[-1].marker == marker:
            opened = stack.pop()
            for style in _STYLES[marker]:
                styles.append(f"{opened.start}:{utf16_len - opened.start}:{style}")
        else:
            stack.append(_Open(marker, utf16_len))
    return "".join(output), styles


def _marker_at(text: str, i: int) -> str | None:
    char = text[i]
    if char == "*":
        run = 1
        while run < 3 and text.startswith("*", i + run):
            run += 1
        return "*" * run
    if char == "|":
        return "||" if text.startswith("|", i + 1) else None
    if char in "~`":
        return char
    return None
