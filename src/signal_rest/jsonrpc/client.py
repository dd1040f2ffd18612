"""One long-lived JSON-RPC connection to signal-cli (or the sandbox), shared by all requests.

    client = RpcClient(UnixTransport("/run/signal-cli.sock"), timeout=30)
    await client.start()                 # connects in the background, reconnects when it drops
    version = await client.call("version")
    await client.close()

Requests are multiplexed: each gets an id, its future is registered *before* its line is queued,
and responses (which signal-cli sends in any order) are matched by id.

Every call is bounded from the moment it is queued: its timeout covers waiting for its turn to
be written, the write (and drain) itself, and the wait for the answer. Lines are written by one
writer task per connection, never by the callers, so a daemon that stops reading (stopped,
hung, slow on a huge line) holds up only that task; every caller still gives up at its own
deadline with RpcTimeout. A caller that gives up before its line was started takes the line out
of the queue: it is never sent, and the memory of a queue behind a frozen daemon stays bounded by
the callers still waiting. A line whose write has begun is always finished by the writer, because
newline framing cannot survive half a line; dropping the connection instead would fail every
other call in flight and lose notifications signal-cli has already written to us. Small lines
are written before large ones that are still waiting, so a 20 MB send queued next to a health
check does not make the check wait for it.

An `observer` (the backend sets one for the metrics) hears how each call ended: its method, its
duration and None or why it failed (the JSON-RPC error code as text, or `timeout`,
`unavailable`, `failed`, `cancelled`). It is called on the event loop and must not block.

Notifications (`receive`) are handed to the `on_notification` callback in arrival order, by a
task of their own: a slow handler (the inbox writes each message to disk) never holds up the
responses behind it, until NOTIFICATIONS_AHEAD of them wait for it. Then the reader stops
reading until the handler catches up: what the daemon sends waits in the socket and then in
the daemon (signal-cli's write blocks, and it acknowledges a message to Signal's server only
once written), instead of piling up in this process, where a crash would lose it. Answers
behind those notifications wait too; the handler must not wait for a call's answer.
`close()` lets the handler finish what has arrived before it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from signal_rest import jsoncodec
from signal_rest.errors import (
    DaemonError,
    DaemonUnavailable,
    RateLimited,
    RpcError,
    RpcTimeout,
    ValidationError,
)
from signal_rest.jsonrpc.outbox import SMALL_LINE, Outbox
from signal_rest.jsonrpc.transports import Connection, LineTooLong, Transport

__all__ = ["RpcClient", "error_from_response"]

log = logging.getLogger(__name__)

# Queued among the notifications by caught_up(): not one, only a mark of how far they got.
_BARRIER = "\x00caught-up"
# How long close() waits for the notification handler to finish what has arrived.
NOTIFICATION_DRAIN_TIMEOUT = 30.0
# Notifications read and waiting for the handler, at most, before the reader stops reading.
NOTIFICATIONS_AHEAD = 64
# A connection attempt that takes longer (a TCP peer that drops packets) counts as failed.
CONNECT_TIMEOUT = 10.0
MIB = 1024 * 1024
# signal-cli's JSON parser (Jackson's StreamReadConstraints) refuses a string value longer than
# this, and signal-cli then closes the connection, failing every other call in flight. Such a
# request is refused before it is written. The sandbox's own `sandbox.*` methods have no limit.
MAX_STRING = 20_000_000

NotificationHandler = Callable[[str, Any], Awaitable[None]]
ConnectHook = Callable[[], Awaitable[None]]
CallObserver = Callable[[str, float, str | None], None]

# signal-cli (Jackson) and the sandbox write `"id"` last in a response.
_TRAILING_ID = re.compile(rb'"id"\s*:\s*"?([^",}\s]+)"?\s*}\s*$')


async def _cancelled(task: asyncio.Task[Any]) -> None:
    """Cancel `task` and wait until it ended. Unlike awaiting it under
    suppress(CancelledError), a cancel of the caller itself still reaches the caller."""
    task.cancel()
    await asyncio.wait([task])
    if not task.cancelled() and task.exception() is not None:
        # An error it ended with instead is logged, not raised: shutting down goes on.
        log.error("%s had failed", task.get_name(), exc_info=task.exception())


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


def _error_code(error: dict[str, Any]) -> str:
    # As error_from_response reads it.
    return str(error_from_response(error).code)


def _java_length(text: str) -> int:
    """The length Java sees: UTF-16 code units, two for a character beyond the BMP (emoji)."""
    if len(text) * 2 <= MAX_STRING:
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def _overlong_string(value: Any, name: str) -> tuple[str, int] | None:
    """The first string in `value` longer than MAX_STRING: (the param it is in, its length)."""
    if isinstance(value, str):
        length = _java_length(value)
        return (name, length) if length > MAX_STRING else None
    if isinstance(value, dict):
        children = [(str(key), item) for key, item in value.items()]
    elif isinstance(value, list):
        children = [(name, item) for item in value]
    else:
        return None
    for child_name, child in children:
        found = _overlong_string(child, child_name)
        if found is not None:
            return found
    return None


def _reason(exc: BaseException) -> str:
    """Why the connection failed, in a user's words and without paths (those go to the log).

    This is where OSError and friends are translated, and nowhere else."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, FileNotFoundError):
        return "no socket at the configured path"
    if isinstance(exc, PermissionError):
        return "permission denied on its socket"
    if isinstance(exc, BrokenPipeError | EOFError | asyncio.IncompleteReadError):
        return "it closed the connection"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, TimeoutError):
        return "connecting timed out"
    if isinstance(exc, OSError):
        # Not str(exc): that names the socket's path when the error carries it.
        first = exc.args[0] if exc.args else None
        text = exc.strerror or (first if isinstance(first, str) else "")
        return text[:1].lower() + text[1:] if text else type(exc).__name__
    return str(exc) or type(exc).__name__


