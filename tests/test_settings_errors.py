"""A bad setting ends `signal-rest` with one line per problem naming the variable (and flag) and
what it takes, exit status 2, and never the value given: it may be a secret."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SIGNAL_REST = [sys.executable, "-m", "signal_rest"]
SECRET = "whsec_dG9vc2hvcnQ="  # 8 bytes: too short a key, and secret all the same
TARGET_SECRET = "s3cr3t-not-whsec"


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SIGNAL_REST, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_names_each_bad_setting_on_one_line(tmp_path: Path) -> None:
    result = _run(
        "serve",
        "--data-dir",
        str(tmp_path),
        PORT="eighty",
        SIGNAL_REST_SANDBOX="maybe",
        LOG_LEVEL="loud",
        SIGNAL_REST_RPC_TIMEOUT="soon",
        SIGNAL_REST_WEBHOOK_SECRET=SECRET,
        SIGNAL_REST_WEBHOOKS=(
            f'[{{"url": "ftp://bot:pw@x.example/?token=t0k3n", "secret": "{TARGET_SECRET}"}}]'
        ),
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [
        "signal-rest: PORT (--port): expected a whole number",
        "signal-rest: SIGNAL_REST_SANDBOX (--sandbox): expected true or false (also 1/0, yes/no, "
        "on/off)",
        "signal-rest: LOG_LEVEL (--log-level): expected 'debug', 'info', 'warn', 'warning' or "
        "'error'",
        "signal-rest: SIGNAL_REST_RPC_TIMEOUT: expected a number",
        "signal-rest: SIGNAL_REST_WEBHOOK_SECRET: a webhook secret's key is 24 to 64 random "
        'bytes, base64-encoded (this one is 8 bytes); make one with: python -c "import '
        "base64,os; print('whsec_' + base64.b64encode(os.urandom(32)).decode())\"",
        "signal-rest: SIGNAL_REST_WEBHOOKS: webhooks[0]: url: 'ftp://…@x.example/?…' is not an "
        "http:// or https:// URL; secret: a webhook secret starts with 'whsec_' "
        "(whsec_<base64 key>)",
    ]
    for secret in (SECRET, TARGET_SECRET, "bot:pw", "t0k3n"):
        assert secret not in result.stderr


def test_serve_names_the_variable_that_was_set(tmp_path: Path) -> None:
    result = _run("serve", "--sandbox", "--data-dir", str(tmp_path), SIGNAL_REST_PORT="x")
    assert (result.returncode, result.stderr) == (
        2,
        "signal-rest: SIGNAL_REST_PORT (--port): expected a whole number\n",
    )


def test_webhooks_that_are_no_json_are_one_line_without_the_value(tmp_path: Path) -> None:
    text = '[{"url": "https://ha.example/", "secret": "whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"'
    result = _run("serve", "--sandbox", "--data-dir", str(tmp_path), SIGNAL_REST_WEBHOOKS=text)
    assert (result.returncode, result.stderr) == (
        2,
        "signal-rest: SIGNAL_REST_WEBHOOKS: webhooks is not JSON (Expecting ',' delimiter at "
        'character 82); expected a list like [{"url": "https://…", "accounts": ["+49…"], '
        '"secret": "whsec_…", "name": "bot"}]\n',
    )


def test_token_commands_report_bad_settings_the_same_way() -> None:
    result = _run("token", "list", MODE="fast")
    assert (result.returncode, result.stderr) == (
        2,
        "signal-rest: MODE: expected 'json-rpc', 'json-rpc-native', 'normal' or 'native'\n",
    )
