"""The token check every request passes (HTTP and websocket), and the account check routes call.

    guard = TokenGuard(table=table, store=TokenStore(path), default_limit=None)
    token = await guard.check(scope, table.match(scope))   # from the edge, for every request
    require_account(request, body.number)    # where the account is in the body, not the path

While tokens are off (no token file) requests pass untouched. Once on, a request to a route that
is not `open` needs a valid token (401), within its rate limit (429), whose scopes include the
route's (403) and, where the path names an account (`{number}`), that covers it (403). The token
is left in the ASGI scope for `require_account` and `token_of`.

Then, tokens on or off, a path `{number}` that the route table says names an account must be
one of the service's (404 with one text, `signal_rest.jsonrpc.accounts`); a websocket to
another number is refused the same way instead of upgrading. The receive routes also serve a
number whose inbox still holds messages (an account unregistered, its data kept), and serve
the inbox while the daemon can't be asked. Routes that take the account in the body call
`require_known_account` once they have read it.
"""

from __future__ import annotations

import base64
import binascii
import logging

from fastapi import FastAPI
from starlette.requests import HTTPConnection
from starlette.types import Message, Scope
from starlette.websockets import WebSocketDisconnect

from signal_rest.auth.limits import Buckets, RateLimit
from signal_rest.auth.scopes import OPEN, RouteMatch, RouteTable
from signal_rest.auth.tokens import TOKEN_FILE, Token, TokenFileError, TokenSet, TokenStore
from signal_rest.config import Settings
from signal_rest.domain.recipients import number_from_path
from signal_rest.errors import (
    DaemonError,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    ValidationError,
)
from signal_rest.inbox.delivery import Inbox
from signal_rest.jsonrpc.accounts import LocalAccounts

__all__ = [
    "TOKEN_KEY",
    "TokenGuard",
    "allowed_accounts",
    "credentials",
    "require_account",
    "require_known_account",
    "token_guard",
    "token_of",
]

log = logging.getLogger(__name__)

TOKEN_KEY = "signal_rest.token"
QUERY_TOKEN = "token"
NO_TOKEN = (
    "An API token is required: send it as 'Authorization: Bearer <token>', as the password of "
    "HTTP Basic auth or, on a websocket, as the query parameter 'token'"
)


