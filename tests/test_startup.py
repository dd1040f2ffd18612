"""A start the service refuses (StartupRefused) is one log line; any other failure at start-up
keeps its traceback; either way uvicorn exits with status 3. The service is served by uvicorn as
`signal-rest serve` does, in front of a signal-cli launcher that is never run."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from signal_rest.app import create_app
from signal_rest.config import Settings
from signal_rest.jsonrpc import pidfiles
from signal_rest.server import server_config


def start_up(settings: Settings, app: FastAPI | None = None) -> object:
    """Serve until start-up fails; the status uvicorn then exits with."""
    server = uvicorn.Server(server_config(app or create_app(settings), settings))
    with pytest.raises(SystemExit) as exited:
        asyncio.run(server.serve())
    return exited.value.code


@pytest.fixture
def settings(short_tmp: Path) -> Settings:
    launcher = short_tmp / "bin" / "signal-cli"
    launcher.parent.mkdir()
    launcher.write_text("#!/bin/sh\nexit 1\n")
    launcher.chmod(0o755)
    return Settings(data_dir=short_tmp / "data", signal_cli=str(launcher), host="127.0.0.1", port=0)


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="sr-"))  # UNIX socket paths must stay short
    yield path
    shutil.rmtree(path, ignore_errors=True)


def uvicorn_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "uvicorn.error" and r.levelname == "ERROR"
    ]


def test_a_refused_start_is_one_log_line(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    path = settings.data_dir / "signal-cli.sock"
    path.parent.mkdir(parents=True)
    with socket.socket(socket.AF_UNIX) as holder:
        holder.bind(str(path))
        holder.listen()
        assert start_up(settings) == 3
    assert uvicorn_errors(caplog) == [
        f"signal-cli's socket {path} is served by process {os.getpid()} "
        f"({pidfiles.command(os.getpid())}), which is not a daemon this service started: "
        "stop it, or give this service another --data-dir",
        "Application startup failed. Exiting.",
    ]


def test_another_failure_at_start_keeps_its_traceback(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    app = create_app(settings)
    assert settings.signal_cli is not None
    Path(settings.signal_cli).chmod(0o644)  # found when the app was made, not when it starts
    assert start_up(settings, app) == 3
    [failure, exiting] = uvicorn_errors(caplog)
    assert failure.startswith("Traceback (most recent call last):")
    assert failure.endswith(
        f"signal_rest.errors.DaemonUnavailable: cannot start signal-cli ({settings.signal_cli}): "
        f"[Errno 2] no executable file: '{settings.signal_cli}'\n"
    )
    assert exiting == "Application startup failed. Exiting."
