"""`signal-rest token create|list|revoke|off`, and what they leave in the data dir."""

from __future__ import annotations

import hashlib
import json
import re
import stat
import subprocess
import sys
from pathlib import Path

from signal_rest.auth.tokens import TOKEN_FILE
from tests.support.tokens import create_token, token_cli

TOKEN = re.compile(r"^srt_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$")
CREATED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")


def stored(data_dir: Path) -> list[dict[str, object]]:
    records: list[dict[str, object]] = json.loads((data_dir / TOKEN_FILE).read_text())["tokens"]
    return records


def test_create_prints_the_token_once_and_stores_only_its_hash(tmp_path: Path) -> None:
    result = token_cli(
        tmp_path,
        "create",
        "--name",
        "home-assistant",
        "--scope",
        "send",
        "--scope",
        "receive",
        "--account",
        "+4915100000001",
        "--rate-limit",
        "60/minute",
    )
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    match = TOKEN.match(secret)
    assert match, result.stdout
    path = tmp_path / TOKEN_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    # The random part (43 chars, after `srt_<id>_`; it may hold `_` itself) is nowhere on disk.
    assert secret not in text and secret[len("srt_") + 12 + 1 :] not in text
    [record] = stored(tmp_path)
    assert isinstance(record["created"], str) and CREATED.match(record["created"])
    assert record == {
        "id": match[1],
        "name": "home-assistant",
        "sha256": hashlib.sha256(secret.encode()).hexdigest(),
        "scopes": ["send", "receive"],
        "accounts": ["+4915100000001"],
        "rate_limit": "60/minute",
        "created": record["created"],
    }
    assert result.stderr.splitlines() == [
        f"Created token {match[1]} (home-assistant); it is not shown again.",
        f"API tokens are ON for {path}: a service using this data dir now answers /v1/health, "
        "/v1/about and the Swagger page without a token and every other route only with one.",
        "Warning: no token has the admin scope for all accounts: register, linking, "
        "/v1/accounts and the sandbox controls are refused until you create one "
        "(signal-rest token create --name admin --scope all).",
    ]


def test_create_scope_all_gives_every_scope_for_every_account(tmp_path: Path) -> None:
    create_token(tmp_path, "first", "--scope", "send")
    result = token_cli(tmp_path, "create", "--name", "admin", "--scope", "all")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"Created token {stored(tmp_path)[1]['id']} (admin); it is not shown again."
    ]
    assert stored(tmp_path)[1]["scopes"] == ["send", "receive", "groups", "admin"]
    assert stored(tmp_path)[1]["accounts"] is None
    assert stored(tmp_path)[1]["rate_limit"] is None


def test_create_refuses_bad_options(tmp_path: Path) -> None:
    create_token(tmp_path, "taken", "--scope", "send")
    duplicate = token_cli(tmp_path, "create", "--name", "taken", "--scope", "send")
    assert duplicate.exit_code == 2
    assert "a token named 'taken' exists already" in duplicate.stderr
    no_scope = token_cli(tmp_path, "create", "--name", "x")
    assert no_scope.exit_code == 2 and "Missing option '--scope'" in no_scope.stderr
    bad_scope = token_cli(tmp_path, "create", "--name", "x", "--scope", "everything")
    assert bad_scope.exit_code == 2 and "'everything' is not one of" in bad_scope.stderr
    bad_limit = token_cli(tmp_path, "create", "--name", "x", "--scope", "send", "--rate-limit", "5")
    assert bad_limit.exit_code == 2
    assert "invalid rate limit '5'" in bad_limit.stderr
    bad_account = token_cli(
        tmp_path, "create", "--name", "x", "--scope", "send", "--account", "0151"
    )
    assert bad_account.exit_code == 2
    assert "'0151' is not an account number like +4915100000001" in bad_account.stderr
    assert [r["name"] for r in stored(tmp_path)] == ["taken"]


def test_list_shows_every_token_but_no_secret(tmp_path: Path) -> None:
    assert (
        token_cli(tmp_path, "list").stdout == f"API tokens are off (no {tmp_path / TOKEN_FILE}).\n"
    )
    first = create_token(tmp_path, "ha", "--scope", "send", "--account", "+4915100000001")
    second = create_token(tmp_path, "admin", "--scope", "all", "--rate-limit", "10/second")
    result = token_cli(tmp_path, "list")
    assert result.exit_code == 0
    assert first not in result.output and second not in result.output
    [a, b] = stored(tmp_path)
    lines = [line.split() for line in result.stdout.splitlines()]
    assert lines == [
        ["API", "tokens", "are", "on", f"({tmp_path / TOKEN_FILE})."],
        ["ID", "NAME", "SCOPES", "ACCOUNTS", "RATE", "LIMIT", "CREATED"],
        [a["id"], "ha", "send", "+4915100000001", "default", a["created"]],
        [b["id"], "admin", "send,receive,groups,admin", "all", "10/second", b["created"]],
    ]
    for record in (a, b):
        assert str(record["sha256"]) not in result.output


def test_revoke_by_id_or_name_removes_the_record(tmp_path: Path) -> None:
    create_token(tmp_path, "one", "--scope", "all")
    create_token(tmp_path, "two", "--scope", "send")
    create_token(tmp_path, "three", "--scope", "send")
    two_id = stored(tmp_path)[1]["id"]
    assert token_cli(tmp_path, "revoke", str(two_id)).exit_code == 0
    result = token_cli(tmp_path, "revoke", "one")
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        "Revoked one.",
        "Warning: no token has the admin scope for all accounts: register, linking, "
        "/v1/accounts and the sandbox controls are refused until you create one "
        "(signal-rest token create --name admin --scope all).",
    ]
    assert [r["name"] for r in stored(tmp_path)] == ["three"]
    unknown = token_cli(tmp_path, "revoke", "one")
    assert unknown.exit_code == 1
    assert unknown.stderr == "Error: no token with the id or name 'one'\n"
    last = token_cli(tmp_path, "revoke", "three")
    assert last.stderr.splitlines() == [
        "Revoked three.",
        "No token is left and tokens stay ON: only /v1/health, /v1/about and the Swagger page "
        "answer. Create a token, or turn tokens off with `signal-rest token off`.",
    ]
    assert stored(tmp_path) == []


def test_off_asks_first_and_deletes_the_file(tmp_path: Path) -> None:
    create_token(tmp_path, "one", "--scope", "all")
    declined = token_cli(tmp_path, "off")  # no input: the prompt is declined
    assert declined.exit_code == 1
    assert (tmp_path / TOKEN_FILE).exists()
    result = token_cli(tmp_path, "off", "--yes")
    assert result.exit_code == 0
    assert result.stderr == f"API tokens are OFF: deleted {tmp_path / TOKEN_FILE}.\n"
    assert not (tmp_path / TOKEN_FILE).exists()
    revoke = token_cli(tmp_path, "revoke", "one")
    assert revoke.exit_code == 1
    assert revoke.stderr == f"Error: API tokens are off (no {tmp_path / TOKEN_FILE})\n"


def test_token_command_reads_the_data_dir_from_the_environment(tmp_path: Path) -> None:
    env = {"SIGNAL_REST_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    created = subprocess.run(
        [sys.executable, "-m", "signal_rest", "token", "create", "--name", "cli", "--scope", "all"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert TOKEN.match(created.stdout.strip())
    [record] = stored(tmp_path)
    assert record["name"] == "cli"
