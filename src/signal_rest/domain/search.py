"""The search answer: signal-cli's getUserStatus entries as the Go project reports them.

    split_lookups(["+4915100000002", "alice.42"])   # (["+4915100000002"], ["alice.42"])
    entries_from_statuses(["+49…"], [{"recipient": "+49…", "number": "+49…", "uuid": None,
                                      "isRegistered": False}])
    # [{"number": "+49…", "registered": False}]

A value shaped like a username (`nick.42`) or a username link is looked up as a username, an
extension over the Go project, which asks signal-cli for every value as a phone number.
"""

from __future__ import annotations

import re
from typing import Any

from typing_extensions import TypedDict

__all__ = ["SearchEntry", "entries_from_statuses", "split_lookups"]

_USERNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\.[0-9]+|(https://)?signal\.me/?#eu/\S+")


class SearchEntry(TypedDict):
    number: str
    registered: bool


def split_lookups(values: list[str]) -> tuple[list[str], list[str]]:
    """The values to look up as phone numbers, and those to look up as usernames."""
    numbers = [v for v in values if not _USERNAME.fullmatch(v)]
    names = [v for v in values if _USERNAME.fullmatch(v)]
    return numbers, names


def entries_from_statuses(values: list[str], statuses: Any) -> list[SearchEntry]:
    """One entry per status, in the order the values were asked (signal-cli answers numbers
    first, then usernames)."""
    found = [s for s in statuses if isinstance(s, dict)] if isinstance(statuses, list) else []
    order = {value: index for index, value in reversed(list(enumerate(values)))}
    found.sort(key=lambda s: order.get(str(s.get("recipient")), len(values)))
    return [
        SearchEntry(
            number=str(s.get("number") or s.get("username") or s.get("recipient") or ""),
            registered=s.get("isRegistered") is True,
        )
        for s in found
    ]
