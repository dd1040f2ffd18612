"""The webhook settings, read from the environment like the service reads them."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from signal_rest.config import Settings
from signal_rest.webhooks.targets import WebhookTarget, webhook_targets

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(bytes(range(1, 25))).decode()


def test_go_projects_receive_webhook_url_posts_every_account(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RECEIVE_WEBHOOK_URL", "http://ha.local:8123/api/webhook/signal")
    assert webhook_targets(Settings()) == [
        WebhookTarget(url="http://ha.local:8123/api/webhook/signal", name="webhook")
    ]


def test_webhooks_list_from_the_environment_with_the_shared_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SIGNAL_REST_RECEIVE_WEBHOOK_URL", "https://one.example/hook")
    monkeypatch.setenv("SIGNAL_REST_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv(
        "SIGNAL_REST_WEBHOOKS",
        '[{"url": "https://bot.example/in", "accounts": ["+4915100000001"], "name": "bot"},'
        f' {{"url": "https://two.example/", "secret": "{OTHER_SECRET}"}}]',
    )
    targets = webhook_targets(Settings())
    assert targets == [
        WebhookTarget(url="https://one.example/hook", secret=SECRET, name="webhook"),
        WebhookTarget(
            url="https://bot.example/in", accounts=("+4915100000001",), secret=SECRET, name="bot"
        ),
        WebhookTarget(url="https://two.example/", secret=OTHER_SECRET),
    ]
    assert [t.consumer for t in targets][:2] == ["webhook", "webhook:bot"]
    assert targets[2].consumer.startswith("webhook:")
    assert len(targets[2].consumer) == len("webhook:") + 12
    assert targets[1].accepts("+4915100000001")
    assert not targets[1].accepts("+4915100000002")
    assert targets[0].accepts("+4915100000002")


def test_empty_values_mean_no_webhook(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECEIVE_WEBHOOK_URL", "")
    monkeypatch.setenv("SIGNAL_REST_WEBHOOK_SECRET", "")
    monkeypatch.setenv("SIGNAL_REST_WEBHOOKS", "")
    assert webhook_targets(Settings()) == []


@pytest.mark.parametrize(
    ("env", "value", "error"),
    [
        (
            "SIGNAL_REST_WEBHOOKS",
            "https://bot.example/in",
            "webhooks is not JSON (Expecting value at character 0); expected a list like "
            '[{"url": "https://…", "accounts": ["+49…"], "secret": "whsec_…", "name": "bot"}]',
        ),
        (
            "SIGNAL_REST_WEBHOOKS",
            '{"url": "https://bot.example/in"}',
            'webhooks is a JSON list of objects like {"url": "https://…"}',
        ),
        (
            "SIGNAL_REST_WEBHOOKS",
            '[{"url": "https://a.example/"}, {"url": "ftp://b.example/", "acounts": []}]',
            "webhooks[1]: url: 'ftp://b.example/' is not an http:// or https:// URL; "
            "acounts: Extra inputs are not permitted",
        ),
        (
            "SIGNAL_REST_WEBHOOKS",
            '[{"url": "https://a.example/", "name": "a b"}]',
            "webhooks[0]: name: webhook name 'a b': 1 to 56 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
        ),
        (
            "SIGNAL_REST_WEBHOOKS",
            '[{"url": "https://a.example/", "name": "webhook"}]',
            "two webhooks are named 'webhook': give each its own name",
        ),
        (
            "SIGNAL_REST_WEBHOOKS",
            '[{"url": "https://ha.example/"}, {"url": "https://ha.example/"}]',
            "two webhooks post to 'https://ha.example/': give them different names",
        ),
        (
            "SIGNAL_REST_WEBHOOK_SECRET",
            "c2VjcmV0",
            "a webhook secret starts with 'whsec_' (whsec_<base64 key>)",
        ),
        (
            "SIGNAL_REST_WEBHOOK_SECRET",
            "whsec_not base64!",
            "the key after 'whsec_' is not base64",
        ),
        (
            "SIGNAL_REST_WEBHOOK_SECRET",
            "whsec_c2VjcmV0",
            "a webhook secret's key is 24 to 64 random bytes, base64-encoded (this one is 6 "
            "bytes); make one with: python -c \"import base64,os; print('whsec_' + "
            'base64.b64encode(os.urandom(32)).decode())"',
        ),
        (
            "RECEIVE_WEBHOOK_URL",
            "ha.local:8123/api/webhook",
            "'ha.local:8123/api/webhook' is not an http:// or https:// URL",
        ),
        ("SIGNAL_REST_WEBHOOK_RETRY_PERIOD_HOURS", "0", "must be more than 0"),
        ("SIGNAL_REST_WEBHOOK_MAX_BACKOFF_SECONDS", "-1", "must be more than 0"),
    ],
    ids=[
        "not-json",
        "not-a-list",
        "bad-entry",
        "bad-name",
        "name-taken",
        "same-url",
        "secret-prefix",
        "secret-not-base64",
        "secret-too-short",
        "url-without-scheme",
        "no-retry-period",
        "negative-backoff",
    ],
)
def test_bad_webhook_settings_are_refused_with_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, error: str
) -> None:
    monkeypatch.setenv("RECEIVE_WEBHOOK_URL", "http://ha.local/")
    monkeypatch.setenv(env, value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    [problem] = caught.value.errors()
    assert problem["msg"] == f"Value error, {error}"
