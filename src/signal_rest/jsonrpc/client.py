"""One long-lived JSON-RPC connection to signal-cli (or the sandbox), shared by all requests.

    client = RpcClient(UnixTransport("/run/signal-cli.sock"), timeout=30)
    await client.start()                 # connects in the background, reconnects when it drops
    version = await client.call("version")
    await client.close()

Requests are multiplexed: each gets an id, its future is registered *before* the line is written,
and responses (which signal-cli sends in any order) are matched by id. Every call has a timeout.
Notifications (`receive`) are handed to the `on_notification` callback in arrival order, by a
task of their own: a slow handler (the inbox writes each message to disk) never holds up the
responses behind it. `close()` lets the handler finish what has arrived before it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from signal_rest.errors import DaemonError, DaemonUnavailable, RateLimited, RpcError, RpcTimeout
from signal_rest.jsonrpc.transports import Connection, Transport

__all__ = ["RpcClient", "error_from_response"]

log = logging.getLogger(__name__)

# How long close() waits for the notification handler to finish what has arrived.
NOTIFICATION_DRAIN_TIMEOUT = 30.0

NotificationHandler = Callable[[str, Any], Awaitable[None]]
ConnectHook = Callable[[], Awaitable[None]]


def error_from_response(error: dict[str, Any]) -> RpcError:
    """Translate a JSON-RPC error object into our error type (the one place codes are mapped)."""
    code = error.get("code")
    code = code if isinstance(code, int) else -32603
    message = str(error.get("message") or "Unknown error")
    data = error.get("data")
    if code == -5:
        return RateLimited(code, message, data)
    if code == -4:
        # The Go project replaces signal-cli's text; clients match on it.
        return RpcError(code, "Unable to complete request due to untrusted recipient keys", data)
    return RpcError(code, message, data)


@contextlib.asynccontextmanager
async def _map_connection_errors(description: str) -> AsyncIterator[None]:
    """OSError and friends become DaemonUnavailable, here and nowhere else."""
    try:
        yield
    except (OSError, EOFError, asyncio.IncompleteReadError, ConnectionError) as exc:
        raise DaemonUnavailable(
            f"signal-cli daemon at {description} is not reachable: {exc}"
        ) from exc


class RpcClient:
    """A multiplexed JSON-RPC client over one connection, reconnecting with back-off."""

    def __init__(
        self,
        transport: Transport,
        *,
        timeout: float = 60.0,
        on_notification: NotificationHandler | None = None,
        reconnect_delay: float = 0.2,
        max_reconnect_delay: float = 5.0,
    ) -> None:
        self.transport = transport
        self.timeout = timeout
        self.on_notification = on_notification
        self._on_connect: list[ConnectHook] = []
        self._reconnect_delay = reconnect_delay
        self._max_reconnect_delay = max_reconnect_delay
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._conn: Connection | None = None
        self._connected = asyncio.Event()
        self._closed = False
        self._task: asyncio.Task[None] | None = None
        self._notifications: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._notifier: asyncio.Task[None] | None = None
        self._hook_tasks: set[asyncio.Task[None]] = set()
        self.last_error = "not connected yet"

    @property
    def connected(self) -> bool:
        return self._conn is not None

    def add_connect_hook(self, hook: ConnectHook) -> None:
        """Run `hook` after every (re)connection, e.g. to subscribe to incoming messages."""
        self._on_connect.append(hook)

    async def start(self) -> None:
        self._notifier = asyncio.create_task(self._notify(), name="jsonrpc-notifications")
        self._task = asyncio.create_task(self._run(), name="jsonrpc-connection")

    async def wait_connected(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for task in list(self._hook_tasks):
            task.cancel()
        await self._drop_connection("client closed")
        if self._notifier is not None:
            # signal-cli considers what it wrote to us as delivered: hand all of it over.
            try:
                await asyncio.wait_for(self._notifications.join(), NOTIFICATION_DRAIN_TIMEOUT)
            except TimeoutError:
                log.error("%d notifications were not handled", self._notifications.qsize())
            self._notifier.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._notifier

    async def call(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> Any:
        """Send one request and wait for its result; errors come back as RpcError subclasses."""
        conn = self._conn
        if conn is None:
            raise DaemonUnavailable(
                f"signal-cli daemon at {self.transport.description} is not available: "
                f"{self.last_error}"
            )
        request_id = str(next(self._ids))
        request: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": request_id}
        if params is not None:
            request["params"] = params
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            async with _map_connection_errors(self.transport.description):
                await conn.send_line(json.dumps(request, ensure_ascii=False).encode())
            return await asyncio.wait_for(future, timeout or self.timeout)
        except TimeoutError as exc:
            raise RpcTimeout(
                f"signal-cli did not answer {method} within {timeout or self.timeout:g} s"
            ) from exc
        finally:
            self._pending.pop(request_id, None)

    async def _run(self) -> None:
        delay = self._reconnect_delay
        while not self._closed:
            try:
                async with _map_connection_errors(self.transport.description):
                    conn = await self.transport.connect()
            except DaemonUnavailable as exc:
                self.last_error = exc.message
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_reconnect_delay)
                continue
            delay = self._reconnect_delay
            self._conn = conn
            self._connected.set()
            log.info("connected to %s", self.transport.description)
            for hook in self._on_connect:
                task = asyncio.create_task(self._run_hook(hook))
                self._hook_tasks.add(task)
                task.add_done_callback(self._hook_tasks.discard)
            reason = await self._read_until_closed(conn)
            await self._drop_connection(reason)
            if not self._closed:
                log.warning("lost %s: %s", self.transport.description, reason)

    async def _run_hook(self, hook: ConnectHook) -> None:
        # Hooks run as background tasks nobody awaits: their errors (e.g. subscribeReceive on a
        # connection that dropped again) are logged here, not lost as "exception never
        # retrieved". The next connection runs the hook again.
        try:
            await hook()
        except DaemonError as exc:
            log.warning("connect hook %s failed: %s", getattr(hook, "__name__", hook), exc.message)
        except Exception:
            log.exception("connect hook %s failed", getattr(hook, "__name__", hook))

    async def _read_until_closed(self, conn: Connection) -> str:
        while True:
            try:
                async with _map_connection_errors(self.transport.description):
                    line = await conn.read_line()
            except DaemonUnavailable as exc:
                return exc.message
            except ValueError as exc:  # a line over the stream limit
                return f"unreadable line from daemon: {exc}"
            if not line:
                return "the daemon closed the connection"
            self._dispatch(line)

    def _dispatch(self, line: bytes) -> None:
        try:
            message = json.loads(line)
        except (ValueError, RecursionError):  # RecursionError: nested too deep to parse
            log.warning("ignoring a line that is not JSON (%d bytes)", len(line))
            return
        messages = message if isinstance(message, list) else [message]
        for item in messages:
            if not isinstance(item, dict):
                continue
            if "method" in item and "id" not in item:
                if self.on_notification is not None:
                    self._notifications.put_nowait((str(item["method"]), item.get("params")))
                continue
            future = self._pending.get(str(item.get("id")))
            if future is None or future.done():
                continue
            if isinstance(item.get("error"), dict):
                future.set_exception(error_from_response(item["error"]))
            else:
                future.set_result(item.get("result"))

    async def _notify(self) -> None:
        while True:
            method, params = await self._notifications.get()
            try:
                if self.on_notification is not None:
                    await self.on_notification(method, params)
            except Exception:
                log.exception("notification handler failed")
            finally:
                self._notifications.task_done()

    async def _drop_connection(self, reason: str) -> None:
        conn, self._conn = self._conn, None
        self._connected.clear()
        self.last_error = reason
        for future in self._pending.values():
            if not future.done():
                future.set_exception(
                    DaemonUnavailable(f"lost the connection to signal-cli: {reason}")
                )
        if conn is not None:
            await conn.close()
