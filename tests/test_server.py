"""The server under the app: httptools and uvloop where installed, h11 and asyncio otherwise,
and the service answers the same on either."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from websockets.sync.client import connect

from signal_rest.app import create_app
from signal_rest.config import Settings
from signal_rest.server import event_loop, http_parser, server_config
from tests.api.test_websocket import expected_frame, next_frame, send_from_outside
from tests.support.flows import ALICE, BOB, register
from tests.support.service import start_service


def test_by_default_the_fast_parser_and_loop_serve(tmp_path: Path) -> None:
    settings = Settings(sandbox=True, data_dir=tmp_path)
    config = server_config(create_app(settings), settings)

    assert (http_parser(settings), event_loop(settings)) == ("httptools", "uvloop")
    assert issubclass(config.http, HttpToolsProtocol)  # type: ignore[arg-type]
    assert config.loop == "uvloop"


@pytest.mark.parametrize(
    ("parser", "loop", "protocol"),
    [("h11", "asyncio", H11Protocol), ("httptools", "uvloop", HttpToolsProtocol)],
)
def test_the_service_answers_alike_on_either_parser_and_loop(
    tmp_path: Path, parser: str, loop: str, protocol: type
) -> None:
    service = start_service(tmp_path, http_parser=parser, event_loop=loop)
    try:
        assert issubclass(service.server.config.http, protocol)  # type: ignore[arg-type]
        running = type(service.loop).__module__.split(".")[0]
        assert running == ("uvloop" if loop == "uvloop" else "asyncio")
        register(service.client, ALICE)
        register(service.client, BOB)
        body = {"number": ALICE, "recipients": [BOB], "message": "hi"}
        sent = service.client.post("/v2/send", json=body)
        assert sent.status_code == 201, sent.text
        assert list(sent.json()[0]) == ["timestamp"]

        with connect(f"{service.ws_url}/v1/receive/{ALICE}", open_timeout=10) as ws:
            ts = send_from_outside(service, ALICE, "over the websocket")
            frame = next_frame(ws)
            while "dataMessage" not in frame["envelope"]:  # BOB's receipt may come first
                frame = next_frame(ws)
            assert frame == expected_frame(frame, account=ALICE, ts=ts, text="over the websocket")

        with socket.create_connection(("127.0.0.1", service.port), timeout=10) as raw:
            raw.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            answer = raw.recv(4096)
        head, _, error = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n")
        assert json.loads(error)["error"].startswith("Malformed HTTP request: ")
    finally:
        service.stop()
