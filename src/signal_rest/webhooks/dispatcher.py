"""Delivering the inbox to webhooks: each target is a named consumer, each account its own lane.

    webhooks = Webhooks(consumers, targets, policy=RetryPolicy(72 * 3600, 600), timeout=15)
    await webhooks.start()     # a lane for every account with messages, and for each new one
    ...
    await webhooks.stop()      # cancels the lanes; what was not acked is sent again next time

A lane (one target, one account) sends one message at a time, oldest first, and acks it in the
inbox when the target answers 2xx (written once per batch read). Anything else (another status,
a refused connection, a timeout) is retried with back-off; the attempt count and the time of the
next attempt are stored with the consumer, so a restart keeps to the schedule. After the retry
period the message is given up (logged, counted) and the lane goes on. Lanes run beside the
JSON-RPC reader and the other consumers, never in their way; a lane holds at most one small
batch in memory, and whatever a dead target has not taken waits in the inbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from signal_rest import __version__
from signal_rest.config import Settings
from signal_rest.inbox.consumers import Consumers, ConsumerState, Cursor
from signal_rest.inbox.store import StoredMessage
from signal_rest.webhooks.http import ANSWER_LIMIT, Poster
from signal_rest.webhooks.retries import RetryPolicy
from signal_rest.webhooks.signing import payload, request_headers, webhook_id
from signal_rest.webhooks.targets import WebhookTarget, webhook_targets

if TYPE_CHECKING:
    import httpx

__all__ = ["OUTCOMES", "Attempt", "WebhookObserver", "Webhooks"]

log = logging.getLogger(__name__)

# What an attempt can come to (the `outcome` of the attempts counter).
OUTCOMES = ("delivered", "rejected", "timeout", "unreachable")
# Messages a lane reads from the inbox at a time.
BATCH = 32
# Seconds before a lane that failed unexpectedly starts over.
LANE_RESTART_DELAY = 5.0


class WebhookObserver(Protocol):
    """Told about each attempt and each message given up (for the /metrics counters)."""

    def attempted(self, target: WebhookTarget, outcome: str) -> None: ...

    def gave_up(self, target: WebhookTarget) -> None: ...


@dataclass(frozen=True)
class Attempt:
    outcome: str  # one of OUTCOMES
    detail: str  # for the log: "HTTP 500", the connection error, ...
    retry_after: float | None = None  # seconds the target asked us to wait (Retry-After)


class Webhooks:
    def __init__(
        self,
        consumers: Consumers,
        targets: list[WebhookTarget],
        *,
        policy: RetryPolicy,
        timeout: float,
        observer: WebhookObserver | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.targets = targets
        self.policy = policy
        self.timeout = timeout
        self.observer = observer
        self.clock = clock
        # Attempts by (webhook, outcome) and messages given up by webhook, since the start.
        self.attempts: Counter[tuple[str, str]] = Counter()
        self.given_up: Counter[str] = Counter()
        self._consumers = consumers
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._lanes: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._unsubscribe: Callable[[], None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, consumers: Consumers) -> Webhooks | None:
        """The configured webhooks; None when there are none."""
        targets = webhook_targets(settings)
        if not targets:
            return None
        policy = RetryPolicy(
            period=settings.webhook_retry_period_hours * 3600,
            max_backoff=settings.webhook_max_backoff_seconds,
        )
        return cls(consumers, targets, policy=policy, timeout=settings.webhook_timeout_seconds)

    async def start(self) -> None:
        for target in self.targets:
            if Poster.suits(target.url):
                continue  # its lanes post on connections of their own
            # httpx (and what it loads) only for the targets that need it: https, proxies.
            import httpx

            # One client per target: its connections are kept alive between messages.
            self._clients[target.consumer] = httpx.AsyncClient(
                timeout=self.timeout,
                follow_redirects=False,  # a 3xx is a failure (Standard Webhooks): fix the URL
                # HTTP(S)_PROXY, NO_PROXY and SSL_CERT_FILE apply, as to the Go project's POST.
                trust_env=True,
                headers={"User-Agent": f"signal-rest/{__version__}"},
            )
        # Listen first: an account whose first message arrives meanwhile is not missed.
        self._unsubscribe = self._consumers.listen(self._on_message)
        for account in await self._consumers.accounts():
            self._open_lanes(account)

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        lanes = list(self._lanes.values())
        self._lanes.clear()
        for lane in lanes:
            lane.cancel()
        await asyncio.gather(*lanes, return_exceptions=True)
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    def _on_message(self, stored: StoredMessage) -> None:
        self._open_lanes(stored.account, first=stored.id)

    def _open_lanes(self, account: str, first: int | None = None) -> None:
        for target in self.targets:
            key = (target.consumer, account)
            if target.accepts(account) and key not in self._lanes:
                lane = _Lane(self, target, account, first)
                self._lanes[key] = asyncio.create_task(lane.run(), name=f"webhook {key}")

    def backlog(self, states: Iterable[ConsumerState]) -> list[tuple[str, str, int]]:
        """(target URL, account, messages it has not taken yet) for each lane, from the
        consumers' stored states (`Consumers.states()`)."""
        urls = {target.consumer: target.url for target in self.targets}
        return [
            (urls[state.name], state.account, state.lag)
            for state in states
            if state.kind == "webhook" and state.name in urls
        ]

    def _count(self, target: WebhookTarget, outcome: str) -> None:
        self.attempts[target.consumer, outcome] += 1
        if self.observer is not None:
            self.observer.attempted(target, outcome)

    def _count_given_up(self, target: WebhookTarget) -> None:
        self.given_up[target.consumer] += 1
        if self.observer is not None:
            self.observer.gave_up(target)


