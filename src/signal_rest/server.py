"""How the HTTP server runs the app: one uvicorn configuration for the CLI and the tests.

    server = uvicorn.Server(server_config(create_app(settings), settings))
    server.run()                                   # on loop_factory(settings)'s loop

Whatever protects the service below the ASGI app (connection limits, header timeouts) is set
here, so the tests exercise exactly what `signal-rest serve` runs. The HTTP parser and the event
loop are the fast ones (httptools, uvloop) where they are installed, else uvicorn's pure-Python
h11 and asyncio's own loop; settings `http_parser` and `event_loop` choose either.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from signal_rest import eventloop
from signal_rest.config import Settings
from signal_rest.protocols.http import http_protocol, listen_backlog
from signal_rest.protocols.websocket import WebSocketProtocol

__all__ = ["LOG_LEVELS", "event_loop", "http_parser", "loop_factory", "server_config"]

LOG_LEVELS = {"debug": "debug", "info": "info", "warn": "warning", "warning": "warning"}


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def http_parser(settings: Settings) -> str:
    """ "httptools" or "h11": what settings.http_parser asks for, "auto" being httptools where
    it is installed."""
    if settings.http_parser == "auto":
        return "httptools" if _installed("httptools") else "h11"
    return settings.http_parser


def event_loop(settings: Settings) -> str:
    """ "uvloop" or "asyncio", as http_parser."""
    return eventloop.resolve(settings.event_loop)


def loop_factory(settings: Settings) -> Callable[[], asyncio.AbstractEventLoop]:
    """What makes the event loop the service runs on."""
    return eventloop.factory(settings.event_loop)


def _protocol_base(parser: str) -> type[Any]:
    # Only the parser in use is loaded.
    if parser == "httptools":
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        return HttpToolsProtocol
    from uvicorn.protocols.http.h11_impl import H11Protocol

    return H11Protocol


def server_config(app: ASGIApp, settings: Settings) -> uvicorn.Config:
    """The uvicorn configuration that serves `app` as `settings` say. The app's `stopping`
    event (create_app's `app.state.stopping`) is set as soon as the server begins to shut
    down."""
    stopping = getattr(getattr(app, "state", None), "stopping", None)
    on_shutdown = stopping.set if isinstance(stopping, asyncio.Event) else None
    base = _protocol_base(http_parser(settings))
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=LOG_LEVELS.get(settings.log_level, "error"),
        log_config=None,  # logging is signal_rest.edge.logs's (set up by cli.run)
        access_log=False,  # the edge (edge.stack) logs requests, with their ids
        # header_timeout, max_connections
        http=http_protocol(settings, base, on_shutdown=on_shutdown),
        loop=event_loop(settings),
        backlog=listen_backlog(settings),
        ws=WebSocketProtocol,
        ws_max_size=1024 * 1024,
        # No permessage-deflate, as the Go project (its websocket upgrader leaves compression
        # off): an envelope is a few hundred bytes, and compressing each frame cost more CPU
        # and latency than it saved on a loopback or LAN link. Clients that offer it go on
        # uncompressed.
        ws_per_message_deflate=False,
        timeout_graceful_shutdown=10,
    )
