"""Which numbers are accounts of this service: signal-cli's `listAccounts`, remembered.

    accounts = LocalAccounts(rpc)
    await accounts.require("+4915100000001")   # NotFound, in REST terms, unless it is one

A number found once (or made an account by the service: `add`) is taken as an account until
`forget` (the service unregisters it or deletes its data); one not found asks signal-cli again,
so an account registered or linked elsewhere a moment ago is found without waiting. Asking is no
more than what the route would have done.
"""

from __future__ import annotations

from signal_rest.errors import NotFound
from signal_rest.jsonrpc.client import RpcClient

__all__ = ["NOT_AN_ACCOUNT", "LocalAccounts", "not_an_account"]

NOT_AN_ACCOUNT = (
    "{number} is no account of this service: register it with POST /v1/register/{number} or "
    "link it with GET /v1/qrcodelink?device_name=<name>; GET /v1/accounts lists the accounts"
)
# signal-cli's answer for an account it does not have (code -32602).
SIGNAL_CLI_NO_ACCOUNT = "Specified account does not exist"


def not_an_account(number: str) -> NotFound:
    """The one answer every account route gives for a number that is no account here."""
    return NotFound(NOT_AN_ACCOUNT.format(number=number))


class LocalAccounts:
    """The accounts signal-cli has, as far as the service has seen them."""

    def __init__(self, rpc: RpcClient) -> None:
        self._rpc = rpc
        self._known: frozenset[str] = frozenset()

    async def listed(self, *, timeout: float | None = None) -> list[str]:
        """signal-cli's accounts now, in its order (`timeout`: see RpcClient.call)."""
        answer = await self._rpc.call("listAccounts", timeout=timeout)
        numbers = [
            str(a["number"])
            for a in (answer if isinstance(answer, list) else [])
            if isinstance(a, dict) and a.get("number")
        ]
        self._known = frozenset(numbers)
        return numbers

    async def require(self, number: str) -> None:
        """Raise `not_an_account(number)` unless `number` is an account of this service."""
        if number in self._known or number in await self.listed():
            return
        raise not_an_account(number)

    def add(self, number: str) -> None:
        """`number` became an account through the service (verified, linked)."""
        self._known = self._known | {number}

    def forget(self, number: str) -> None:
        self._known = self._known - {number}
