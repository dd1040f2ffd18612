"""A real HTTP server that plays a webhook target: it records every request it gets, answers with
the status it is told to, and can be stopped (nothing listens: connection refused) and started
again on the same port.

    with WebhookTarget() as target:
        target.status = 500           # answer every request with this
        target.headers = {"Retry-After": "2"}                            # and these headers
        target.answer = lambda body: 500 if b"spam" in body else 200   # or decide per body
        target.answer_request = lambda body, headers: 200                # … and its headers
        target.hold()                 # answer nothing until released (a hanging target)
        target.release()
        target.stop()                 # unreachable
        target.start()                # back, same URL
        requests = target.wait_for(lambda rs: len(delivered(rs)) >= 3, "three deliveries")
"""

from __future__ import annotations

import contextlib
import http.server
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

__all__ = ["Received", "WebhookTarget", "delivered"]


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    answered: int  # the status the target answered with; 0: held unanswered (see `hold`)
    at: float  # time.monotonic() when it came in


def delivered(requests: list[Received]) -> list[Received]:
    """The requests the target took (answered 2xx)."""
    return [r for r in requests if 200 <= r.answered < 300]


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real target would
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        target = self.server.target
        held = target._held
        status = 0 if held is not None else target.status
        headers = {name.lower(): value for name, value in self.headers.items()}
        if held is None and target.answer is not None:
            status = target.answer(body)
        if held is None and target.answer_request is not None:
            status = target.answer_request(body, headers)
        target._record(Received(self.path, headers, body, status, time.monotonic()))
        if held is not None:
            held.wait(30)
            self.close_connection = True
            return
        self.send_response(status)
        self.send_header("Content-Length", "0")
        for name, value in target.headers.items():
            self.send_header(name, value)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    target: WebhookTarget

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Handler)
        self.connections: set[socket.socket] = set()
        self.lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        with self.lock:
            for connection in self.connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)


class WebhookTarget:
    def __init__(self) -> None:
        self.status = 200
        self.headers: dict[str, str] = {}  # sent with every answer
        self.requests: list[Received] = []
        self._held: threading.Event | None = None
        self.answer: Callable[[bytes], int] | None = None
        self.answer_request: Callable[[bytes, dict[str, str]], int] | None = None  # and headers
        self._changed = threading.Condition()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        server = _Server(("127.0.0.1", self.port))
        server.target = self
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="webhook-target")
        self._thread.start()

    def stop(self) -> None:
        """Stop listening and drop open connections: the next request finds nothing there."""
        self.release()
        if self._server is None or self._thread is None:
            return
        self._server.shutdown()
        self._server.server_close()
        # The client's kept-alive connections would still reach their handler threads.
        self._server.drop_connections()
        self._thread.join(timeout=10)
        self._server = None
        probe = socket.socket()
        try:
            assert probe.connect_ex(("127.0.0.1", self.port)) != 0, "the target still listens"
        finally:
            probe.close()

    def hold(self) -> None:
        """From now on, take requests and answer nothing until `release`."""
        self._held = threading.Event()

    def release(self) -> None:
        """Drop the held requests unanswered and answer new ones again."""
        held, self._held = self._held, None
        if held is not None:
            held.set()

    def _record(self, received: Received) -> None:
        with self._changed:
            self.requests.append(received)
            self._changed.notify_all()

    def wait_for(
        self, condition: Callable[[list[Received]], bool], what: str, timeout: float = 20.0
    ) -> list[Received]:
        """The requests so far, once `condition` holds for them (AssertionError after `timeout`)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition(self.requests):
                left = deadline - time.monotonic()
                assert left > 0, f"timed out waiting for {what}: {len(self.requests)} requests"
                self._changed.wait(left)
            return list(self.requests)

    def __enter__(self) -> WebhookTarget:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
