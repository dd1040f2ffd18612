"""A hello-world FastAPI route, served exactly as `signal-rest serve` serves the service:
through `signal_rest.server.server_config` (the same uvicorn settings, HTTP protocol and event
loop), so the throughput figure's reference moves with every change to those.

    python -m signal_rest.bench.hello --port N

`GET /` answers `{"hello": "world"}`; `GET /server` what serves it (uvicorn's HTTP protocol
and the event loop), for the report.
"""

from __future__ import annotations

import argparse
import asyncio

import uvicorn
from fastapi import FastAPI, Request

from signal_rest.config import Settings
from signal_rest.server import server_config

__all__ = ["app", "main"]

app = FastAPI()


@app.get("/")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


@app.get("/server")
async def server(request: Request) -> dict[str, str]:
    loop = type(asyncio.get_running_loop())
    return {"http": request.app.state.http, "loop": f"{loop.__module__}.{loop.__qualname__}"}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m signal_rest.bench.hello")
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    config = server_config(app, Settings(host="127.0.0.1", port=port))
    config.load()
    # server_config's protocol is a subclass of uvicorn's H11Protocol or HttpToolsProtocol.
    ours = config.http_protocol_class
    bases = [c for c in ours.__mro__ if c.__module__.startswith("uvicorn.")]
    app.state.http = bases[0].__name__ if bases else ours.__name__
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
