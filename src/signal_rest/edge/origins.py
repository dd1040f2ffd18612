"""Origin and Host rules, so a web page cannot use the API through its visitor's browser.

    origins = Origins(allowed_origins=["https://dash.example"], allowed_hosts=[], loopback=True)
    origin = origins.check(scope)      # Forbidden, or the Origin to answer CORS for (the edge)

* `Origin` (browsers send it on cross-origin requests and every websocket): a request whose
  Origin is neither the service's own (the one naming the request's Host) nor an allowed origin
  is refused with 403, websockets included; `Origin: null` is refused. Clients that send no
  Origin (curl, bots, client libraries) pass, unless they are a browser loading a tag or
  following a link from another site (`Sec-Fetch-Site: cross-site` or `same-site`).
* `Host`, against DNS rebinding: loopback names (localhost, 127.x.x.x, [::1], any port) are
  always answered, and the names in `allowed_hosts`; any other name only when the service
  listens on a non-loopback address and `allowed_hosts` is empty.
* CORS is answered for the allowed origins only: preflights here, the response header on the
  way out. With no allowed origins there are no CORS headers at all.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence

from starlette.types import Scope, Send

from signal_rest.errors import Forbidden

__all__ = [
    "Origins",
    "cors_headers",
    "is_loopback",
    "is_loopback_host",
    "is_preflight",
    "preflight",
]

CORS_METHODS = b"GET, POST, PUT, PATCH, DELETE, OPTIONS"
CORS_HEADERS = b"Authorization, Content-Type, X-Request-Id"
EXPOSED = b"X-Request-Id, Retry-After, WWW-Authenticate"


def is_loopback(address: str) -> bool:
    """Whether listening on `address` (settings.host) reaches this machine only."""
    if address.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def _hostname(host: str) -> str:
    """`host` (a Host header value) without its port, lowercase, without a final dot."""
    if host.startswith("["):
        name = host[: host.find("]") + 1]
    else:
        name, colon, port = host.rpartition(":")
        if not colon or not port.isdigit():
            name = host
    return name.lower().rstrip(".")


@functools.lru_cache(maxsize=256)  # asked on every request, with the same few values
def is_loopback_host(host: str) -> bool:
    """Whether the Host header value `host` names this machine by a loopback name."""
    name = _hostname(host)
    if name in ("localhost", "[::1]"):
        return True
    if not name.startswith("127."):
        return False
    try:
        return ipaddress.IPv4Address(name).is_loopback
    except ValueError:
        return False


def _shown(value: str) -> str:
    return value if len(value) <= 100 else value[:100] + "..."


class Origins:
    """Refuses foreign origins and hosts, answers CORS for allowed origins (module docstring)."""

    def __init__(
        self,
        *,
        allowed_origins: Sequence[str],
        allowed_hosts: Sequence[str],
        loopback: bool,
    ) -> None:
        self.origins = frozenset(allowed_origins)
        hosts = {host.lower().rstrip(".") for host in allowed_hosts}
        self.any_host = "*" in hosts or (not hosts and not loopback)
        self.hosts = frozenset(hosts)
        self.suffixes = tuple(host[1:] for host in hosts if host.startswith("*."))

    def check(self, scope: Scope) -> bytes | None:
        """The Origin to answer CORS for, on an HTTP request from an allowed origin; None for
        a request that needs no CORS. Raises Forbidden for a request refused by the rules."""
        host: str | None = None
        origin: str | None = None
        site = b""
        for name, value in scope["headers"]:
            if name == b"host":
                host = value.decode("latin-1")
            elif name == b"origin":
                origin = value.decode("latin-1")
            elif name == b"sec-fetch-site":
                site = value
        if host is not None and not self.any_host and not self._host_allowed(host):
            raise Forbidden(
                f"Host {_shown(host)!r} is not allowed: this service answers only to localhost, "
                "127.x.x.x, [::1] and the names in SIGNAL_REST_ALLOWED_HOSTS"
            )
        if origin is None and site in (b"cross-site", b"same-site"):
            # A browser's GET from a tag or a link carries no Origin, only this; it would
            # still take messages from /v1/receive.
            raise Forbidden(
                "A request from another site without an Origin header (an <img> or <script> "
                "tag, a link) is not allowed: web pages may use this API only with fetch() from "
                "the origins in SIGNAL_REST_ALLOWED_ORIGINS"
            )
        if origin is None or self._same_origin(origin, host):
            return None
        if origin.lower().rstrip("/") not in self.origins:
            raise Forbidden(
                f"Origin {_shown(origin)!r} is not allowed: web pages may use this API only "
                "from the origins in SIGNAL_REST_ALLOWED_ORIGINS"
            )
        if scope["type"] == "websocket":
            return None
        return origin.encode("latin-1")

    def _host_allowed(self, host: str) -> bool:
        # A loopback name cannot be rebound to this machine by a page elsewhere: always fine.
        if is_loopback_host(host):
            return True
        name = _hostname(host)
        return name in self.hosts or (bool(self.suffixes) and name.endswith(self.suffixes))

    @staticmethod
    def _same_origin(origin: str, host: str | None) -> bool:
        # The page was served by this service under the name the request uses (scheme aside:
        # a TLS proxy in front changes it). DNS rebinding passes this, which the Host rule stops.
        _, sep, authority = origin.partition("://")
        return bool(sep) and host is not None and authority.lower() == host.lower()


def cors_headers(origin: bytes) -> list[tuple[bytes, bytes]]:
    """The CORS headers of an answer to `origin` (from `Origins.check`)."""
    return [
        (b"access-control-allow-origin", origin),
        (b"vary", b"Origin"),
        (b"access-control-expose-headers", EXPOSED),
    ]


def is_preflight(scope: Scope) -> bool:
    """Whether an HTTP request with an allowed Origin is a CORS preflight."""
    if scope["method"] != "OPTIONS":
        return False
    return any(name == b"access-control-request-method" for name, _ in scope["headers"])


async def preflight(origin: bytes, send: Send) -> None:
    """Answer a CORS preflight of `origin` (from `Origins.check`)."""
    headers = [
        (b"access-control-allow-origin", origin),
        (b"vary", b"Origin"),
        (b"access-control-allow-methods", CORS_METHODS),
        (b"access-control-allow-headers", CORS_HEADERS),
        (b"access-control-max-age", b"600"),
        (b"content-length", b"0"),
    ]
    await send({"type": "http.response.start", "status": 204, "headers": headers})
    await send({"type": "http.response.body", "body": b""})
