"""Where webhooks go: the targets the settings name, checked once at startup.

    targets = webhook_targets(settings)     # RECEIVE_WEBHOOK_URL first, then each of WEBHOOKS
    target.accepts("+4915…")                # its account filter (empty: every account)
    target.secret                           # the whsec_… key it is signed with, or None

The `webhooks` setting is a JSON list, so that it fits in one environment variable:

    SIGNAL_REST_WEBHOOKS='[{"url": "https://bot.example/hook", "accounts": ["+4915…"],
                            "secret": "whsec_…", "name": "bot"}]'

A target's position in the inbox is kept under its consumer name, `webhook:<name>` (`webhook`
for RECEIVE_WEBHOOK_URL; the prefix keeps webhooks apart from polls and websockets that name
themselves), so a target that keeps its name keeps its place across restarts and URL changes.
Without a name, one is derived from the URL (a new URL is a new consumer that starts with what no
unnamed client has taken yet).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

if TYPE_CHECKING:
    from signal_rest.config import Settings

__all__ = [
    "SECRET_PREFIX",
    "WebhookTarget",
    "check_unique",
    "check_url",
    "parse_secret",
    "parse_targets",
    "webhook_targets",
]

SECRET_PREFIX = "whsec_"
# The Standard Webhooks specification: a random key of 24 to 64 bytes.
MIN_KEY, MAX_KEY = 24, 64
# The consumer name of RECEIVE_WEBHOOK_URL, and the prefix of the others'.
DEFAULT_NAME = "webhook"
# A consumer name is at most 64 characters; "webhook:" takes 8.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,55}")


def parse_secret(secret: str) -> bytes:
    """The HMAC key of a `whsec_<base64>` secret; ValueError saying what is wrong otherwise."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"a webhook secret starts with {SECRET_PREFIX!r} (whsec_<base64 key>)")
    encoded = secret[len(SECRET_PREFIX) :]
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        raise ValueError("the key after 'whsec_' is not base64") from None
    if not MIN_KEY <= len(key) <= MAX_KEY:
        raise ValueError(
            f"a webhook secret's key is {MIN_KEY} to {MAX_KEY} random bytes, base64-encoded "
            f"(this one is {len(key)} bytes); make one with: "
            "python -c \"import base64,os; print('whsec_' + base64.b64encode(os.urandom(32))"
            '.decode())"'
        )
    return key


def check_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or not rest or rest.startswith("/"):
        raise ValueError(f"{url!r} is not an http:// or https:// URL")
    return url


class WebhookTarget(BaseModel):
    """One webhook: where to POST, for which accounts, signed with which secret, under which
    consumer name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(description="http:// or https:// URL the messages are POSTed to.")
    accounts: tuple[str, ...] = Field(
        default=(), description="Accounts whose messages go there; empty: every account."
    )
    secret: str | None = Field(
        default=None, description="whsec_<base64> key to sign with; default: webhook_secret."
    )
    name: str | None = Field(default=None, description="Consumer name; default: from the URL.")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_url(value)

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        if value is not None:
            parse_secret(value)
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not _NAME.fullmatch(value):
            raise ValueError(
                f"webhook name {value!r}: 1 to 56 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        return value

    @property
    def consumer(self) -> str:
        """The name its position in the inbox is kept under (and its metrics label)."""
        if self.name == DEFAULT_NAME:
            return DEFAULT_NAME
        name = self.name or hashlib.sha256(self.url.encode()).hexdigest()[:12]
        return f"{DEFAULT_NAME}:{name}"

    @property
    def key(self) -> bytes | None:
        return None if self.secret is None else parse_secret(self.secret)

    def accepts(self, account: str) -> bool:
        return not self.accounts or account in self.accounts


def parse_targets(value: object) -> object:
    """The `webhooks` setting as given: a JSON text (from the environment) or a list."""
    if isinstance(value, str):
        if not value.strip():
            return []
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"webhooks is not JSON ({exc.msg} at character {exc.pos}); expected a list like "
                '[{"url": "https://…", "accounts": ["+49…"], "secret": "whsec_…", "name": "bot"}]'
            ) from None
    if not isinstance(value, list):
        raise ValueError('webhooks is a JSON list of objects like {"url": "https://…"}')
    return [_target(item, index) for index, item in enumerate(value)]


def _target(item: Any, index: int) -> WebhookTarget:
    if isinstance(item, WebhookTarget):
        return item
    try:
        return WebhookTarget.model_validate(item)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'entry'}: "
            f"{error['msg'].removeprefix('Value error, ')}"
            for error in exc.errors()
        )
        raise ValueError(f"webhooks[{index}]: {problems}") from None


def check_unique(targets: list[WebhookTarget]) -> None:
    """Two targets with one consumer name would share (and fight over) one inbox position."""
    seen: set[str] = set()
    for target in targets:
        if target.consumer in seen:
            raise ValueError(
                f"two webhooks are named {target.consumer!r}: give each its own name"
                if target.name is not None
                else f"two webhooks post to {target.url!r}: give them different names"
            )
        seen.add(target.consumer)


def webhook_targets(settings: Settings) -> list[WebhookTarget]:
    """Every configured target, with the shared secret filled in where a target has none."""
    targets: list[WebhookTarget] = []
    if settings.receive_webhook_url:
        targets.append(WebhookTarget(url=settings.receive_webhook_url, name=DEFAULT_NAME))
    targets += settings.webhooks
    return [
        target
        if target.secret is not None
        else target.model_copy(update={"secret": settings.webhook_secret})
        for target in targets
    ]
