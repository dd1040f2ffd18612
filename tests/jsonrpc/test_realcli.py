"""DaemonSupervisor + RpcClient against the real signal-cli 0.13.19 over its UNIX socket.

Each daemon start costs about 3 s (JVM start-up), so the read-only tests share one daemon per
module; the tests that kill or stop a daemon start their own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from signal_rest.errors import DaemonUnavailable, RpcError, RpcTimeout
from signal_rest.jsonrpc.client import MAX_STRING, RpcClient
from signal_rest.jsonrpc.supervisor import DaemonOptions, DaemonSupervisor
from signal_rest.jsonrpc.transports import UnixTransport
from tests.support.realcli import signal_cli_env, signal_cli_path

pytestmark = [pytest.mark.realcli, pytest.mark.asyncio(loop_scope="module")]

LOGGER = "signal_rest.jsonrpc.supervisor"
UNKNOWN_ACCOUNT = "+4915112345678"


def exit_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == LOGGER and "exited unexpectedly" in r.getMessage()
    ]


class Daemon:
    """A supervised real daemon and a client connected to it."""

    def __init__(self, root: Path, **options: Any) -> None:
        self.options = DaemonOptions(
            signal_cli=signal_cli_path(),
            config_dir=root / "data",
            socket_path=root / "daemon.sock",
            **{"env": signal_cli_env(), **options},
        )
        self.supervisor = DaemonSupervisor(self.options, min_backoff=0.2, stop_timeout=20)
        # Short reconnect delays so the client finds the restarted daemon promptly.
        self.client = RpcClient(
            UnixTransport(self.options.socket_path),
            timeout=20,
            reconnect_delay=0.05,
            max_reconnect_delay=0.5,
        )

    async def start(self) -> None:
        await self.supervisor.start()
        assert await self.supervisor.wait_ready(60), self.options.log_path.read_text()
        await self.client.start()
        assert await self.client.wait_connected(10)

    async def close(self) -> None:
        await self.client.close()
        await self.supervisor.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def daemon(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Daemon]:
    running = Daemon(tmp_path_factory.mktemp("realcli"))
    await running.start()
    yield running
    await running.close()


@pytest_asyncio.fixture(loop_scope="module")
async def own_daemon(short_tmp: Path) -> AsyncIterator[Daemon]:
    """A daemon of the test's own, with the optional flags 0.13.19 knows turned on, so their
    spelling is checked against the real argument parser."""
    running = Daemon(
        short_tmp, trust_new_identities="always", ignore_attachments=True, ignore_stories=True
    )
    await running.start()
    yield running
    await running.close()


async def test_fresh_daemon_reports_version_and_no_accounts(daemon: Daemon) -> None:
    assert await daemon.client.call("version") == {"version": "0.13.19"}
    assert await daemon.client.call("listAccounts") == []
    assert daemon.supervisor.running
    assert daemon.supervisor.restarts == 0


async def test_concurrent_calls_are_matched_to_their_requests(daemon: Daemon) -> None:
    methods = ["version", "listAccounts"] * 25
    results = await asyncio.gather(*(daemon.client.call(m) for m in methods))
    assert results == [{"version": "0.13.19"}, []] * 25


async def test_concurrent_calls_with_errors_are_matched(daemon: Daemon) -> None:
    results = await asyncio.gather(
        *(
            daemon.client.call("send", {"account": UNKNOWN_ACCOUNT, "message": "hi"})
            if n % 3 == 0
            else daemon.client.call("version")
            for n in range(30)
        ),
        return_exceptions=True,
    )
    for n, result in enumerate(results):
        if n % 3 == 0:
            assert isinstance(result, RpcError) and result.code == -32602, (n, result)
        else:
            assert result == {"version": "0.13.19"}, (n, result)


async def test_send_rejects_unknown_account(daemon: Daemon) -> None:
    with pytest.raises(RpcError) as caught:
        await daemon.client.call(
            "send", {"account": UNKNOWN_ACCOUNT, "recipient": ["+4915100000"], "message": "hi"}
        )
    assert (caught.value.code, caught.value.message, caught.value.data) == (
        -32602,
        "Specified account does not exist",
        None,
    )


async def test_unknown_method_is_not_implemented(daemon: Daemon) -> None:
    with pytest.raises(RpcError) as caught:
        await daemon.client.call("noSuchMethod", {})
    assert (caught.value.code, caught.value.message, caught.value.data) == (
        -32601,
        "Method not implemented",
        None,
    )


async def test_subscribe_receive_returns_a_subscription_id(daemon: Daemon) -> None:
    first = await daemon.client.call("subscribeReceive")
    second = await daemon.client.call("subscribeReceive")
    assert type(first) is int and type(second) is int
    # Manual receive mode: no automatic subscription, ids come from one increasing counter.
    assert second > first >= 0
    for subscription in (first, second):
        assert await daemon.client.call("unsubscribeReceive", {"subscription": subscription}) == {}
    with pytest.raises(RpcError, match="Unknown subscription id"):
        await daemon.client.call("unsubscribeReceive", {"subscription": first})


async def test_stopped_daemon_times_out_each_call_and_recovers(daemon: Daemon) -> None:
    pid = daemon.supervisor.pid
    assert pid is not None
    client = daemon.client
    os.kill(pid, signal.SIGSTOP)
    try:
        # 4 MB does not fit in the socket buffers: its write is stuck while the JVM is stopped.
        big = asyncio.create_task(client.call("version", {"padding": "x" * 4_000_000}, timeout=1))
        while client.queued or not client.writing:
            await asyncio.sleep(0.01)
        with pytest.raises(RpcTimeout, match=r"^signal-cli did not answer version within 0\.5 s$"):
            await asyncio.wait_for(client.call("version", timeout=0.5), 10)
        with pytest.raises(RpcTimeout, match=r"^signal-cli did not answer version within 1 s$"):
            await asyncio.wait_for(big, 10)
    finally:
        os.kill(pid, signal.SIGCONT)
    # signal-cli reads the rest of the big line (its answer is dropped) and answers again; the
    # stopped process was neither restarted nor given up on.
    assert await client.call("version") == {"version": "0.13.19"}
    assert await client.call("listAccounts") == []
    assert (daemon.supervisor.pid, daemon.supervisor.restarts) == (pid, 0)


@pytest.mark.parametrize(
    ("padding", "answered"),
    [
        pytest.param("x" * MAX_STRING, True, id="at-the-limit"),
        pytest.param("x" * (MAX_STRING + 1), False, id="one-over"),
        pytest.param("\U0001f600" * (MAX_STRING // 2 + 1), False, id="emoji-count-twice"),
    ],
)
async def test_daemon_closes_the_connection_on_a_string_over_its_limit(
    daemon: Daemon, padding: str, answered: bool
) -> None:
    # Why RpcClient refuses such strings before writing them: signal-cli (Jackson) does not
    # answer with an error, it drops the connection and every call in flight on it.
    path = str(daemon.options.socket_path)
    reader, writer = await asyncio.open_unix_connection(path, limit=2**27)
    request = {"jsonrpc": "2.0", "id": 1, "method": "version", "params": {"padding": padding}}
    writer.write(json.dumps(request, ensure_ascii=False).encode() + b"\n")
    await writer.drain()
    line = await asyncio.wait_for(reader.readline(), 60)
    writer.close()
    if answered:
        assert json.loads(line) == {"jsonrpc": "2.0", "result": {"version": "0.13.19"}, "id": 1}
    else:
        assert line == b""


async def test_killed_daemon_is_restarted_and_client_reconnects(
    own_daemon: Daemon, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    supervisor, client = own_daemon.supervisor, own_daemon.client
    assert await client.call("version") == {"version": "0.13.19"}
    first_pid = supervisor.pid
    assert first_pid is not None

    os.kill(first_pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while client.connected:
        assert time.monotonic() < deadline, "client did not notice the dead daemon"
        await asyncio.sleep(0.01)
    # A JVM needs seconds to come back, so this call lands in the gap; and call() checks the
    # connection before it awaits anything, so the check above cannot go stale.
    with pytest.raises(DaemonUnavailable):
        await client.call("version")

    assert await supervisor.wait_ready(60)
    assert supervisor.restarts == 1
    assert supervisor.pid not in (None, first_pid)
    assert await client.wait_connected(10)
    assert await client.call("version") == {"version": "0.13.19"}
    warnings = exit_warnings(caplog)
    assert len(warnings) == 1
    assert warnings[0].startswith("signal-cli daemon exited unexpectedly (killed by SIGKILL)")


async def test_stop_terminates_the_daemon_without_restart(short_tmp: Path) -> None:
    # With the ambient environment, the supervisor itself must find a Java the launcher can run.
    running = Daemon(short_tmp, env=None)
    supervisor = running.supervisor
    try:
        await running.start()
        pid = supervisor.pid
        assert pid is not None
        await running.client.close()
        started = time.monotonic()
        await supervisor.stop()
        # signal-cli handles SIGTERM itself ("Received SIGTERM signal, shutting down"), so stop()
        # must not have needed the SIGKILL that follows stop_timeout.
        assert time.monotonic() - started < supervisor.stop_timeout
    finally:
        await running.close()
    assert not supervisor.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    await asyncio.sleep(1)  # five times min_backoff: a restart would have happened by now
    assert (supervisor.running, supervisor.restarts, supervisor.pid) == (False, 0, None)
    assert "Received SIGTERM signal, shutting down" in running.options.log_path.read_text()


async def test_daemon_flag_unknown_to_0_13_is_reported_in_exit_warning(
    short_tmp: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    options = DaemonOptions(
        signal_cli=signal_cli_path(),
        config_dir=short_tmp / "data",
        socket_path=short_tmp / "daemon.sock",
        ignore_avatars=True,  # signal-cli 0.14.0+ only
        env=signal_cli_env(),
    )
    supervisor = DaemonSupervisor(options, min_backoff=30)
    await supervisor.start()
    try:
        deadline = time.monotonic() + 30
        while not (warnings := exit_warnings(caplog)):
            assert time.monotonic() < deadline, "signal-cli did not exit"
            await asyncio.sleep(0.05)
        assert not await supervisor.wait_ready(0.5)
    finally:
        await supervisor.stop()
    assert len(warnings) == 1
    assert warnings[0].startswith("signal-cli daemon exited unexpectedly (exit code 1)")
    assert warnings[0].endswith(
        "Last output: signal-cli: error: unrecognized arguments: '--ignore-avatars'"
    )
    assert supervisor.restarts == 0
