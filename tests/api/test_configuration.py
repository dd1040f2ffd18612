"""`/v1/configuration`: the log level and each account's trust mode, read and changed at run
time, over real HTTP on the sandbox."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.flows import ALICE, register
from tests.support.service import RunningService, start_service
from tests.support.shapes import not_an_account
from tests.support.standalone import SandboxProcess

CAROL = "+4915100000003"  # an outside Signal user
DAVE = "+4915100000004"  # another, never written to before
UNTRUSTED_SEND = "Unable to complete request due to untrusted recipient keys"


@pytest.fixture
def root_level() -> Iterator[None]:
    """The service runs in this process: give its loggers their level back afterwards."""
    root = logging.getLogger("signal_rest")
    before = root.level
    try:
        yield
    finally:
        root.setLevel(before)


def send(client: httpx.Client, recipient: str) -> httpx.Response:
    return client.post(
        "/v2/send", json={"number": ALICE, "recipients": [recipient], "message": "hi"}
    )


def status_of(client: httpx.Client, number: str) -> str:
    response = client.get(f"/v1/identities/{ALICE}")
    assert response.status_code == 200, response.text
    return next(str(i["status"]) for i in response.json() if i["number"] == number)


def set_mode(client: httpx.Client, mode: str, number: str = ALICE) -> httpx.Response:
    return client.post(f"/v1/configuration/{number}/settings", json={"trust_mode": mode})


@pytest.mark.usefixtures("root_level")
def test_log_level_is_read_and_changed_at_run_time(service: RunningService) -> None:
    client = service.client
    levels = []
    for level in ("debug", "warn", "error", "info"):
        response = client.post("/v1/configuration", json={"logging": {"Level": level}})
        assert (response.status_code, response.content) == (204, b"")
        levels.append(client.get("/v1/configuration").json())
        if level == "debug":
            assert logging.getLogger("signal_rest.access").isEnabledFor(logging.DEBUG)
        if level == "error":
            assert not logging.getLogger("signal_rest.access").isEnabledFor(logging.WARNING)

    assert levels == [{"logging": {"Level": level}} for level in ("debug", "warn", "error", "info")]
    assert logging.getLogger("signal_rest").level == logging.INFO


@pytest.mark.usefixtures("root_level")
def test_log_level_key_matches_in_any_case_and_empty_changes_nothing(
    service: RunningService,
) -> None:
    client = service.client
    assert client.post("/v1/configuration", json={"LOGGING": {"level": "warn"}}).status_code == 204
    assert client.post("/v1/configuration", json={"logging": {"Level": ""}}).status_code == 204
    assert client.post("/v1/configuration", json={}).status_code == 204

    assert client.get("/v1/configuration").json() == {"logging": {"Level": "warn"}}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"logging": {"Level": "loud"}}, "Couldn't set log level - invalid log level"),
        ({"logging": {"Level": "DEBUG"}}, "Couldn't set log level - invalid log level"),
        (
            {"logging": {"Level": 5}},
            "Couldn't process request - logging.Level must be a string, got 5",
        ),
        (
            {"logging": "debug"},
            'Couldn\'t process request - logging must be an object, got the string "debug"',
        ),
        ([], "Couldn't process request - the body must be a JSON object, got a list"),
    ],
    ids=["unknown", "upper_case", "number", "not_an_object", "array"],
)
@pytest.mark.usefixtures("root_level")
def test_log_level_refuses_what_is_no_level(service: RunningService, body: Any, error: str) -> None:
    before = service.client.get("/v1/configuration").json()

    response = service.client.post("/v1/configuration", json=body)

    assert (response.status_code, response.json()) == (400, {"error": error})
    assert service.client.get("/v1/configuration").json() == before


def test_trust_mode_defaults_to_on_first_use(accounts: RunningService) -> None:
    response = accounts.client.get(f"/v1/configuration/{ALICE}/settings")

    assert (response.status_code, response.json()) == (200, {"trust_mode": "on-first-use"})


def test_trust_mode_always_trusts_a_changed_key(accounts: RunningService) -> None:
    client = accounts.client
    assert send(client, CAROL).status_code == 201

    response = set_mode(client, "always")

    assert (response.status_code, response.content) == (204, b"")
    assert client.get(f"/v1/configuration/{ALICE}/settings").json() == {"trust_mode": "always"}
    assert client.post(f"/v1/sandbox/reinstall/{CAROL}").status_code == 200
    assert send(client, CAROL).status_code == 201
    assert status_of(client, CAROL) == "TRUSTED_UNVERIFIED"


def test_trust_mode_never_trusts_no_new_key_until_trusted_by_hand(
    accounts: RunningService,
) -> None:
    client = accounts.client
    assert set_mode(client, "never").status_code == 204

    refused = send(client, DAVE)

    assert refused.status_code == 400
    assert refused.json() == {"error": f"{UNTRUSTED_SEND} ({DAVE}: IDENTITY_FAILURE)"}
    assert status_of(client, DAVE) == "UNTRUSTED"
    trusted = client.put(
        f"/v1/identities/{ALICE}/trust/{DAVE}", json={"trust_all_known_keys": True}
    )
    assert trusted.status_code == 204
    assert send(client, DAVE).status_code == 201


def test_trust_mode_on_first_use_again_after_always(accounts: RunningService) -> None:
    client = accounts.client
    assert set_mode(client, "always").status_code == 204
    assert send(client, CAROL).status_code == 201
    assert set_mode(client, "on-first-use").status_code == 204
    assert client.post(f"/v1/sandbox/reinstall/{CAROL}").status_code == 200

    assert send(client, CAROL).status_code == 400
    assert status_of(client, CAROL) == "UNTRUSTED"


def test_trust_mode_of_the_daemon_comes_from_the_setting(tmp_path: Path) -> None:
    running = start_service(tmp_path / "data", trust_new_identities="always")
    try:
        register(running.client, ALICE)
        assert send(running.client, CAROL).status_code == 201
        assert running.client.post(f"/v1/sandbox/reinstall/{CAROL}").status_code == 200

        assert running.client.get(f"/v1/configuration/{ALICE}/settings").json() == {
            "trust_mode": "always"
        }
        assert send(running.client, CAROL).status_code == 201
    finally:
        running.stop()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"trust_mode": "sometimes"}, "Invalid trust mode"),
        ({"trust_mode": ""}, "Invalid trust mode"),
        ({}, "Invalid trust mode"),
        ({"trust_mode": 1}, "Couldn't process request - trust_mode must be a string, got 1"),
        ([], "Couldn't process request - the body must be a JSON object, got a list"),
    ],
    ids=["unknown", "empty", "absent", "number", "array"],
)
def test_trust_mode_refuses_what_is_no_mode(
    accounts: RunningService, body: Any, error: str
) -> None:
    response = accounts.client.post(f"/v1/configuration/{ALICE}/settings", json=body)

    assert (response.status_code, response.json()) == (400, {"error": error})
    assert accounts.client.get(f"/v1/configuration/{ALICE}/settings").json() == {
        "trust_mode": "on-first-use"
    }


def test_trust_mode_of_an_unknown_account_is_refused(accounts: RunningService) -> None:
    unknown = "+4915100000099"
    read = accounts.client.get(f"/v1/configuration/{unknown}/settings")
    written = set_mode(accounts.client, "always", unknown)

    for response in (read, written):
        assert (response.status_code, response.json()) == not_an_account(unknown)


def test_trust_mode_with_a_daemon_run_elsewhere_is_the_daemons() -> None:
    # A daemon the service reaches by URL (here the sandbox as its own process) is like
    # signal-cli: one --trust-new-identities for all its accounts.
    root = Path(tempfile.mkdtemp(prefix="sr-"))  # short: UNIX socket paths are limited
    daemon = SandboxProcess(root)
    running = None
    try:
        running = start_service(
            root / "data", sandbox=False, signal_cli_url=f"unix://{daemon.socket}"
        )
        client = running.client
        assert client.post(f"/v1/register/{ALICE}").status_code == 201
        code = daemon.call("sandbox.getVerificationCode", {"number": ALICE})["code"]
        assert client.post(f"/v1/register/{ALICE}/verify/{code}").status_code == 201
        url = f"/v1/configuration/{ALICE}/settings"

        read = client.get(url)
        same = client.post(url, json={"trust_mode": "on-first-use"})
        other = client.post(url, json={"trust_mode": "never"})

        assert (read.status_code, read.json()) == (200, {"trust_mode": "on-first-use"})
        assert (same.status_code, same.content) == (204, b"")
        assert (other.status_code, other.json()) == (
            400,
            {
                "error": "Couldn't set trust mode - signal-cli applies one trust mode to all its "
                "accounts; set JSON_RPC_TRUST_NEW_IDENTITIES"
            },
        )
    finally:
        if running is not None:
            running.stop()
        daemon.stop()
        shutil.rmtree(root, ignore_errors=True)
