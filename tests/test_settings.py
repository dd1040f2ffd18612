"""Where a setting comes from: a value given in code (or by a flag) over the environment, the
environment over the default. Each setting is read from SIGNAL_REST_<NAME>, then the Go project's
variable where it has one, then the setting's own name, in any case."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from signal_rest.config import Settings


def test_the_default_when_nothing_is_set() -> None:
    settings = Settings()
    assert (settings.host, settings.port, settings.sandbox) == ("127.0.0.1", 8080, False)


def test_signal_rest_variable_goes_before_the_go_projects(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9001")
    assert Settings().port == 9001
    monkeypatch.setenv("SIGNAL_REST_PORT", "9002")
    assert Settings().port == 9002


def test_the_settings_own_name_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("host", "0.0.0.0")
    monkeypatch.setenv("Signal_Rest_Sandbox", "yes")
    settings = Settings()
    assert (settings.host, settings.sandbox) == ("0.0.0.0", True)


def test_a_given_value_goes_before_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGNAL_REST_PORT", "9002")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    settings = Settings(port=1234, SIGNAL_REST_LOG_LEVEL="WARN")
    assert (settings.port, settings.log_level) == (1234, "warn")


def test_lists_are_comma_separated_and_unknown_names_ignored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SIGNAL_REST_ALLOWED_HOSTS", "*.example.com, Bot.Example ")
    monkeypatch.setenv("SIGNAL_REST_NO_SUCH_SETTING", "1")
    settings = Settings(no_such_setting=2)
    assert settings.allowed_hosts == ["*.example.com", "bot.example"]
    assert "no_such_setting" not in settings.model_dump()


def test_a_bad_value_is_named_by_the_settings_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "eighty")
    with pytest.raises(ValidationError) as raised:
        Settings()
    assert [(e["loc"], e["type"]) for e in raised.value.errors()] == [
        (("SIGNAL_REST_PORT",), "int_parsing")
    ]


@pytest.mark.parametrize(
    ("variable", "value", "setting", "expected"),
    [
        ("PORT", "9001", "port", 9001),
        ("MODE", "json-rpc-native", "mode", "json-rpc-native"),
        ("SIGNAL_CLI_CONFIG_DIR", "/srv/signal-cli", "signal_cli_dir", Path("/srv/signal-cli")),
        ("LOG_LEVEL", "debug", "log_level", "debug"),
        ("DEFAULT_SIGNAL_TEXT_MODE", "styled", "default_signal_text_mode", "styled"),
        ("JSON_RPC_TRUST_NEW_IDENTITIES", "always", "trust_new_identities", "always"),
        ("JSON_RPC_IGNORE_ATTACHMENTS", "true", "ignore_attachments", True),
        ("JSON_RPC_IGNORE_STORIES", "true", "ignore_stories", True),
        ("JSON_RPC_IGNORE_AVATARS", "true", "ignore_avatars", True),
        ("JSON_RPC_IGNORE_STICKERS", "true", "ignore_stickers", True),
        (
            "RECEIVE_WEBHOOK_URL",
            "http://ha.local/hook",
            "receive_webhook_url",
            "http://ha.local/hook",
        ),
    ],
)
def test_each_go_variable_the_readme_names_keeps_its_meaning(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, setting: str, expected: object
) -> None:
    assert getattr(Settings(), setting) != expected
    monkeypatch.setenv(variable, value)
    assert getattr(Settings(), setting) == expected
