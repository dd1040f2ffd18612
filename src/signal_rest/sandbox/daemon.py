"""The JSON-RPC server: signal-cli's line framing, dispatch, account selection, subscriptions."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from signal_rest import jsoncodec
from signal_rest.jsonrpc.jackson import (
    PARAMS_ARRAY,
    JacksonParseError,
    java_string,
    json_type_name,
    parse_line,
    request_error,
)

from .commands import COMMANDS
from .context import Context
from .errors import (
    ACCOUNT_REQUIRED,
    ACCOUNT_UNKNOWN,
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    RpcError,
    user_error,
)
from .identities import DEFAULT_MODE, TRUST_MODES
from .links import LinkRequests
from .network import Network, delivered_now
from .params import typed

log = logging.getLogger(__name__)

RECEIVE_MODES = ("on-start", "on-connection", "manual")
LINE_LIMIT = 256 * 1024 * 1024
_ABSENT = object()
_DISPATCHER = ("subscribeReceive", "unsubscribeReceive", "receive")


@dataclass
class _Request:
    id: Any  # _ABSENT for notifications
    method: str
    params: Any


@dataclass
class _Subscription:
    id: int
    connection: _Connection
    account: str | None  # None: every local account
    explicit: bool


# Told whether a line reached the connection (True) or not (False: it was lost or closed).
Written = Callable[[bool], None]


@dataclass
class _Flight:
    """A message being written to its subscribers."""

    account: str
    message: dict[str, Any]
    waiting: int  # subscribers whose write has not ended yet
    ok: bool = False  # written to one of them


class _Connection:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        flush: Callable[[], None],
        transaction: Callable[[], contextlib.AbstractContextManager[None]],
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.flush = flush  # commits what the lines about to be written tell of
        self.transaction = transaction  # what the lines' written() callbacks do, as one
        self.outbox: asyncio.Queue[tuple[bytes, Written | None] | None] = asyncio.Queue()
        self.tasks: set[asyncio.Task[None]] = set()
        self.closed = False

    def send(self, obj: Any, written: Written | None = None) -> None:
        """Queue `obj` as a line; `written(ok)` once it was written to the socket or not."""
        line = jsoncodec.dumps(obj) + b"\n"
        if self.closed:
            if written is not None:
                asyncio.get_running_loop().call_soon(written, False)
            return
        self.outbox.put_nowait((line, written))

    async def write_loop(self) -> None:
        # What queued up meanwhile goes out in one write: a system call per line would cost
        # more than making the line.
        try:
            ended = False
            while not ended and (item := await self.outbox.get()) is not None:
                batch = [item]
                while not self.outbox.empty():
                    more = self.outbox.get_nowait()
                    if more is None:
                        ended = True  # write what came before the end
                        break
                    batch.append(more)
                self.flush()
                # Written means taken by the socket, as signal-cli's blocking write: a
                # transport that is closing (the peer is gone) drops what it is given.
                ok = not self.writer.transport.is_closing()
                if ok:
                    self.writer.write(b"".join(line for line, _ in batch))
                    try:
                        await self.writer.drain()
                    except ConnectionError:
                        ok = False
                    ok = ok and not self.writer.transport.is_closing()
                with self.transaction():
                    for _, written in batch:
                        if written is not None:
                            written(ok)
        finally:
            self.closed = True
            while not self.outbox.empty():
                left = self.outbox.get_nowait()
                if left is not None and left[1] is not None:
                    left[1](False)


def _response(
    request_id: Any, *, result: Any = None, error: RpcError | None = None
) -> dict[str, Any]:
    rid = None if request_id is _ABSENT else request_id
    if error is not None:
        return {"jsonrpc": "2.0", "error": error.to_json(), "id": rid}
    return {"jsonrpc": "2.0", "result": result, "id": rid}


class SandboxDaemon:
    """A simulated Signal network behind signal-cli's JSON-RPC daemon protocol.

    daemon = SandboxDaemon(Path("data"), receive_mode="manual")
    await daemon.start_unix(Path("/tmp/signal.sock"))
    ...
    await daemon.close()
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        receive_mode: str = "on-start",
        trust_new_identities: str = DEFAULT_MODE,
    ) -> None:
        if receive_mode not in RECEIVE_MODES:
            raise ValueError(f"receive_mode must be one of {RECEIVE_MODES}")
        if trust_new_identities not in TRUST_MODES:
            raise ValueError(f"trust_new_identities must be one of {TRUST_MODES}")
        self.receive_mode = receive_mode
        self.network = Network(data_dir, trust_new_identities=trust_new_identities)
        self.network.on_queued = self._queued
        self._pump_soon: set[str] = set()  # accounts whose hand-over the loop runs next
        # Per account: queue seq -> its message being written, and to which subscriptions.
        self._in_flight: dict[str, dict[int, _Flight]] = {}
        self._flying_to: dict[str, frozenset[int]] = {}
        # Accounts to hand over again once their writes end: one failed, or a hand-over waited.
        self._pump_after: set[str] = set()
        self.network.on_account = self._account_added
        self.network.on_account_gone = self._account_gone
        self.links = LinkRequests()
        self._servers: list[asyncio.Server] = []
        self._sockets: list[Path] = []  # UNIX socket files to remove on close
        self._connections: set[_Connection] = set()
        self._subscriptions: dict[int, _Subscription] = {}
        self._next_subscription = 0
        self._arrivals: dict[str, asyncio.Event] = {}

    async def start_unix(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_socket():
            path.unlink()
        self._servers.append(
            await asyncio.start_unix_server(self._serve, str(path), limit=LINE_LIMIT)
        )
        self._sockets.append(path)

    async def start_tcp(self, host: str, port: int) -> int:
        server = await asyncio.start_server(self._serve, host, port, limit=LINE_LIMIT)
        self._servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        self.links.close()
        for connection in list(self._connections):
            for task in list(connection.tasks):
                task.cancel()
            connection.outbox.put_nowait(None)
            connection.writer.close()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self._servers.clear()
        for path in self._sockets:  # Python 3.11 leaves the file behind
            if path.is_socket():
                path.unlink(missing_ok=True)
        self._sockets.clear()
        await asyncio.sleep(0)
        self.network.close()

    # connections
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        store = self.network.store
        connection = _Connection(reader, writer, store.flush, store.transaction)
        self._connections.add(connection)
        writing = asyncio.create_task(connection.write_loop())
        if self.receive_mode != "manual":
            self._subscribe(connection, None, explicit=False)
        try:
            while True:
                try:
                    raw = await reader.readline()
                except (ConnectionError, ValueError):
                    break
                if not raw:
                    break
                task = asyncio.create_task(
                    self._handle_line(connection, raw.decode("utf-8", "replace"))
                )
                connection.tasks.add(task)
                task.add_done_callback(connection.tasks.discard)
        except asyncio.CancelledError:
            pass
        finally:
            self._connections.discard(connection)
            for sub in [s for s in self._subscriptions.values() if s.connection is connection]:
                del self._subscriptions[sub.id]
            for task in list(connection.tasks):
                task.cancel()
            connection.outbox.put_nowait(None)
            with contextlib.suppress(Exception):
                await writing
            writer.close()

    async def _handle_line(self, connection: _Connection, line: str) -> None:
        line = line.rstrip("\r\n")
        if not line.strip():
            connection.send(_response(None, error=RpcError(PARSE_ERROR, "Empty input line")))
            return
        try:
            value = parse_line(line)
        except JacksonParseError as exc:
            connection.send(_response(None, error=RpcError(PARSE_ERROR, str(exc))))
            return
        except RecursionError:
            # Jackson refuses nesting over 1000 levels, and signal-cli then drops the
            # connection without an answer (Python's parser gives up at about that depth).
            connection.writer.close()
            return
        if isinstance(value, list):
            if not value:
                connection.send(_response(None, error=RpcError(INVALID_REQUEST, "invalid request")))
                return
            answers: list[dict[str, Any]] = []
            requests: list[_Request] = []
            for entry in value:
                checked = self._check(entry)
                if isinstance(checked, _Request):
                    requests.append(checked)
                else:
                    answers.append(checked)
            # Entries run concurrently, as in signal-cli; answers are matched by id anyway.
            executed = await asyncio.gather(*(self._execute(connection, r) for r in requests))
            answers.extend(answer for answer in executed if answer is not None)
            if answers:
                connection.send(answers)
            return
        if not isinstance(value, dict):
            error = RpcError(INVALID_REQUEST, f"unexpected type: {json_type_name(value)}")
            connection.send(_response(None, error=error))
            return
        checked = self._check(value)
        answer = (
            await self._execute(connection, checked) if isinstance(checked, _Request) else checked
        )
        if answer is not None:
            connection.send(answer)

    def _check(self, entry: Any) -> _Request | dict[str, Any]:
        """Map one request value like Jackson maps it onto JsonRpcRequest."""
        refused = request_error(entry)
        if refused is not None:
            return _response(refused[0], error=RpcError(INVALID_REQUEST, refused[1]))
        return _Request(entry.get("id", _ABSENT), java_string(entry["method"]), entry.get("params"))

    async def _execute(self, connection: _Connection, request: _Request) -> dict[str, Any] | None:
        try:
            result = await self._dispatch(connection, request)
            answer = _response(request.id, result=result)
        except RpcError as exc:
            answer = _response(request.id, error=exc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug surfaces like an unexpected Java exception would
            log.exception("sandbox command %s failed", request.method)
            answer = _response(
                request.id, error=RpcError(INTERNAL_ERROR, f"{exc} ({type(exc).__name__})")
            )
        return None if request.id is _ABSENT else answer

    async def _dispatch(self, connection: _Connection, request: _Request) -> Any:
        command = COMMANDS.get(request.method)
        if command is None and request.method not in _DISPATCHER:
            raise RpcError(METHOD_NOT_FOUND, "Method not implemented")
        raw = request.params
        if request.method == "unsubscribeReceive":
            return self._unsubscribe(connection, raw)
        if isinstance(raw, list) and command is not None and command.kind == "registration":
            raise RpcError(INVALID_PARAMS, ACCOUNT_REQUIRED)  # an array has no `account`
        if isinstance(raw, list):
            if command is not None and command.kind == "single":
                # An array names no account: signal-cli selects one before reading the params.
                self._select_account({})
            raise RpcError(INVALID_REQUEST, PARAMS_ARRAY)
        params: dict[str, Any] = dict(raw or {})
        if request.method == "subscribeReceive":
            account = self._optional_account(params)
            return self._subscribe(connection, account, explicit=True)
        if request.method == "receive":
            return await self._receive(self._select_account(params), params)
        assert command is not None
        ctx = Context(self.network, self.links)
        if command.kind == "single":
            ctx.account = self._select_account(params)
        elif command.kind == "registration":
            if params.get("account") is None:
                raise RpcError(INVALID_PARAMS, ACCOUNT_REQUIRED)
            ctx.account = java_string(params.pop("account"))
        return await command.handler(ctx, params)

    def _optional_account(self, params: dict[str, Any]) -> str | None:
        value = params.pop("account", None)
        if value is None:
            return None
        account = java_string(value)
        if not self.network.is_local(account):
            raise RpcError(INVALID_PARAMS, ACCOUNT_UNKNOWN)
        return account

    def _select_account(self, params: dict[str, Any]) -> str:
        account = self._optional_account(params)
        if account is not None:
            return account
        accounts = self.network.local_accounts()
        if len(accounts) != 1:
            raise RpcError(INVALID_PARAMS, ACCOUNT_REQUIRED)
        return accounts[0]

    # receiving
    def _subscribe(self, connection: _Connection, account: str | None, *, explicit: bool) -> int:
        sub = _Subscription(self._next_subscription, connection, account, explicit)
        self._next_subscription += 1
        self._subscriptions[sub.id] = sub
        for number in [account] if account else self.network.local_accounts():
            asyncio.get_running_loop().call_soon(self._pump, number)
        return sub.id

    def _unsubscribe(self, connection: _Connection, raw: Any) -> dict[str, Any]:
        if isinstance(raw, list):
            if not raw:
                raise RpcError(
                    INTERNAL_ERROR,
                    'Cannot invoke "com.fasterxml.jackson.databind.JsonNode.asInt()" because the '
                    'return value of "com.fasterxml.jackson.databind.node.ArrayNode.get(int)" is '
                    "null (NullPointerException)",
                )
            value = raw[0]
        else:
            value = (raw or {}).get("subscription")
            if value is None:
                raise user_error("Missing subscription parameter with subscription id")
        sub = self._subscriptions.get(value) if type(value) is int else None
        if sub is None or sub.connection is not connection:
            raise user_error("Unknown subscription id")
        del self._subscriptions[sub.id]
        return {}

    def _account_added(self, account: str) -> None:
        # Subscriptions for "all accounts" pick the new account up; nothing else to do.
        self._pump(account)

    def _account_gone(self, account: str) -> None:
        # Like signal-cli closing the account's manager: its own subscriptions end silently;
        # subscriptions for every account simply have one account less.
        for sub in [s for s in self._subscriptions.values() if s.account == account]:
            del self._subscriptions[sub.id]
        arrivals = self._arrivals.pop(account, None)
        if arrivals is not None:
            arrivals.set()  # a receive waiting for the account returns what it has

    def _receiving(self, account: str) -> list[_Subscription]:
        return [s for s in self._subscriptions.values() if s.account in (None, account)]

    def _queued(self, account: str) -> None:
        # Once the transaction that queued it is over, and once for all that a turn of the
        # loop queued (a pipelined burst of sends): one read of the queue for them all.
        if account not in self._pump_soon:
            self._pump_soon.add(account)
            asyncio.get_running_loop().call_soon(self._pump_queued, account)

    def _pump_queued(self, account: str) -> None:
        self._pump_soon.discard(account)
        self._pump(account)

    def _pump(self, account: str) -> None:
        """Hand what is queued for `account` to its subscribers. A message leaves the queue
        once it was written to one of them, as signal-cli acknowledges a message to Signal's
        server only after writing it; one whose writes all failed (the client went away) stays
        queued for the next subscriber."""
        self._arrivals.setdefault(account, asyncio.Event()).set()
        subs = self._receiving(account)
        if not subs and self.receive_mode != "on-start":
            return  # stays queued, as on Signal's server, until someone receives
        store = self.network.store
        flying = self._in_flight.setdefault(account, {})
        to = frozenset(sub.id for sub in subs)
        if flying and self._flying_to.get(account) != to:
            # The subscribers changed: the rest waits for those writes to end, in order.
            self._pump_after.add(account)
            return
        self._flying_to[account] = to
        if not subs:  # on-start with nobody listening: received and gone, as in signal-cli
            with store.transaction():
                queued = store.queued(account)
                store.dequeue([seq for seq, _ in queued])
                for _, message in queued:
                    delivered_now(message["envelope"])
                    self.network.download_attachments(message)
                    self.network.handed_over(account, message)
            return
        # Those being written are the oldest, and went in order: only what came after them.
        for seq, message in store.queued(account, after=next(reversed(flying), 0)):
            delivered_now(message["envelope"])
            self.network.download_attachments(message)
            flying[seq] = _Flight(account, message, len(subs))
            written = functools.partial(self._written, account, seq)
            for sub in subs:
                if sub.explicit:
                    params: dict[str, Any] = {"subscription": sub.id, "result": message}
                else:
                    params = message
                notification = {"jsonrpc": "2.0", "method": "receive", "params": params}
                sub.connection.send(notification, written)

    def _written(self, account: str, seq: int, ok: bool) -> None:
        flying = self._in_flight.get(account, {})
        flight = flying.get(seq)
        if flight is None:
            return
        flight.ok = flight.ok or ok
        flight.waiting -= 1
        if flight.waiting:
            return
        del flying[seq]
        if flight.ok:
            with self.network.store.transaction():
                self.network.store.dequeue([seq])
                self.network.handed_over(account, flight.message)
        else:
            self._pump_after.add(account)
        if not flying and account in self._pump_after:
            # What failed, or waited for these writes, goes to whoever receives now.
            self._pump_after.discard(account)
            asyncio.get_running_loop().call_soon(self._pump, account)

    async def _receive(self, account: str, raw: dict[str, Any]) -> list[dict[str, Any]]:
        params = typed(
            raw,
            "org.asamk.signal.commands.ReceiveCommand$ReceiveParams",
            {"timeout": "Double", "maxMessages": "Integer"},
        )
        if self._receiving(account):
            raise user_error(
                "Receive command cannot be used if messages are already being received."
            )
        timeout = params["timeout"]
        wait = 3.0 if timeout is None else float(timeout)
        limit = int(params["maxMessages"] or 0) or -1
        received: list[dict[str, Any]] = []
        while limit < 0 or len(received) < limit:
            batch = self.network.store.queued(account, -1 if limit < 0 else limit - len(received))
            if batch:
                self.network.store.dequeue([seq for seq, _ in batch])
                for _, message in batch:
                    delivered_now(message["envelope"])
                    self.network.download_attachments(message)
                    received.append(message)
                    self.network.handed_over(account, message)
                continue
            event = self._arrivals.setdefault(account, asyncio.Event())
            event.clear()
            try:
                await asyncio.wait_for(event.wait(), None if wait < 0 else wait)
            except TimeoutError:
                break
        return received
