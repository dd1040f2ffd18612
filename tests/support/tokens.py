"""API tokens for tests, made with the real `signal-rest token` command (in-process)."""

from __future__ import annotations

import base64
from pathlib import Path

from click.testing import CliRunner, Result

from signal_rest.cli import main


def token_cli(data_dir: Path, *args: str) -> Result:
    """`signal-rest token ARGS --data-dir DATA_DIR`."""
    return CliRunner().invoke(main, ["token", *args, "--data-dir", str(data_dir)])


def create_token(data_dir: Path, name: str, *options: str) -> str:
    """A new token's secret; `options` as `signal-rest token create` takes them."""
    result = token_cli(data_dir, "create", "--name", name, *options)
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert "\n" not in secret, result.stdout
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def basic(secret: str, user: str = "api") -> dict[str, str]:
    encoded = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}
