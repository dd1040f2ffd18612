"""The app factory and the one route table.

    app = create_app(Settings(sandbox=True, data_dir=Path("data")))

The lifespan owns the backend (daemon link, inbox, sandbox or supervisor). Every error is
rendered by one handler as `{"error": "<text>"}` with the status its class carries.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import MethodType
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from signal_rest import __version__
from signal_rest.api import (
    about,
    accounts,
    attachments,
    configuration,
    consumers,
    contacts,
    devices,
    docs,
    events,
    group_avatar,
    group_members,
    group_pins,
    groups,
    identities,
    metrics,
    polls,
    profiles,
    qrcodelink,
    reactions,
    receipts,
    receive,
    register,
    remote_delete,
    sandbox,
    schemas,
    search,
    send,
    signal_cli_http,
    sticker_packs,
    typing_indicator,
    unregister,
)
from signal_rest.api.responses import JSONResponse
from signal_rest.auth.guard import token_guard
from signal_rest.auth.scopes import OPEN, RouteTable
from signal_rest.backend import Backend
from signal_rest.config import Settings
from signal_rest.console import pages as console_pages
from signal_rest.console import parts as console_parts
from signal_rest.domain.recipients import number_from_path
from signal_rest.edge.logs import REQUEST_ID, log_unexpected, printable
from signal_rest.edge.origins import Origins, is_loopback
from signal_rest.edge.redirects import slash_redirect
from signal_rest.edge.requests import new_request_id
from signal_rest.edge.stack import Edge
from signal_rest.errors import RpcError, SignalApiError, ValidationError
from signal_rest.jsonrpc.accounts import SIGNAL_CLI_NO_ACCOUNT, not_an_account
from signal_rest.protocols.accept import quiet_accept_errors

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def _routes(app: FastAPI) -> None:
    # Top to bottom, this is every URL the service answers, with the scope an API token needs
    # for it (open: answered without one). A route added any other way is refused to every token.
    table = RouteTable(app, refusals=schemas.refusals, unknown_account=schemas.errors(404))
    table.mount(about.router, OPEN)  # /v1/about, /v1/health
    table.mount(metrics.router, "admin")  # /metrics (Prometheus; a scraper sends a token)
    table.mount(register.router, "admin")  # /v1/register/{number}[/verify/{token}]
    table.mount(qrcodelink.router, "admin")  # /v1/qrcodelink[/raw]
    table.mount(accounts.router, "admin")  # /v1/accounts[/{number}/username|pin|settings|…]
    table.mount(devices.router, "admin")  # /v1/devices/{number}[/{deviceId}|/local-data]
    table.mount(unregister.router, "admin")  # /v1/unregister/{number}
    table.mount(send.router, "send")  # /v1/send, /v2/send
    table.mount(reactions.router, "send")  # /v1/reactions/{number}
    table.mount(receipts.router, "send")  # /v1/receipts/{number}
    table.mount(typing_indicator.router, "send")  # /v1/typing-indicator/{number}
    table.mount(remote_delete.router, "send")  # /v1/remote-delete/{number}
    table.mount(sticker_packs.router, "send")  # /v1/sticker-packs/{number}
    table.mount(receive.router, "receive")  # /v1/receive/{number} (poll and websocket)
    table.mount(consumers.router, "receive")  # /v1/consumers[/{name}]
    table.mount(attachments.router, "receive")  # /v1/attachments[/{attachment}]
    table.mount(groups.router, "groups")  # /v1/groups/{number}[/{groupid}]
    table.mount(group_members.router, "groups")  # /v1/groups/{number}/{groupid}/members|admins
    table.mount(group_pins.router, "groups")  # /v1/groups/{number}/{groupid}/pin-message
    table.mount(polls.router, "send")  # /v1/polls/{number}[/vote]
    table.mount(search.router, "send")  # /v1/search[/{number}]
    table.mount(group_avatar.router, "groups")  # /v1/groups/{number}/{groupid}/avatar
    table.mount(identities.router, "admin")  # /v1/identities/{number}[/trust/{numberToTrust}]
    table.mount(configuration.router, "admin")  # /v1/configuration[/{number}/settings]
    table.mount(profiles.router, "admin")  # /v1/profiles/{number}
    table.mount(contacts.router, "admin")  # /v1/contacts/{number}[/sync|/{uuid}[/avatar]]
    table.mount(sandbox.router, "admin")  # /v1/sandbox/* (only when the backend is the sandbox)
    # signal-cli's own HTTP API: the passthrough acts for every account, so it is admin's.
    table.mount(signal_cli_http.router, "admin")  # POST /api/v1/rpc
    table.mount(signal_cli_http.check_router, OPEN)  # GET /api/v1/check, like /v1/health
    table.mount(events.router, "receive")  # GET /api/v1/events (Server-Sent Events)
    table.mount(docs.router, OPEN)  # /swagger/index.html + files, /swagger/doc.json, /openapi.json
    # The console: the page and its assets show nothing by themselves; the parts do.
    table.mount(console_pages, OPEN)  # GET /, /console/console.js|css
    table.mount(console_parts, "admin")  # /console/parts/status|link|chat
    table.dispatch()  # last: every route is in the table now


def _unknown_account(request: Request, exc: RpcError) -> SignalApiError:
    """signal-cli's "no such account" on an account route, where the service took the number
    for an account (it went since): the same answer the token guard gives."""
    route, number = request.scope.get("route"), request.path_params.get("number")
    if route is None or number is None or not RouteTable.names_account(route):
        return exc
    try:
        account = number_from_path(str(number))
    except ValidationError:
        return exc
    request.app.state.backend.accounts.forget(account)
    return not_an_account(account)


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SignalApiError)
    async def signal_api_error(request: Request, exc: SignalApiError) -> JSONResponse:
        if isinstance(exc, RpcError) and exc.message == SIGNAL_CLI_NO_ACCOUNT:
            exc = _unknown_account(request, exc)
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers())

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        text = f"Couldn't process request - invalid {where}: {first.get('msg', 'invalid value')}"
        return JSONResponse({"error": text}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api/v1/") and exc.status_code in (404, 405):
            # signal-cli's HTTP API answers as signal-cli's HTTP server does.
            if exc.status_code == 405:
                return signal_cli_http.wrong_method(request.method)
            return signal_cli_http.not_found(request.url.path)
        if exc.status_code == 404 and (redirect := slash_redirect(request)):
            return redirect
        if exc.status_code in (404, 405):
            # The Go project answers unknown routes and wrong methods alike with 404.
            return JSONResponse({"error": "404 page not found"}, status_code=404)
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The body never carries exception texts or paths; the log has them, under the id.
        # The edge set the request's id, and sends it as X-Request-Id.
        request_id = REQUEST_ID.get() or new_request_id()
        path = printable(request.url.path)
        log_unexpected(log, exc, request_id, "unexpected error on %s %s", request.method, path)
        return JSONResponse(
            {"error": f"Internal error (request id {request_id}); see the service log"},
            status_code=500,
        )


class App(FastAPI):
    """The FastAPI app, entered through its edge (`edge.stack`) once `create_app` set it."""

    edge: Edge | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.edge is None:
            await super().__call__(scope, receive, send)
        else:
            await self.edge(scope, receive, send)


def _edge(app: App, settings: Settings) -> Edge:
    # What every request passes before a route, in one layer (edge.stack): request ids and the
    # access log, metrics by route, Origin and Host rules, the body deadline (header time:
    # server.py), API tokens with their scopes and rate limits. Behind it, FastAPI's own stack
    # answers what is not a plain route.
    origins = Origins(
        allowed_origins=settings.allowed_origins,
        allowed_hosts=settings.allowed_hosts,
        loopback=is_loopback(settings.host),
    )
    return Edge(
        app,
        MethodType(FastAPI.__call__, app),
        access=settings.access_log,
        origins=origins,
        guard=token_guard(app, settings),
        body_timeout=settings.body_timeout,
    )


# FastAPI's own OpenTelemetry hooks (newer FastAPI) look up their providers on every request;
# the service has its own metrics (GET /metrics), so they are off where FastAPI has them.
_WITHOUT_TELEMETRY: dict[str, Any] = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters
    else {}
)


def create_app(settings: Settings, *, backend: Backend | None = None) -> FastAPI:
    """A new app; its lifespan starts `backend` (default: one built from `settings`)."""
    owned = backend or Backend.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        quiet_accept_errors(asyncio.get_running_loop())  # once per burst, not per try
        await owned.start()
        try:
            yield
        finally:
            app.state.stopping.set()  # under another server than server.py's: now at the latest
            await receive.close_websockets(app)
            await owned.stop()

    app = App(
        title="signal-rest",
        version=__version__,
        description="The signal-cli-rest-api HTTP API over signal-cli's JSON-RPC daemon.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # api.docs serves the document, at the Go path and /openapi.json
        redirect_slashes=False,  # edge.redirects answers them, with a relative Location
        default_response_class=JSONResponse,  # jsoncodec's
        **_WITHOUT_TELEMETRY,
    )
    app.state.backend = owned
    app.state.settings = settings
    app.state.websockets = set()
    # Set when the server begins to shut down (server.py): never-ending responses end then.
    app.state.stopping = asyncio.Event()
    _routes(app)
    schemas.tidy_responses(app)
    _error_handlers(app)
    app.edge = _edge(app, settings)
    return app
