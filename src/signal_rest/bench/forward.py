"""A FastAPI route that only forwards `POST /v2/send` to the backend: a floor for the
throughput figure. Served exactly as `signal-rest serve` serves the service (through
`signal_rest.server.server_config`), like the hello-world reference.

    python -m signal_rest.bench.forward --port N --socket PATH

Each request's body becomes one JSON-RPC `send` (`message`, `account`, `recipient`) on one
persistent connection to the daemon's socket, calls multiplexed by id; the answer is the Go
project's `{"timestamp": "…"}` with 201. Nothing else: no validation beyond the JSON, no auth,
no metrics, no access log. It subscribes to the accounts' messages as the service does and
drops each one once parsed, as the Go project does with no websocket open: each send's
delivery receipt comes back to it (the service stores them), and none is left queued in the
daemon for whatever runs next. Any front with the service's features does at least this much
per send, so its rate is about the highest such a front can reach on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
from typing import Any, cast

import orjson
import uvicorn
from fastapi import FastAPI, Request, Response

from signal_rest.config import Settings
from signal_rest.server import server_config

__all__ = ["app", "main"]

app = FastAPI()


class _Daemon(asyncio.Protocol):
    """One JSON-RPC connection: `call` writes a request and waits for the answer with its id."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.ids = itertools.count(1)
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass of it

    def data_received(self, data: bytes) -> None:
        *lines, self.buffer = (self.buffer + data).split(b"\n")
        for line in lines:
            answer = orjson.loads(line)  # a notification (no id) goes no further
            waiting = self.waiting.pop(answer.get("id"), None)
            if waiting is not None and not waiting.done():
                waiting.set_result(answer)

    def connection_lost(self, exc: Exception | None) -> None:
        for waiting in self.waiting.values():
            if not waiting.done():
                waiting.set_exception(ConnectionError("the daemon closed the connection"))

    async def call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        assert self.transport is not None
        call_id = next(self.ids)
        answer = self.waiting[call_id] = asyncio.get_running_loop().create_future()
        request = {"jsonrpc": "2.0", "id": call_id, "method": method, "params": params}
        self.transport.write(orjson.dumps(request) + b"\n")
        result: dict[str, Any] = await answer
        return result


async def _daemon() -> _Daemon:
    daemon: _Daemon | None = getattr(app.state, "daemon", None)
    if daemon is None:
        loop = asyncio.get_running_loop()
        _, daemon = await loop.create_unix_connection(_Daemon, app.state.socket)
        await daemon.call("subscribeReceive", {})
        app.state.daemon = daemon
    return daemon


@app.post("/v2/send")
async def send(request: Request) -> Response:
    body = orjson.loads(await request.body())
    params = {
        "message": body["message"],
        "account": body["number"],
        "recipient": body["recipients"],
    }
    answer = await (await _daemon()).call("send", params)
    timestamp = str(answer["result"]["timestamp"])
    return Response(orjson.dumps({"timestamp": timestamp}), 201, media_type="application/json")


@app.get("/ready")
async def ready() -> dict[str, bool]:
    await _daemon()
    return {"ready": True}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m signal_rest.bench.forward")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--socket", required=True)
    arguments = parser.parse_args()
    app.state.socket = arguments.socket
    uvicorn.Server(server_config(app, Settings(host="127.0.0.1", port=arguments.port))).run()


if __name__ == "__main__":
    main()
