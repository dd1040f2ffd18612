"""`signal-rest token create|list|revoke|off`: API tokens, edited in DATA_DIR/tokens.json.

    signal-rest token create --name home-assistant --scope send --account +4915100000001
    signal-rest token list
    signal-rest token revoke home-assistant
    signal-rest token off --yes

`create` prints the token on stdout (and nothing else there) exactly once; what the change means
for the service goes to stderr. A running service applies every change at its next request.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import click

from signal_rest.auth.limits import RateLimit
from signal_rest.auth.tokens import SCOPES, TOKEN_FILE, TokenFile, TokenSet, new_token
from signal_rest.settings_errors import read_settings

__all__ = ["token"]

ALL = "all"
E164 = re.compile(r"\+[1-9][0-9]{4,14}")
ON_NOTICE = (
    "API tokens are ON for {path}: a service using this data dir now answers /v1/health, "
    "/v1/about and the Swagger page without a token and every other route only with one."
)


def _file(data_dir: Path | None) -> TokenFile:
    return TokenFile((data_dir or read_settings().data_dir) / TOKEN_FILE)


def _warn_about_admin(tokens: TokenSet) -> None:
    if not any("admin" in t.scopes and t.accounts is None for t in tokens.tokens):
        click.echo(
            "Warning: no token has the admin scope for all accounts: register, linking, "
            "/v1/accounts and the sandbox controls are refused until you create one "
            "(signal-rest token create --name admin --scope all).",
            err=True,
        )


data_dir_option = click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    help="The service's data dir [env SIGNAL_REST_DATA_DIR].",
)


@click.group()
def token() -> None:
    """Create, list and revoke API tokens (tokens are on while DATA_DIR/tokens.json exists)."""


@token.command()
@click.option("--name", required=True, help="What the token is for; unique.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice([*SCOPES, ALL]),
    help="A route group the token may use; repeat for several.",
)
@click.option(
    "--account",
    "accounts",
    multiple=True,
    help="An account number the token may act for; repeat for several [default: all].",
)
@click.option(
    "--rate-limit",
    help="N/second, N/minute, N/hour, N/day or 'unlimited' [default: token_rate_limit].",
)
@data_dir_option
def create(
    name: str,
    scopes: tuple[str, ...],
    accounts: tuple[str, ...],
    rate_limit: str | None,
    data_dir: Path | None,
) -> None:
    """Create a token and print it (this is the only time it is shown)."""
    if rate_limit is not None:
        try:
            RateLimit.parse(rate_limit)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--rate-limit") from exc
    for number in accounts:
        if not E164.fullmatch(number):
            raise click.BadParameter(
                f"{number!r} is not an account number like +4915100000001", param_hint="--account"
            )
    granted = SCOPES if ALL in scopes else tuple(s for s in SCOPES if s in scopes)
    secret, record = new_token(
        name, scopes=granted, accounts=tuple(accounts) or None, rate_limit=rate_limit
    )
    file = _file(data_dir)
    was_on = file.path.exists()

    def add(tokens: TokenSet) -> TokenSet:
        if any(t.name == name for t in tokens.tokens):
            raise click.UsageError(f"a token named {name!r} exists already")
        return replace(tokens, tokens=(*tokens.tokens, record))

    tokens = file.update(add)
    click.echo(secret)
    click.echo(f"Created token {record.id} ({name}); it is not shown again.", err=True)
    if not was_on:
        click.echo(ON_NOTICE.format(path=file.path), err=True)
    _warn_about_admin(tokens)


@token.command(name="list")
@data_dir_option
def list_tokens(data_dir: Path | None) -> None:
    """List the tokens (never their secrets)."""
    file = _file(data_dir)
    tokens = file.read()
    if tokens is None:
        click.echo(f"API tokens are off (no {file.path}).")
        return
    click.echo(f"API tokens are on ({file.path}).")
    rows = [("ID", "NAME", "SCOPES", "ACCOUNTS", "RATE LIMIT", "CREATED")]
    for t in tokens.tokens:
        accounts = ALL if t.accounts is None else ",".join(t.accounts)
        limit = t.rate_limit or "default"
        rows.append((t.id, t.name, ",".join(t.scopes), accounts, limit, t.created))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@token.command()
@click.argument("token_id")
@data_dir_option
def revoke(token_id: str, data_dir: Path | None) -> None:
    """Revoke the token with this id or name; a running service refuses it at once."""
    file = _file(data_dir)
    if not file.path.exists():
        raise click.ClickException(f"API tokens are off (no {file.path})")

    def drop(tokens: TokenSet) -> TokenSet:
        kept = tuple(t for t in tokens.tokens if token_id not in (t.id, t.name))
        if len(kept) == len(tokens.tokens):
            raise click.ClickException(f"no token with the id or name {token_id!r}")
        return replace(tokens, tokens=kept)

    tokens = file.update(drop)
    click.echo(f"Revoked {token_id}.", err=True)
    if not tokens.tokens:
        click.echo(
            "No token is left and tokens stay ON: only /v1/health, /v1/about and the Swagger page "
            "answer. Create a token, or turn tokens off with `signal-rest token off`.",
            err=True,
        )
    else:
        _warn_about_admin(tokens)


@token.command()
@click.confirmation_option(
    prompt="Turn API tokens off? Anyone who reaches the port may then use every route."
)
@data_dir_option
def off(data_dir: Path | None) -> None:
    """Turn tokens off: delete every token; the API is open again, as without tokens."""
    file = _file(data_dir)
    if file.remove():
        click.echo(f"API tokens are OFF: deleted {file.path}.", err=True)
    else:
        click.echo(f"API tokens were already off (no {file.path}).", err=True)
