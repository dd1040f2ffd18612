"""A hello-world FastAPI route, served exactly as `signal-rest serve` serves the service:
through `signal_rest.server.server_config` (the same uvicorn settings, HTTP protocol and event
loop), so the throughput figure's reference moves with every change to those.

    python -m signal_rest.bench.hello --port N

`GET /` answers `{"hello": "world"}`; `GET /server` what serves it (uvicorn's HTTP protocol
and the event loop), for the report. `GET /bare` answers the same bytes from a plain ASGI
callable in front of the FastAPI app, so without FastAPI's routing, dependencies and response
classes: what the service's edge (edge/stack.py) costs before it calls a plain route such as
`/v2/send` directly, the floor of the send latency figure.
"""

from __future__ import annotations

import argparse
import asyncio

import uvicorn
from fastapi import FastAPI, Request
from starlette.types import Receive, Scope, Send

from signal_rest.config import Settings
from signal_rest.server import server_config

__all__ = ["app", "main"]

HELLO = b'{"hello":"world"}'
BARE_HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(HELLO))]

app = FastAPI()


@app.get("/")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


@app.get("/server")
async def server(request: Request) -> dict[str, str]:
    loop = type(asyncio.get_running_loop())
    return {"http": request.app.state.http, "loop": f"{loop.__module__}.{loop.__qualname__}"}


class Front:
    """The served app: `GET /bare` answered here, anything else by the FastAPI app."""

    def __init__(self, inner: FastAPI) -> None:
        self.inner = inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/bare":
            await send({"type": "http.response.start", "status": 200, "headers": BARE_HEADERS})
            await send({"type": "http.response.body", "body": HELLO})
        else:
            await self.inner(scope, receive, send)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m signal_rest.bench.hello")
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    config = server_config(Front(app), Settings(host="127.0.0.1", port=port))
    config.load()
    # server_config's protocol is a subclass of uvicorn's H11Protocol or HttpToolsProtocol.
    ours = config.http_protocol_class
    bases = [c for c in ours.__mro__ if c.__module__.startswith("uvicorn.")]
    app.state.http = bases[0].__name__ if bases else ours.__name__
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
