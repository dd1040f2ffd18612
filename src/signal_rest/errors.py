"""The one error hierarchy of signal-rest.

Every error a request can meet is one of these; one handler in `signal_rest.app` renders each as
`{"error": "<message>"}` with the class's HTTP status (plus the extra fields of `RateLimited`).

    SignalApiError                 400
    ├── ValidationError            400  bad input from the HTTP client
    │   └── PayloadTooLarge        413  a body over the configured limit
    ├── Unauthorized               401  API tokens are on and the request carries none that is valid
    ├── Forbidden                  403  not allowed: a token's scope or account, an Origin or Host
    ├── NotFound                   404  no such group, account, code, ...
    ├── RequestTimeout             408  the request's body did not arrive in time
    ├── TooManyRequests            429  an API token went over its rate limit (Retry-After)
    ├── ServiceUnavailable         503  the service can't decide safely (an unusable token file)
    ├── InternalError              500  where the Go project answers 500 (the accounts list)
    └── DaemonError                400  signal-cli (or the sandbox) answered with an error
        ├── RpcError               400  a JSON-RPC error object (code, message, data)
        │   └── RateLimited        429  code -5: carries the challenge tokens
        ├── DaemonTooOld           501  the daemon's signal-cli lacks the method a route needs
        ├── DaemonUnavailable      503  no connection to the daemon
        └── RpcTimeout             504  the daemon did not answer in time

Apart from that tree, `StartupRefused` stops the service from starting: it is logged as one line
(no traceback) and the process exits.

Foreign exceptions (OSError, JSON decode errors, timeouts) are translated into these once, at the
JSON-RPC boundary (`signal_rest.jsonrpc.client`); nothing above it catches OSError.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DaemonError",
    "DaemonTooOld",
    "DaemonUnavailable",
    "Forbidden",
    "InternalError",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "RequestTimeout",
    "RpcError",
    "RpcTimeout",
    "ServiceUnavailable",
    "SignalApiError",
    "StartupRefused",
    "TooManyRequests",
    "Unauthorized",
    "ValidationError",
]


class SignalApiError(Exception):
    """Base of every error signal-rest reports to an HTTP client.

    `message` is the text of the `{"error": ...}` body; `status` the HTTP status.
    """

    status: int = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"error": self.message}

    def headers(self) -> dict[str, str]:
        """Extra response headers (`WWW-Authenticate`, `Retry-After`, ...)."""
        return {}


class ValidationError(SignalApiError):
    """The request itself is wrong: malformed JSON, a wrong type, a missing or invalid field."""


class PayloadTooLarge(ValidationError):
    """The request body is larger than the configured limit; raised while reading, before it is
    buffered whole."""

    status = 413


class Unauthorized(SignalApiError):
    """API tokens are on and the request carries no token, or one that is unknown or revoked."""

    status = 401

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="signal-rest", Basic realm="signal-rest"'}


class Forbidden(SignalApiError):
    """The request is understood but not allowed: its token lacks the route's scope or the
    account, or it comes from a browser origin or names a Host that is not allowed."""

    status = 403


class RequestTimeout(SignalApiError):
    """The client did not send the whole request within the configured time."""

    status = 408

    def headers(self) -> dict[str, str]:
        # The rest of the request may still be on its way: the connection cannot be reused.
        return {"Connection": "close"}


class TooManyRequests(SignalApiError):
    """An API token made more requests than its rate limit allows; `retry_after` is the number of
    seconds until the next one is allowed."""

    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class ServiceUnavailable(SignalApiError):
    """signal-rest itself can't serve the request safely, e.g. the API token file exists but is
    unreadable: refusing is safer than letting the request through."""

    status = 503


class NotFound(SignalApiError):
    """The thing the request names does not exist (a group, a pending verification code, ...)."""

    status = 404


class InternalError(SignalApiError):
    """A failure the Go project reports as 500 rather than 400; kept for its clients."""

    status = 500


class DaemonError(SignalApiError):
    """Something went wrong between signal-rest and the signal-cli daemon (or the sandbox)."""


class RpcError(DaemonError):
    """The daemon answered a request with a JSON-RPC error object.

    `code` is signal-cli's code (-1 user error, -3 IO error, -4 untrusted identity, -5 rate limit,
    -32600.. protocol errors); `data` is the error's `data` member (often `{"response": ...}` with a
    partial send result), passed through unchanged.
    """

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.data = data


class RateLimited(RpcError):
    """signal-cli reported a rate limit (code -5). `challenge_tokens` are the tokens a user can lift
    it with via `/v1/accounts/{number}/rate-limit-challenge`."""

    status = 429

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(code, message, data)
        self.challenge_tokens: list[str] = []
        self.account: str | None = None  # set by /v2/send, whose 429 body names it
        response = data.get("response") if isinstance(data, dict) else None
        results = response.get("results") if isinstance(response, dict) else None
        if isinstance(results, list):
            self.challenge_tokens = [
                str(r.get("token") or "") if isinstance(r, dict) else "" for r in results
            ]

    def body(self) -> dict[str, Any]:
        if self.account is None:
            return super().body()
        body: dict[str, Any] = {
            "error": f"{self.message}. Use the attached challenge tokens to lift the rate limit "
            "restrictions via the '/v1/accounts/{number}/rate-limit-challenge' endpoint."
        }
        if self.challenge_tokens:
            body["challenge_tokens"] = self.challenge_tokens
        body["account"] = self.account
        return body


class DaemonTooOld(DaemonError):
    """The daemon answered "Method not implemented" for a method newer than its signal-cli (polls
    and pins need 0.14): the route cannot work until signal-cli is upgraded."""

    status = 501


class DaemonUnavailable(DaemonError):
    """There is no working connection to the daemon: it is starting, restarting or unreachable."""

    status = 503


class RpcTimeout(DaemonError):
    """The daemon accepted a request but did not answer within the configured timeout."""

    status = 504


class StartupRefused(Exception):
    """The service must not start as configured (another process holds the daemon's socket):
    its text, which says what to do, is logged as one line and the service exits."""
