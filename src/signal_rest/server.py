"""How the HTTP server runs the app: one uvicorn configuration for the CLI and the tests.

    server = uvicorn.Server(server_config(create_app(settings), settings))
    server.run()

Whatever protects the service below the ASGI app (connection limits, header timeouts) is set
here, so the tests exercise exactly what `signal-rest serve` runs.
"""

from __future__ import annotations

import asyncio

import uvicorn
from fastapi import FastAPI

from signal_rest.config import Settings
from signal_rest.protocols.http import http_protocol, listen_backlog
from signal_rest.protocols.websocket import WebSocketProtocol

__all__ = ["LOG_LEVELS", "server_config"]

LOG_LEVELS = {"debug": "debug", "info": "info", "warn": "warning", "warning": "warning"}


def server_config(app: FastAPI, settings: Settings) -> uvicorn.Config:
    """The uvicorn configuration that serves `app` as `settings` say. The app's `stopping`
    event (create_app's) is set as soon as the server begins to shut down."""
    stopping = getattr(app.state, "stopping", None)
    on_shutdown = stopping.set if isinstance(stopping, asyncio.Event) else None
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=LOG_LEVELS.get(settings.log_level, "error"),
        log_config=None,  # logging is signal_rest.edge.logs's (set up by cli.run)
        access_log=False,  # edge.requests.RequestLog logs each request, with its id
        http=http_protocol(settings, on_shutdown=on_shutdown),  # header_timeout, max_connections
        backlog=listen_backlog(settings),
        ws=WebSocketProtocol,
        ws_max_size=1024 * 1024,
        timeout_graceful_shutdown=10,
    )
