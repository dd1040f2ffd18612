"""The real service on a real port, in a thread, for end-to-end tests over HTTP."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from signal_rest.app import create_app
from signal_rest.backend import Backend
from signal_rest.config import Settings
from signal_rest.server import loop_factory, server_config


@dataclass
class RunningService:
    settings: Settings
    app: FastAPI
    server: uvicorn.Server
    thread: threading.Thread
    loop: asyncio.AbstractEventLoop
    port: int
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.url, timeout=30)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def backend(self) -> Backend:
        backend: Backend = self.app.state.backend
        return backend

    def run(self, work: Coroutine[Any, Any, Any]) -> Any:
        """Run `work` on the service's event loop and return its result."""
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout=30)

    def stop(self) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "the service did not stop within 30 s"
        self.loop.close()


def start_service(data_dir: Path, *, bind: str | None = None, **overrides: Any) -> RunningService:
    """signal-rest in a thread on a free port: on the sandbox unless `overrides` say otherwise.
    `bind` listens on another address than settings.host says (the app still sees that)."""
    options: dict[str, Any] = {"sandbox": True, "host": "127.0.0.1", "port": 0, **overrides}
    settings = Settings(data_dir=data_dir, **options)
    app = create_app(settings)
    served = {"log_level": "warning", "host": bind or settings.host}
    config = server_config(app, settings.model_copy(update=served))
    server = uvicorn.Server(config)
    loop = loop_factory(settings)()  # uvloop where installed, as `signal-rest serve` runs
    thread = threading.Thread(
        target=loop.run_until_complete,
        args=(server.serve(),),
        name="signal-rest-under-test",
        daemon=True,
    )
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise AssertionError("the service did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return RunningService(settings, app, server, thread, loop, port)
