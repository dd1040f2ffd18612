"""Blocking entry point for `signal-rest sandbox`."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from signal_rest import eventloop

from .daemon import SandboxDaemon


async def serve(
    data_dir: Path,
    *,
    socket: Path | None,
    tcp: tuple[str, int] | None,
    receive_mode: str,
    trust_new_identities: str = "on-first-use",
) -> None:
    if socket is None and tcp is None:
        raise ValueError("At least one channel parameter is required, e.g. --socket or --tcp.")
    daemon = SandboxDaemon(
        data_dir, receive_mode=receive_mode, trust_new_identities=trust_new_identities
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        if socket is not None:
            await daemon.start_unix(socket)
        if tcp is not None:
            await daemon.start_tcp(*tcp)
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await daemon.close()


def run(
    data_dir: Path,
    *,
    socket: Path | None,
    tcp: tuple[str, int] | None,
    receive_mode: str,
    trust_new_identities: str = "on-first-use",
) -> None:
    """Serve the sandbox until SIGINT/SIGTERM, on uvloop where it is installed."""
    eventloop.settle_collector()
    with asyncio.Runner(loop_factory=eventloop.factory("auto")) as runner:
        runner.run(
            serve(
                data_dir,
                socket=socket,
                tcp=tcp,
                receive_mode=receive_mode,
                trust_new_identities=trust_new_identities,
            )
        )