def credentials(scope: Scope) -> str | None:
    """The token a request presents: Bearer, the Basic password or, on a websocket, `?token=`.
    Raises Unauthorized for an Authorization header it can't read."""
    connection = HTTPConnection(scope)
    header = connection.headers.get("authorization")
    if header is not None:
        kind, _, value = header.strip().partition(" ")
        value = value.strip()
        if kind.lower() == "bearer" and value:
            return value
        if kind.lower() == "basic" and value:
            try:
                decoded = base64.b64decode(value, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise Unauthorized("Malformed HTTP Basic credentials") from None
            _user, colon, password = decoded.partition(":")
            if colon and password:
                return password
            raise Unauthorized("HTTP Basic auth needs the API token as its password")
        raise Unauthorized("Unsupported Authorization header: use Bearer or Basic")
    if scope["type"] == "websocket":
        return connection.query_params.get(QUERY_TOKEN) or None
    return None


def token_of(connection: HTTPConnection) -> Token | None:
    """The token a request was let in with; None while tokens are off or on an open route."""
    token = connection.scope.get(TOKEN_KEY)
    return token if isinstance(token, Token) else None


def allowed_accounts(connection: HTTPConnection) -> tuple[str, ...] | None:
    """The accounts the request's token is limited to; None when it is not (tokens off, an open
    route, or a token for every account). For routes without an account in the path that show
    several accounts' things."""
    token = token_of(connection)
    return None if token is None else token.accounts


def require_account(connection: HTTPConnection, number: str) -> None:
    """Refuse (403) unless the request's token may act for account `number`. For routes that
    learn the account from the body; `{number}` in the path is checked before the route runs."""
    token = token_of(connection)
    if token is not None and number and not token.may_act_for(number):
        raise Forbidden(f"This API token may not act for account {number}")


async def require_known_account(connection: HTTPConnection, number: str) -> None:
    """`require_account`, and then 404 unless `number` is an account of the service."""
    require_account(connection, number)
    backend = connection.app.state.backend
    await backend.accounts.require(number)


def _path_account(raw: str) -> str:
    try:
        return number_from_path(raw)
    except ValidationError:
        return raw


class TokenGuard:
    """The token and account checks of every request, made by the edge (`edge.stack`)."""

    def __init__(
        self,
        *,
        table: RouteTable,
        store: TokenStore,
        default_limit: RateLimit | None = None,
        accounts: LocalAccounts | None = None,
        inbox: Inbox | None = None,
    ) -> None:
        self.table = table
        self.store = store
        self.accounts = accounts
        self.inbox = inbox
        self.default_limit = default_limit
        self.buckets = Buckets()

    async def check(self, scope: Scope, match: RouteMatch) -> Token | None:
        """The token `scope` (HTTP or websocket, going to `match`: the route table's match of
        it) is let in with, None when it needs none; raises the SignalApiError to refuse it
        with. The token is left in the scope for the routes."""
        token = self._admit(scope, match)
        if self.accounts is not None:
            await self._account_known(match, self.accounts)
        if token is not None:
            scope[TOKEN_KEY] = token
        return token

    async def _account_known(self, match: RouteMatch, accounts: LocalAccounts) -> None:
        route, needed, params = match
        if route is None or "number" not in params or not self.table.names_account(route):
            return
        try:
            number = number_from_path(str(params["number"]))
        except ValidationError:
            return  # the route answers the malformed number
        try:
            await accounts.require(number)
        except DaemonError:
            if needed != "receive":
                raise
            # The daemon can't say now (it is starting, say): the inbox serves what it has.
        except NotFound:
            if needed != "receive" or self.inbox is None:
                raise
            if not await self.inbox.store.pending(number, 1):
                raise

    def still_valid(self, token: Token) -> bool:
        """Whether `token` is still in force (not revoked or changed since it was let in)."""
        try:
            tokens = self.store.current()
        except TokenFileError:
            return False
        return tokens is None or tokens.by_id.get(token.id) == token

    @staticmethod
    def streams(start: Message) -> bool:
        """Whether a response starting with `start` is an event stream (`GET /api/v1/events`,
        which never ends by itself): once its token is revoked, the edge ends it instead of
        sending more, and the route sees the client as gone, as the ASGI spec has it."""
        return (b"content-type", b"text/event-stream") in start.get("headers", ())

    @staticmethod
    def revoked() -> WebSocketDisconnect:
        """What a websocket's route gets instead of sending a frame once its token is revoked
        (the edge closes the socket with 1008 first): a disconnect, so the message stays
        pending."""
        return WebSocketDisconnect(code=1008, reason="API token revoked")

    def _admit(self, scope: Scope, match: RouteMatch) -> Token | None:
        """The token `scope` may pass with (None: tokens are off, or the route is open)."""
        try:
            tokens, broken = self.store.current(), None
        except TokenFileError as exc:
            tokens, broken = TokenSet(), exc
        if tokens is None:
            return None
        route, needed, params = match
        if needed == OPEN:
            return None
        if broken is not None:
            raise ServiceUnavailable(f"The API token file is unusable: {broken}")
        secret = credentials(scope)
        if secret is None:
            raise Unauthorized(NO_TOKEN)
        token = tokens.verify(secret)
        if token is None:
            raise Unauthorized("Invalid or revoked API token")
        limit = token.limit(self.default_limit)
        if limit is not None:
            wait = self.buckets.take(token.id, limit)
            if wait is not None:
                raise TooManyRequests(
                    f"Rate limit of this API token exceeded ({limit.text}); retry in {wait} s",
                    retry_after=wait,
                )
        if route is None:
            return token  # no such route: the app answers 404
        if needed is None:
            raise Forbidden("This route has no scope in the route table; no token may use it")
        if needed not in token.scopes:
            raise Forbidden(
                f"This API token may not use this route: it needs the '{needed}' scope "
                f"(the token has {', '.join(token.scopes) or 'none'})"
            )
        if "number" in params:
            number = _path_account(str(params["number"]))
            if not token.may_act_for(number):
                raise Forbidden(f"This API token may not act for account {number}")
        return token


def token_guard(app: FastAPI, settings: Settings) -> TokenGuard:
    """The TokenGuard of `app` as `settings` say: the route table, DATA_DIR/tokens.json."""
    store = TokenStore(settings.data_dir / TOKEN_FILE)
    try:
        state = "on" if store.current() is not None else f"off (no {store.path})"
    except TokenFileError as exc:
        state = f"on, but the token file is unusable: {exc}"
    log.info("API tokens are %s", state)
    return TokenGuard(
        table=app.state.route_table,
        store=store,
        default_limit=RateLimit.parse(settings.token_rate_limit),
        accounts=app.state.backend.accounts,
        inbox=app.state.backend.inbox,
    )
