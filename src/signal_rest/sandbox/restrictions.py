"""What Signal's server enforces on an account: who may find it by number, and rate limits.

Discovery. An account that turned `discoverableByNumber` off is not found by number through
contact discovery (CDSI): others' `getUserStatus` by number answers it as not registered, as
Signal's CDSI does. Its own lookup still finds it. `numberSharing` is kept as set.

Rate limits. A control operation makes the server demand a captcha from an account (a
"proof required" rate limit): each of its sends then fails for every recipient with
RATE_LIMIT_FAILURE, the challenge token and a retry time, until the account submits that token
with a solved captcha (`submitRateLimitChallenge`).

Registration-lock PINs live with the number's settings (`numbers.pin`, see network.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from .network import Network

RETRY_AFTER = 86_400  # what Signal's server answers with a proof-required 428: a day


@dataclass(frozen=True)
class RateLimit:
    token: str
    retry_after: int

    def failure(self) -> dict[str, str | int]:
        """The per-recipient fields of a send that met this limit."""
        return {
            "type": "RATE_LIMIT_FAILURE",
            "token": self.token,
            "retryAfterSeconds": self.retry_after,
        }


def rate_limit(network: Network, number: str) -> RateLimit | None:
    row = network.store.one("SELECT token, retry_after FROM rate_limits WHERE number = ?", number)
    return None if row is None else RateLimit(str(row["token"]), int(row["retry_after"]))


def impose(network: Network, number: str, token: str | None = None) -> RateLimit:
    """Rate-limit `number` until it solves a captcha for `token` (default: a new one)."""
    limit = RateLimit(token or str(uuid.uuid4()), RETRY_AFTER)
    network.store.run(
        "INSERT OR REPLACE INTO rate_limits (number, token, retry_after) VALUES (?, ?, ?)",
        number,
        limit.token,
        limit.retry_after,
    )
    return limit


def lift(network: Network, number: str, token: str) -> bool:
    """Lift `number`'s rate limit when `token` is its challenge; False when it is not."""
    return (
        network.store.run("DELETE FROM rate_limits WHERE number = ? AND token = ?", number, token)
        > 0
    )


def discoverable(network: Network, number: str) -> bool:
    row = network.store.one("SELECT discoverable FROM discovery WHERE number = ?", number)
    return row is None or bool(row["discoverable"])


def set_discovery(
    network: Network, number: str, *, discoverable: bool | None, number_sharing: bool | None
) -> None:
    """Change what is given (None: keep)."""
    with network.store.transaction():
        network.store.run("INSERT OR IGNORE INTO discovery (number) VALUES (?)", number)
        if discoverable is not None:
            network.store.run(
                "UPDATE discovery SET discoverable = ? WHERE number = ?", int(discoverable), number
            )
        if number_sharing is not None:
            network.store.run(
                "UPDATE discovery SET number_sharing = ? WHERE number = ?",
                int(number_sharing),
                number,
            )
