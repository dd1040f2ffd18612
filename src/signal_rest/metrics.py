"""Every metric of the service, defined once, in the one registry `GET /metrics` serves.

    from signal_rest import metrics
    metrics.WEBHOOK_ATTEMPTS.labels(webhook=name, outcome="delivered").inc()
    body = metrics.exposition()          # the Prometheus text format, for GET /metrics

Counted as it happens (process-wide, from the moment the service started):

- `signal_rest_http_requests_total{route,method,status}` and
  `signal_rest_http_request_duration_seconds{route,method}`: every HTTP request, by the route's
  template (`/v1/receive/{number}`, never the raw path; `other` for paths no route has), set by
  `signal_rest.edge.metrics`. Websockets are not in these (a session lasts minutes):
  `signal_rest_websockets_total{route,status}` counts handshakes by their answer (101 when
  accepted) and `signal_rest_websockets_open{route}` the sessions open now.
- `signal_rest_rpc_calls_total{method}`, `signal_rest_rpc_errors_total{method,code}` and
  `signal_rest_rpc_duration_seconds{method}`: JSON-RPC calls to signal-cli (or the sandbox), via
  `observe_rpc`, which the backend gives the RPC client. `code` is the JSON-RPC error code, or
  `timeout` / `unavailable` (no connection, or it was lost) / `failed` (an answer too large) /
  `cancelled` (the caller went away). A method the daemon does not know is counted as `other`,
  so passthrough callers (`POST /api/v1/rpc`) cannot grow the label set.
- Webhooks (incremented by the webhook delivery through `WebhookCounters`):
  `signal_rest_webhook_attempts_total{webhook,outcome}` for each POST (`outcome`: `delivered`
  for a 2xx, `rejected` for another status, `unreachable` when the connection failed, `timeout`
  when no answer came in time), `signal_rest_webhook_failures_total{webhook}` for each message
  given up on after the retry period, and the gauge `signal_rest_webhook_backlog{webhook,
  account}`: messages waiting for the target (read when scraped, `observe_webhooks`). `webhook`
  names the target without credentials: `webhook_label(url)`.

Read when scraped (the route calls `observe_daemon`, `observe_inbox` and `observe_consumers` just
before `exposition()`): `signal_rest_daemon_connected`, `signal_rest_daemon_restarts_total`,
`signal_rest_inbox_depth{account}` and `signal_rest_inbox_oldest_age_seconds{account}` (messages
no unnamed client has taken yet), the consumer gauges `signal_rest_consumer_position`,
`signal_rest_consumer_lag`, `signal_rest_consumer_stale` and `signal_rest_consumer_idle_seconds`
(all `{consumer,account}`), and `signal_rest_build_info{version,backend}`.

The objects are module globals on one registry, so several apps in one process (the tests) share
them: counters add up across apps, and the scrape-time gauges show the app scraped last.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

from signal_rest import __version__
from signal_rest.promtext import Counter, Gauge, Histogram, Registry, Sample

__all__ = [
    "CONTENT_TYPE",
    "HTTP_DURATION",
    "HTTP_REQUESTS",
    "OTHER",
    "REGISTRY",
    "RPC_CALLS",
    "RPC_DURATION",
    "RPC_ERRORS",
    "WEBHOOK_ATTEMPTS",
    "WEBHOOK_BACKLOG",
    "WEBHOOK_FAILURES",
    "WEBSOCKETS",
    "WEBSOCKETS_OPEN",
    "ConsumerState",
    "WebhookCounters",
    "child",
    "exposition",
    "observe_consumers",
    "observe_daemon",
    "observe_inbox",
    "observe_rpc",
    "observe_webhooks",
    "webhook_label",
]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OTHER = "other"
# JSON-RPC errors that say nothing of whether the daemon knows the method: a line that is no
# JSON (-32700), no request (-32600, e.g. a method that is not a string), an unknown method.
UNKNOWN_METHOD = frozenset({-32700, -32600, -32601})

# Our own registry and text format (promtext), not prometheus_client's: that package loads
# HTTP, WSGI and gzip servers on import, about 2 MiB of the idle service. As before, no
# `_created` series: they double the scrape and say only when a series first appeared.
REGISTRY = Registry()

# From a cached answer (a millisecond) to a long poll or a slow signal-cli call (a minute).
LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)

HTTP_REQUESTS = Counter(
    "signal_rest_http_requests",
    "HTTP requests answered, by route template, method and status",
    ["route", "method", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "signal_rest_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by route template and method",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
WEBSOCKETS = Counter(
    "signal_rest_websockets",
    "Websocket handshakes, by route template and answer (101: accepted)",
    ["route", "status"],
    registry=REGISTRY,
)
WEBSOCKETS_OPEN = Gauge(
    "signal_rest_websockets_open",
    "Websocket sessions open now, by route template",
    ["route"],
    registry=REGISTRY,
)

RPC_CALLS = Counter(
    "signal_rest_rpc_calls",
    "JSON-RPC calls to signal-cli, by method (errors included)",
    ["method"],
    registry=REGISTRY,
)
RPC_ERRORS = Counter(
    "signal_rest_rpc_errors",
    "JSON-RPC calls that failed, by method and JSON-RPC error code (or timeout, unavailable, "
    "failed, cancelled)",
    ["method", "code"],
    registry=REGISTRY,
)
RPC_DURATION = Histogram(
    "signal_rest_rpc_duration_seconds",
    "Time from queueing a JSON-RPC call to its answer (or failure), by method",
    ["method"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)

DAEMON_CONNECTED = Gauge(
    "signal_rest_daemon_connected",
    "1 while the JSON-RPC connection to signal-cli (or the sandbox) is up, else 0",
    registry=REGISTRY,
)
INBOX_DEPTH = Gauge(
    "signal_rest_inbox_depth",
    "Messages in the inbox that no unnamed client (poll or websocket) has taken yet",
    ["account"],
    registry=REGISTRY,
)
INBOX_OLDEST_AGE = Gauge(
    "signal_rest_inbox_oldest_age_seconds",
    "Seconds since the oldest message not yet taken arrived (0 when none waits)",
    ["account"],
    registry=REGISTRY,
)
BUILD_INFO = Gauge(
    "signal_rest_build_info",
    "Always 1: the version of signal-rest and its backend (sandbox, supervised, remote)",
    ["version", "backend"],
    registry=REGISTRY,
)

CONSUMER_POSITION = Gauge(
    "signal_rest_consumer_position",
    "The id of the last inbox message the named consumer acknowledged",
    ["consumer", "account"],
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "signal_rest_consumer_lag",
    "Messages of the account the named consumer has not acknowledged yet",
    ["consumer", "account"],
    registry=REGISTRY,
)
CONSUMER_STALE = Gauge(
    "signal_rest_consumer_stale",
    "1 when the named consumer was not seen for so long that it no longer holds messages back",
    ["consumer", "account"],
    registry=REGISTRY,
)
CONSUMER_IDLE = Gauge(
    "signal_rest_consumer_idle_seconds",
    "Seconds since the named consumer was last seen",
    ["consumer", "account"],
    registry=REGISTRY,
)
_CONSUMER_GAUGES = (CONSUMER_POSITION, CONSUMER_LAG, CONSUMER_STALE, CONSUMER_IDLE)

WEBHOOK_ATTEMPTS = Counter(
    "signal_rest_webhook_attempts",
    "Webhook POSTs, by target and outcome (delivered, rejected, unreachable, timeout)",
    ["webhook", "outcome"],
    registry=REGISTRY,
)
WEBHOOK_FAILURES = Counter(
    "signal_rest_webhook_failures",
    "Messages a webhook target never took: given up after the retry period",
    ["webhook"],
    registry=REGISTRY,
)
WEBHOOK_BACKLOG = Gauge(
    "signal_rest_webhook_backlog",
    "Messages waiting to be delivered to the webhook target",
    ["webhook", "account"],
    registry=REGISTRY,
)


class _ReadCounter:
    """A counter kept elsewhere (the supervisor counts restarts), read when scraped."""

    def __init__(self, name: str, documentation: str) -> None:
        self.name = name
        self.documentation = documentation
        self.value = 0.0

    def family(self) -> tuple[str, str, str, list[Sample]]:
        total = self.name + "_total"
        return total, "counter", self.documentation, [(total, (), self.value)]


DAEMON_RESTARTS = _ReadCounter(
    "signal_rest_daemon_restarts",
    "Times the signal-cli daemon that signal-rest runs was restarted after it died "
    "(always 0 on the sandbox or a daemon signal-rest does not run)",
)
REGISTRY.register(DAEMON_RESTARTS.family)


# Methods the daemon has shown it knows: only these become label values.
_known_methods: set[str] = set()
# Accounts the inbox gauges have shown.
_inbox_accounts: set[str] = set()


# Labelled children of the metrics above, by metric and label values (see `child`).
_children: dict[tuple[Any, tuple[str, ...]], Any] = {}


def child(metric: Any, *labels: str) -> Any:
    """`metric.labels(*labels)`, looked up once: `labels()` takes a lock and builds the label
    tuple on every call, which the hot paths (every request, every JSON-RPC call) do without.
    Label values are bounded where they are made (route templates, known methods)."""
    key = (metric, labels)
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(*labels)
    return found


def observe_rpc(method: str, seconds: float, error: str | None) -> None:
    """One JSON-RPC call ended after `seconds`: `error` is None on success, else the JSON-RPC
    error code as text, or `timeout`, `unavailable`, `failed`, `cancelled`."""
    if error is None or (error.lstrip("-").isdigit() and int(error) not in UNKNOWN_METHOD):
        _known_methods.add(method)
    label = method if method in _known_methods else OTHER
    child(RPC_CALLS, label).inc()
    child(RPC_DURATION, label).observe(seconds)
    if error is not None:
        RPC_ERRORS.labels(label, error).inc()


def observe_daemon(*, connected: bool, restarts: int, backend: str) -> None:
    """The daemon as it is now; `backend` is sandbox, supervised or remote."""
    DAEMON_CONNECTED.set(1 if connected else 0)
    DAEMON_RESTARTS.value = restarts
    BUILD_INFO.clear()
    BUILD_INFO.labels(__version__, backend).set(1)


def observe_inbox(backlog: Sequence[tuple[str, int, float]], now: float | None = None) -> None:
    """Per account: (account, messages not taken yet, arrival time of the oldest). An account
    shown before and missing now has nothing waiting: it stays, at 0."""
    now = time.time() if now is None else now
    for account in _inbox_accounts:
        INBOX_DEPTH.labels(account).set(0)
        INBOX_OLDEST_AGE.labels(account).set(0)
    for account, depth, oldest in backlog:
        _inbox_accounts.add(account)
        INBOX_DEPTH.labels(account).set(depth)
        INBOX_OLDEST_AGE.labels(account).set(max(0.0, now - oldest))


class ConsumerState(Protocol):
    """What `observe_consumers` reads of a consumer (inbox.consumers.ConsumerState)."""

    @property
    def name(self) -> str: ...
    @property
    def account(self) -> str: ...
    @property
    def position(self) -> int: ...
    @property
    def lag(self) -> int: ...
    @property
    def seen_at(self) -> float | None: ...
    @property
    def stale(self) -> bool: ...


def observe_consumers(states: Iterable[ConsumerState], now: float | None = None) -> None:
    """Set the consumer gauges to `states`: exactly the named consumers that exist now."""
    now = time.time() if now is None else now
    for gauge in _CONSUMER_GAUGES:
        gauge.clear()
    for state in states:
        labels = (state.name, state.account)
        CONSUMER_POSITION.labels(*labels).set(state.position)
        CONSUMER_LAG.labels(*labels).set(state.lag)
        CONSUMER_STALE.labels(*labels).set(1 if state.stale else 0)
        if state.seen_at is not None:
            CONSUMER_IDLE.labels(*labels).set(max(0.0, now - state.seen_at))


def webhook_label(url: str) -> str:
    """A webhook target as a label: scheme, host and path, without credentials or query."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


class _Target(Protocol):
    @property
    def url(self) -> str: ...


class WebhookCounters:
    """The webhook delivery's observer (`signal_rest.webhooks.dispatcher.WebhookObserver`)."""

    def attempted(self, target: _Target, outcome: str) -> None:
        WEBHOOK_ATTEMPTS.labels(webhook_label(target.url), outcome).inc()

    def gave_up(self, target: _Target) -> None:
        WEBHOOK_FAILURES.labels(webhook_label(target.url)).inc()


def observe_webhooks(backlog: Iterable[tuple[str, str, int]]) -> None:
    """Set the backlog gauge to (target URL, account, messages waiting) for each webhook lane."""
    WEBHOOK_BACKLOG.clear()
    for url, account, waiting in backlog:
        WEBHOOK_BACKLOG.labels(webhook_label(url), account).set(waiting)


def exposition() -> bytes:
    """Every metric in the Prometheus text format (served as CONTENT_TYPE)."""
    return REGISTRY.exposition()
