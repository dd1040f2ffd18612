"""Who is on Signal: contact discovery through signal-cli's getUserStatus."""

from __future__ import annotations

from typing import Any

from signal_rest.backend import Backend
from signal_rest.domain.search import SearchEntry, entries_from_statuses, split_lookups

__all__ = ["accounts", "search"]


async def accounts(backend: Backend) -> list[str]:
    """The local accounts a search may run as, in signal-cli's order."""
    return await backend.accounts.listed()


async def search(backend: Backend, account: str, numbers: list[str]) -> list[SearchEntry]:
    """Whether each number (or username) is on Signal, as `account` finds it."""
    phones, names = split_lookups(numbers)
    params: dict[str, Any] = {"recipient": phones, "account": account}
    if names:
        params["username"] = names
    return entries_from_statuses(numbers, await backend.rpc.call("getUserStatus", params))
