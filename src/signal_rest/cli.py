"""The `signal-rest` command: a thin click layer over `run(settings)`.

    signal-rest serve --sandbox                      # the simulated network, 127.0.0.1:8080
    signal-rest serve --signal-cli /opt/signal-cli/bin/signal-cli
    signal-rest serve --signal-cli-url tcp://127.0.0.1:7583
    signal-rest sandbox --socket /tmp/sandbox.sock   # the simulated network alone, for any client
    signal-rest token create --name ha --scope send  # an API token (signal_rest.auth.commands)
    signal-rest doctor --sandbox                     # what `serve --sandbox` needs, checked

Every `serve` flag also reads an environment variable (see docs/configuration.md); a flag given
on the command line wins.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import uvicorn

from signal_rest import __version__, eventloop
from signal_rest.app import create_app
from signal_rest.auth.commands import token
from signal_rest.backend import ConfigError
from signal_rest.config import Settings
from signal_rest.edge import logs
from signal_rest.server import LOG_LEVELS, server_config
from signal_rest.settings_errors import read_settings

__all__ = ["main", "run"]


def run(settings: Settings) -> None:
    """Serve until SIGINT/SIGTERM (uvicorn then re-raises the signal, so the exit status says
    which one); exits with status 2 when the settings name no usable backend."""
    logs.configure(LOG_LEVELS.get(settings.log_level, "error"), settings.log_format)
    try:
        app = create_app(settings)
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    eventloop.settle_collector()
    uvicorn.Server(server_config(app, settings)).run()


@click.group()
@click.version_option(__version__, prog_name="signal-rest")
def main() -> None:
    """signal-rest: the signal-cli-rest-api HTTP API over signal-cli's JSON-RPC daemon."""


@main.command()
@click.option("--host", help="Address to listen on [env SIGNAL_REST_HOST].")
@click.option("--port", type=int, help="Port to listen on [env PORT, SIGNAL_REST_PORT].")
@click.option("--data-dir", type=click.Path(path_type=Path), help="[env SIGNAL_REST_DATA_DIR]")
@click.option(
    "--sandbox",
    is_flag=True,
    default=None,
    help="Use the simulated Signal network [env SIGNAL_REST_SANDBOX].",
)
@click.option("--signal-cli", help="signal-cli launcher to supervise [env SIGNAL_REST_SIGNAL_CLI].")
@click.option(
    "--signal-cli-url",
    help="A running daemon: tcp://H:P or unix:///PATH [env SIGNAL_REST_SIGNAL_CLI_URL].",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warn", "error"]),
    help="[env LOG_LEVEL, SIGNAL_REST_LOG_LEVEL]",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    help="Log lines as text or JSON objects [env SIGNAL_REST_LOG_FORMAT].",
)
def serve(**flags: Any) -> None:
    """Serve the REST API."""
    run(_settings(flags))


def _settings(flags: dict[str, Any]) -> Settings:
    """The environment's settings with the command line's flags over them."""
    given = {name: value for name, value in flags.items() if value is not None}
    backends = [name for name in ("sandbox", "signal_cli", "signal_cli_url") if given.get(name)]
    if len(backends) > 1:
        raise click.UsageError("choose one of --sandbox, --signal-cli and --signal-cli-url")
    if backends:
        # A backend named on the command line replaces one from the environment.
        given = {"sandbox": False, "signal_cli": None, "signal_cli_url": None, **given}
    names = {p.name: p.opts[0] for p in click.get_current_context().command.params if p.name}
    return read_settings(names).model_copy(update=given)


@main.command()
def doctor(**flags: Any) -> None:
    """Check what `serve` with the same flags needs: Java, signal-cli, the data dir, the port
    and the accounts. One line each; exit status 1 when any is a PROBLEM."""
    from signal_rest.doctor import diagnose

    findings = diagnose(_settings(flags))
    for finding in findings:
        click.echo(finding.line())
    sys.exit(0 if all(finding.ok for finding in findings) else 1)


doctor.params = list(serve.params)  # the same flags: it checks what they would serve


main.add_command(token)  # signal-rest token create|list|revoke|off


@main.command()
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    help="Where the network's state lives [default: DATA_DIR/sandbox].",
)
@click.option("--socket", "socket_path", type=click.Path(path_type=Path), help="UNIX socket.")
@click.option("--tcp", help="HOST:PORT to listen on.")
@click.option(
    "--receive-mode",
    type=click.Choice(["on-start", "on-connection", "manual"]),
    default="on-start",
    show_default=True,
    help="As signal-cli daemon's --receive-mode.",
)
@click.option(
    "--trust-new-identities",
    type=click.Choice(["on-first-use", "always", "never"]),
    default="on-first-use",
    show_default=True,
    help="As signal-cli's --trust-new-identities.",
)
def sandbox(
    data_dir: Path | None,
    socket_path: Path | None,
    tcp: str | None,
    receive_mode: str,
    trust_new_identities: str,
) -> None:
    """Serve the simulated Signal network as a signal-cli JSON-RPC daemon."""
    from signal_rest.sandbox import run as run_sandbox

    if (socket_path is None) == (tcp is None):
        raise click.UsageError("give exactly one of --socket PATH and --tcp HOST:PORT")
    address = None
    if tcp is not None:
        host, _, port = tcp.rpartition(":")
        if not host or not port.isdigit():
            raise click.UsageError("--tcp takes HOST:PORT")
        address = (host, int(port))
    logs.configure("info", "text")
    run_sandbox(
        data_dir or read_settings().data_dir / "sandbox",
        socket=socket_path,
        tcp=address,
        receive_mode=receive_mode,
        trust_new_identities=trust_new_identities,
    )
