"""The long-lived parts behind the HTTP routes, started and stopped by the app's lifespan.

    backend = Backend.from_settings(settings)   # raises NoSignalCli when there is nothing to run
    await backend.start()
    await backend.rpc.call("version")
    await backend.stop()                        # drains in-flight work, stops the daemon

The daemon is one of three: the in-process sandbox (reached over a UNIX socket in the data dir,
through the same JSON-RPC client as signal-cli), a signal-cli daemon we start and supervise, or
one the user runs (`--signal-cli-url`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import shutil
import tempfile
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from signal_rest import metrics
from signal_rest.config import Settings
from signal_rest.inbox.delivery import Inbox
from signal_rest.inbox.store import InboxStore
from signal_rest.jsonrpc.accounts import LocalAccounts
from signal_rest.jsonrpc.client import RpcClient
from signal_rest.jsonrpc.transports import Transport, UnixTransport, transport_from_url
from signal_rest.webhooks.targets import webhook_targets

if TYPE_CHECKING:
    from signal_rest.jsonrpc.supervisor import DaemonSupervisor
    from signal_rest.sandbox import SandboxDaemon
    from signal_rest.webhooks.dispatcher import Webhooks

__all__ = ["Backend", "ConfigError", "NoSignalCli", "short_socket_path"]

log = logging.getLogger(__name__)

NO_SIGNAL_CLI = (
    "signal-rest: no signal-cli found. Install signal-cli "
    "(https://github.com/AsamK/signal-cli/releases, Java 21+) and pass --signal-cli PATH, "
    "connect to a running daemon with --signal-cli-url, or try the simulated network "
    "with --sandbox."
)


# How often messages past their retention are removed from the inbox.
PURGE_INTERVAL = 3600.0


class ConfigError(Exception):
    """The settings name no backend that can run; the CLI prints the text and exits 2."""


class NoSignalCli(ConfigError):
    """Neither --sandbox nor a signal-cli to start or connect to."""

    def __init__(self) -> None:
        super().__init__(NO_SIGNAL_CLI)


def short_socket_path(directory: Path, name: str) -> Path:
    """`directory/name`, or a path under the temp dir when that is too long for a UNIX socket."""
    path = directory / name
    if len(str(path)) < 100:
        return path
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"signal-rest-{digest}" / name


@dataclass
class Backend:
    settings: Settings
    rpc: RpcClient
    inbox: Inbox
    sandbox: SandboxDaemon | None = None
    supervisor: DaemonSupervisor | None = None
    sandbox_socket: Path | None = None
    webhooks: Webhooks | None = None
    tmp_dir: Path = field(init=False)
    accounts: LocalAccounts = field(init=False)  # which numbers are accounts of the service
    _tasks: set[asyncio.Task[None]] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self.tmp_dir = self.settings.data_dir / "tmp"
        self.accounts = LocalAccounts(self.rpc)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in the background until it ends or the service stops."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def is_sandbox(self) -> bool:
        return self.sandbox is not None

    @property
    def attachments_dir(self) -> Path | None:
        """The folder the daemon downloads received attachments into; None when signal-cli runs
        elsewhere (`--signal-cli-url`) and only its `getAttachment` method reaches them."""
        if self.sandbox is not None:
            return self.sandbox.network.attachments_dir
        if self.supervisor is not None:
            return self.settings.signal_cli_dir / "attachments"
        return None

    @classmethod
    def from_settings(cls, settings: Settings) -> Backend:
        data_dir = settings.data_dir
        inbox = Inbox(InboxStore(data_dir / "inbox.sqlite3"))
        supervisor = None
        sandbox = None
        sandbox_socket = None
        transport: Transport
        if settings.sandbox:
            # Loaded only when it runs in this process: in front of a daemon it is dead weight.
            from signal_rest.sandbox import SandboxDaemon

            sandbox = SandboxDaemon(
                data_dir / "sandbox",
                receive_mode="manual",
                trust_new_identities=settings.trust_new_identities or "on-first-use",
            )
            sandbox_socket = short_socket_path(data_dir, "sandbox.sock")
            transport = UnixTransport(sandbox_socket)
        elif settings.signal_cli_url:
            try:
                transport = transport_from_url(settings.signal_cli_url)
            except ValueError as exc:
                raise ConfigError(f"signal-rest: {exc}") from exc
        else:
            # Loaded only when signal-rest runs signal-cli itself (with the Java lookup).
            from signal_rest.jsonrpc.supervisor import (
                DaemonOptions,
                DaemonSupervisor,
                find_signal_cli,
            )

            launcher = "signal-cli-native" if "native" in settings.mode else None
            signal_cli = find_signal_cli(settings.signal_cli or launcher)
            if signal_cli is None:
                raise NoSignalCli()
            socket_path = short_socket_path(data_dir, "signal-cli.sock")
            supervisor = DaemonSupervisor(
                DaemonOptions(
                    signal_cli=signal_cli,
                    config_dir=settings.signal_cli_dir,
                    socket_path=socket_path,
                    trust_new_identities=settings.trust_new_identities,
                    ignore_attachments=settings.ignore_attachments,
                    ignore_stories=settings.ignore_stories,
                    ignore_avatars=settings.ignore_avatars,
                    ignore_stickers=settings.ignore_stickers,
                )
            )
            transport = UnixTransport(socket_path)
        rpc = RpcClient(
            transport, timeout=settings.rpc_timeout, on_notification=inbox.on_notification_pipelined
        )
        rpc.observer = metrics.observe_rpc
        if supervisor is not None:
            rpc.down_because = lambda: supervisor.problem
        rpc.add_connect_hook(inbox.subscriber(rpc))
        return cls(settings, rpc, inbox, sandbox, supervisor, sandbox_socket)

    async def start(self) -> None:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.tmp_dir, ignore_errors=True)  # leftovers of a crash
        self.tmp_dir.mkdir(parents=True)
        await self.inbox.store.open()
        # Before the daemon connects: the webhooks hear of every message from the first one.
        if webhook_targets(self.settings):
            # Loaded only when a webhook is configured (its lanes' HTTP client, h11).
            from signal_rest.webhooks.dispatcher import Webhooks

            self.webhooks = Webhooks.from_settings(self.settings, self.inbox.consumers)
        if self.webhooks is not None:
            self.webhooks.observer = metrics.WebhookCounters()
            await self.webhooks.start()
        if self.sandbox is not None and self.sandbox_socket is not None:
            self.sandbox_socket.parent.mkdir(parents=True, exist_ok=True)
            await self.sandbox.start_unix(self.sandbox_socket)
        if self.supervisor is not None:
            await self.supervisor.start()
        await self.rpc.start()
        self.spawn(self._forget_old())
        if self.sandbox is not None:
            await self.rpc.wait_connected(10)

    async def _forget_old(self) -> None:
        retention = self.settings.delivered_retention_hours * 3600
        expiry = self.settings.consumer_expiry_hours * 3600
        while True:
            removed = await self.inbox.consumers.forget_old(retention=retention, expiry=expiry)
            if removed:
                log.info(
                    "forgot %d messages every consumer had, older than %g h",
                    removed,
                    retention / 3600,
                )
            await asyncio.sleep(PURGE_INTERVAL)

    async def stop(self) -> None:
        if self.webhooks is not None:
            await self.webhooks.stop()  # what is not acked goes again after the restart
        for task in list(self._tasks):
            task.cancel()
        await self.rpc.close()
        if self.supervisor is not None:
            await self.supervisor.stop()
        if self.sandbox is not None:
            await self.sandbox.close()
        await self.inbox.settled()  # what the daemon's reader took is committed first
        await self.inbox.consumers.flush()
        await self.inbox.store.close()
