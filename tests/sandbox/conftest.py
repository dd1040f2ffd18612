from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from signal_rest.sandbox import SandboxDaemon

from .client import LineClient

Connect = Callable[[], Awaitable[LineClient]]


class Sandbox:
    """A running SandboxDaemon on a UNIX socket, restartable on the same data dir."""

    def __init__(self, data_dir: Path, socket: Path, receive_mode: str) -> None:
        self.data_dir = data_dir
        self.socket = socket
        self.receive_mode = receive_mode
        self.daemon: SandboxDaemon | None = None
        self.clients: list[LineClient] = []

    async def start(self) -> None:
        self.daemon = SandboxDaemon(self.data_dir, receive_mode=self.receive_mode)
        await self.daemon.start_unix(self.socket)

    async def connect(self) -> LineClient:
        client = await LineClient.unix(self.socket)
        self.clients.append(client)
        return client

    async def stop(self) -> None:
        for client in self.clients:
            await client.close()
        self.clients.clear()
        if self.daemon is not None:
            await self.daemon.close()
            self.daemon = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()


@pytest.fixture
async def sandbox_factory(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Sandbox]]]:
    made: list[Sandbox] = []

    async def make(receive_mode: str = "manual") -> Sandbox:
        sandbox = Sandbox(
            tmp_path / f"data{len(made)}", tmp_path / f"s{len(made)}.sock", receive_mode
        )
        await sandbox.start()
        made.append(sandbox)
        return sandbox

    yield make
    for sandbox in made:
        await sandbox.stop()


@pytest.fixture
async def sandbox(sandbox_factory: Callable[..., Awaitable[Sandbox]]) -> Sandbox:
    return await sandbox_factory("manual")


@pytest.fixture
async def rpc(sandbox: Sandbox) -> LineClient:
    return await sandbox.connect()


async def make_account(client: LineClient, number: str) -> None:
    """Register + verify a number through the real flow."""
    assert await client.call("register", {"account": number}) == {}
    code = await client.call("sandbox.getVerificationCode", {"number": number})
    assert await client.call("verify", {"account": number, "verificationCode": code["code"]}) == {}