class _Lane:
    """One target's deliveries of one account's messages, in order."""

    def __init__(
        self, webhooks: Webhooks, target: WebhookTarget, account: str, first: int | None
    ) -> None:
        self.webhooks = webhooks
        self.target = target
        self.account = account
        self.key = target.key
        self.first = first  # the message that made this lane, when one did
        # Its own connection when the target is plain http without a proxy, else httpx's
        # (`Webhooks.start` made a client for those).
        agent = f"signal-rest/{__version__}"
        httpx_client = target.consumer in webhooks._clients
        self.poster = None if httpx_client else Poster(target.url, user_agent=agent)

    async def run(self) -> None:
        while True:
            try:
                await self._run()
            except Exception:
                # Not expected (the inbox failing under us): start over from the stored
                # position rather than stop delivering for good.
                log.exception(
                    "webhook %s failed for %s; starting over in %g s",
                    self.target.consumer,
                    self.account,
                    LANE_RESTART_DELAY,
                )
                await asyncio.sleep(LANE_RESTART_DELAY)

    async def _run(self) -> None:
        consumers = self.webhooks._consumers
        # Connected for as long as the service runs: a configured webhook is never stale.
        # A lane made by a new account's first message starts with it, even when a poll took
        # it before the lane was opened (a new consumer starts after what polls took).
        start = None if self.first is None else self.first - 1
        async with consumers.connected(
            self.target.consumer, self.account, kind="webhook", start=start
        ) as cursor:
            self.first = None
            try:
                while True:
                    for stored in await cursor.next(limit=BATCH, timeout=None):
                        await self._deliver(cursor, stored)
            finally:
                if self.poster is not None:
                    self.poster.close()

    async def _deliver(self, cursor: Cursor, stored: StoredMessage) -> None:
        """Send `stored` until the target takes it or the retry period is over."""
        clock = self.webhooks.clock
        while True:
            if cursor.retry_at is not None:
                await asyncio.sleep(max(0.0, cursor.retry_at - clock()))
            attempt = await self._attempt(stored)
            self.webhooks._count(self.target, attempt.outcome)
            if attempt.outcome == "delivered":
                # Stored with the acks of the moment: after a crash a target may get the last
                # few again (at least once), never miss one.
                await cursor.ack(stored.id)
                return
            now = clock()
            attempts = cursor.attempts + 1
            failing_since = cursor.failing_since if cursor.failing_since is not None else now
            retry_at = self.webhooks.policy.next_attempt(attempts, failing_since, now)
            if retry_at is None:
                log.error(
                    "webhook %s gave up message %d (%s) of %s: %d attempts in %.0f s, last: %s",
                    self.target.consumer,
                    stored.id,
                    webhook_id(stored),
                    self.account,
                    attempts,
                    now - failing_since,
                    attempt.detail,
                )
                self.webhooks._count_given_up(self.target)
                await cursor.ack(stored.id)
                return
            if attempt.retry_after is not None:
                # The target's own Retry-After, within our bounds.
                policy = self.webhooks.policy
                wait = min(attempt.retry_after, policy.max_backoff)
                retry_at = min(max(retry_at, now + wait), failing_since + policy.period)
            log.warning(
                "webhook %s: message %d of %s not delivered (%s, attempt %d); next in %.1f s",
                self.target.consumer,
                stored.id,
                self.account,
                attempt.detail,
                attempts,
                retry_at - now,
            )
            await cursor.record_failure(attempts, retry_at, failing_since)

    async def _attempt(self, stored: StoredMessage) -> Attempt:
        body = payload(stored)
        stamp = int(self.webhooks.clock())
        headers = request_headers(stored, body, key=self.key, timestamp=stamp)
        if self.poster is not None:
            return await self._post(body, headers)
        import httpx  # loaded by `Webhooks.start` for this target

        client = self.webhooks._clients[self.target.consumer]
        try:
            # httpx's timeout is per read or write; this one bounds the whole request, so a
            # target that trickles its answer cannot hold the lane.
            async with asyncio.timeout(self.webhooks.timeout):
                request = client.stream("POST", self.target.url, content=body, headers=headers)
                async with request as response:
                    await _drain(response)
        except (TimeoutError, httpx.TimeoutException):
            return Attempt("timeout", f"no answer within {self.webhooks.timeout:g} s")
        except httpx.HTTPError as exc:
            return Attempt("unreachable", f"{type(exc).__name__}: {exc}")
        if 200 <= response.status_code < 300:
            return Attempt("delivered", f"HTTP {response.status_code}")
        return Attempt("rejected", f"HTTP {response.status_code}", _retry_after(response.headers))

    async def _post(self, body: bytes, headers: dict[str, str]) -> Attempt:
        assert self.poster is not None
        try:
            async with asyncio.timeout(self.webhooks.timeout):
                answer = await self.poster.post(body, headers)
        except TimeoutError:
            return Attempt("timeout", f"no answer within {self.webhooks.timeout:g} s")
        except OSError as exc:
            return Attempt("unreachable", f"{type(exc).__name__}: {exc}")
        if 200 <= answer.status < 300:
            return Attempt("delivered", f"HTTP {answer.status}")
        return Attempt("rejected", f"HTTP {answer.status}", _retry_after(answer.headers))


async def _drain(response: httpx.Response) -> None:
    """Read the answer (up to ANSWER_LIMIT bytes) and forget it."""
    read = 0
    async for chunk in response.aiter_raw():
        read += len(chunk)
        if read > ANSWER_LIMIT:
            return  # closing it unread drops the connection instead of reading on


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """The seconds of a Retry-After header, when it gives seconds (dates are ignored)."""
    with contextlib.suppress(ValueError):
        seconds = float(headers.get("retry-after", ""))
        if seconds >= 0:
            return seconds
    return None