_CONNECTION_ERRORS = (OSError, EOFError, asyncio.IncompleteReadError)


@dataclass
class _Link:
    """One open connection and the lines waiting to be written to it."""

    conn: Connection
    outbox: Outbox = field(default_factory=Outbox)
    writing: int = 0  # the size of the line being written, 0 when none is


def _expire(future: asyncio.Future[Any], method: str, limit: float) -> None:
    if not future.done():
        future.set_exception(RpcTimeout(f"signal-cli did not answer {method} within {limit:g} s"))


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
        self._link: _Link | None = None
        self._connected = asyncio.Event()
        self._closed = False
        self._task: asyncio.Task[None] | None = None
        self._notifications: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._room = asyncio.Event()  # set when fewer than NOTIFICATIONS_AHEAD wait
        self._notifier: asyncio.Task[None] | None = None
        self._hook_tasks: set[asyncio.Task[None]] = set()
        self.last_error = "not connected yet"
        self.observer: CallObserver | None = None
        # Why the daemon is down for longer than a reconnect (the supervisor found no Java to
        # run it on): said instead of "not reachable; retrying" when there is such a reason.
        self.down_because: Callable[[], str | None] | None = None

    @property
    def connected(self) -> bool:
        return self._link is not None

    @property
    def queued(self) -> int:
        """How many request lines wait to be written (not counting one being written)."""
        return len(self._link.outbox) if self._link is not None else 0

    @property
    def in_flight(self) -> int:
        """How many calls wait for their answer (their lines queued, being written or sent)."""
        return len(self._pending)

    @property
    def writing(self) -> int:
        """The size of the request line being written now; 0 when the writer is idle."""
        return self._link.writing if self._link is not None else 0

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
            await _cancelled(self._task)
        for task in list(self._hook_tasks):
            task.cancel()
        await self._drop_connection("signal-rest is shutting down")
        if self._notifier is not None:
            # signal-cli considers what it wrote to us as delivered: hand all of it over.
            try:
                await asyncio.wait_for(self._notifications.join(), NOTIFICATION_DRAIN_TIMEOUT)
            except TimeoutError:
                log.error("%d notifications were not handled", self._notifications.qsize())
            await _cancelled(self._notifier)

    async def caught_up(self) -> None:
        """Return once every notification that arrived before this call was handled (or after
        NOTIFICATION_DRAIN_TIMEOUT): what the daemon said before an answer is then in effect."""
        handled = asyncio.Event()
        self._notifications.put_nowait((_BARRIER, handled))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(handled.wait(), NOTIFICATION_DRAIN_TIMEOUT)

    async def call(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float | None = None
    ) -> Any:
        """Send one request and wait for its result; errors come back as RpcError subclasses.

        Raises DaemonUnavailable at once when there is no connection (or when it is lost before
        the answer), and RpcTimeout when `timeout` (default: the client's) passes first,
        counted from the moment the request is queued. A request that times out before its line
        was written is never sent; one that was written may still be carried out.
        """
        request: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            request["params"] = params
        answer = await self._exchange(request, method, params, timeout)
        if isinstance(answer.get("error"), dict):
            raise error_from_response(answer["error"])
        return answer.get("result")

    async def exchange(self, request: dict[str, Any], *, timeout: float | None = None) -> Any:
        """Send `request` as it is, but under an id of ours, and return the whole answer object
        (result or error, exactly as the daemon wrote it) with the caller's id put back.

        For a passthrough: keys the daemon does not know stay in, so it judges them itself. An
        answer is always awaited, even for a request without an id (a notification to the
        caller): it is then returned without `id`. Raises like `call` when there is no answer.
        """
        method = str(request.get("method"))
        params = request.get("params")
        answer = await self._exchange(dict(request), method, params, timeout)
        answer = dict(answer)
        if "id" in request:
            answer["id"] = request["id"]
        else:
            answer.pop("id", None)
        return answer

    async def _exchange(
        self, request: dict[str, Any], method: str, params: Any, timeout: float | None
    ) -> dict[str, Any]:
        limit = self.timeout if timeout is None else timeout
        request_id = str(next(self._ids))
        request["id"] = request_id
        line = jsoncodec.dumps(request)
        # A string has no more UTF-16 units than its UTF-8 bytes, so only a line longer than
        # MAX_STRING can hold one signal-cli refuses: the params are searched only then.
        if len(line) > MAX_STRING and not method.startswith("sandbox."):
            found = _overlong_string(params, "params")
            if found is not None:
                raise ValidationError(
                    f"{found[0]} is too long: {found[1]} characters, and signal-cli accepts at "
                    f"most {MAX_STRING} in one value"
                )
        started = time.perf_counter()
        outcome: str | None = "failed"
        try:
            answer = await self._send(request_id, line, method, limit)
            error = answer.get("error")
            outcome = _error_code(error) if isinstance(error, dict) else None
            return answer
        except RpcTimeout:
            outcome = "timeout"
            raise
        except DaemonUnavailable:
            outcome = "unavailable"
            raise
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        finally:
            if self.observer is not None:
                self.observer(method, time.perf_counter() - started, outcome)

    async def _send(
        self, request_id: str, line: bytes, method: str, limit: float
    ) -> dict[str, Any]:
        link = self._link
        if link is None:
            reason = self.down_because() if self.down_because is not None else None
            if reason is not None:
                raise DaemonUnavailable(reason)
            raise DaemonUnavailable(f"signal-cli is not reachable ({self.last_error}); retrying")
        loop = asyncio.get_running_loop()  # once: on 3.11 each call asks the kernel for the pid
        future: asyncio.Future[Any] = loop.create_future()
        # No await between reading self._link and these two lines: a dropped connection either
        # happened before (link is None) or fails this future.
        self._pending[request_id] = future
        # A small line is written by the caller when the writer is idle (no task switch on
        # the way); others, and all while the writer is busy, are queued for it.
        direct = len(line) <= SMALL_LINE and not link.writing and not len(link.outbox)
        if not (direct and link.conn.write_now(line)):
            link.outbox.put(request_id, line)
        # A timer that fails the future: cheaper than asyncio.timeout's cancellation.
        expiry = loop.call_later(limit, _expire, future, method, limit)
        try:
            answer: dict[str, Any] = await future
            return answer
        finally:
            expiry.cancel()
            self._pending.pop(request_id, None)
            link.outbox.discard(request_id)

    async def _run(self) -> None:
        delay = self._reconnect_delay
        while not self._closed:
            try:
                # Not wait_for: on Python 3.11 it swallows a cancel (close()) that arrives as the
                # connection is made, and this loop then served the new connection for good.
                async with asyncio.timeout(CONNECT_TIMEOUT):
                    conn = await self.transport.connect()
            except _CONNECTION_ERRORS as exc:
                reason = _reason(exc)
                # Said once per reason, and not at all when the daemon is known to be down for
                # a reason of its own (no Java for it, say), which was logged where it was found.
                known = self.down_because() if self.down_because is not None else None
                if reason != self.last_error and known is None:
                    log.warning("cannot reach %s: %s; retrying", self.transport.description, exc)
                self.last_error = reason
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_reconnect_delay)
                continue
            delay = self._reconnect_delay
            reason = await self._serve(conn)
            await self._drop_connection(reason)
            if not self._closed:
                log.warning("lost %s: %s", self.transport.description, reason)

    async def _serve(self, conn: Connection) -> str:
        """Read and write on `conn` until either side fails; returns why."""
        link = _Link(conn)
        self._link = link
        self._connected.set()
        log.info("connected to %s", self.transport.description)
        for hook in self._on_connect:
            task = asyncio.create_task(self._run_hook(hook))
            self._hook_tasks.add(task)
            task.add_done_callback(self._hook_tasks.discard)
        reading = asyncio.create_task(self._read_until_closed(conn), name="jsonrpc-reader")
        writing = asyncio.create_task(self._write_until_closed(link), name="jsonrpc-writer")
        try:
            done, _ = await asyncio.wait({reading, writing}, return_when=asyncio.FIRST_COMPLETED)
            ended = done.pop()
            if ended.exception() is not None:
                # A failure nobody foresaw drops this connection, never the client: it
                # connects again as after any other loss.
                log.error("%s failed", ended.get_name(), exc_info=ended.exception())
                return f"{ended.get_name()} failed: {ended.exception()!r}"
            return ended.result()
        finally:
            for side in (reading, writing):
                side.cancel()
            await asyncio.gather(reading, writing, return_exceptions=True)

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

    async def _write_until_closed(self, link: _Link) -> str:
        while True:
            line = await link.outbox.get()
            # Not cancelled when the caller gives up: half a line would corrupt the stream.
            link.writing = len(line)
            try:
                await link.conn.send_line(line)
            except _CONNECTION_ERRORS as exc:
                return _reason(exc)
            link.writing = 0

    async def _read_until_closed(self, conn: Connection) -> str:
        while True:
            try:
                line = await conn.read_line()
            except LineTooLong as exc:
                self._skip(exc)
                continue
            except _CONNECTION_ERRORS as exc:
                return _reason(exc)
            if not line:
                return "it closed the connection"
            self._dispatch(line)
            if self._notifications.qsize() >= NOTIFICATIONS_AHEAD:
                self._room.clear()
                await self._room.wait()

    def _skip(self, exc: LineTooLong) -> None:
        """A line too long to read: log it, and fail the call it answers if it tells which."""
        match = _TRAILING_ID.search(exc.tail)
        request_id = match.group(1).decode() if match else ""
        future = self._pending.get(request_id)
        log.error(
            "skipped a %d-byte line from %s%s (longer than %d bytes); it began %.120r",
            exc.size,
            self.transport.description,
            f", the answer to request {request_id}" if future is not None else "",
            exc.limit,
            exc.head,
        )
        if future is not None and not future.done():
            future.set_exception(
                DaemonError(
                    f"signal-cli's answer ({exc.size / MIB:.0f} MiB) is larger than the "
                    f"{exc.limit / MIB:.0f} MiB signal-rest accepts"
                )
            )

    def _dispatch(self, line: bytes) -> None:
        try:
            message = jsoncodec.loads(line)
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
            future.set_result(item)

    async def _notify(self) -> None:
        while True:
            method, params = await self._notifications.get()
            if self._notifications.qsize() < NOTIFICATIONS_AHEAD:
                self._room.set()
            try:
                if method is _BARRIER:
                    params.set()
                elif self.on_notification is not None:
                    await self.on_notification(method, params)
            except Exception:
                log.exception("notification handler failed")
            finally:
                self._notifications.task_done()

    async def _drop_connection(self, reason: str) -> None:
        link, self._link = self._link, None
        self._connected.clear()
        self.last_error = reason
        for future in self._pending.values():
            if not future.done():
                future.set_exception(
                    DaemonUnavailable(
                        f"lost the connection to signal-cli ({reason}) before it answered"
                    )
                )
        if link is not None:
            await link.conn.close()
