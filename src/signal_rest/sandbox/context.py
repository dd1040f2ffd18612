"""What a command handler gets: the network, link requests, and the selected account."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from .links import LinkRequests
from .network import Network, Sender

# single: needs an account (param, or the only local one); multi: no account;
# registration: `account` mandatory and may not exist yet; control: sandbox.* methods.
Kind = Literal["single", "multi", "registration", "control"]


@dataclass
class Context:
    network: Network
    links: LinkRequests
    account: str | None = None
    device: int | None = None  # sandbox.act: the device that acts (default: this daemon's)

    @property
    def me(self) -> str:
        assert self.account is not None
        return self.account

    @property
    def sender(self) -> Sender:
        return self.network.sender(self.me, self.device)


Handler = Callable[[Context, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class Command:
    kind: Kind
    handler: Handler
