"""Settings, declared once.

Every field has a default and a description. Each is read from `SIGNAL_REST_<NAME>` and, where
signal-cli-rest-api has a variable with the same meaning, from that name too (`PORT`, `MODE`,
`LOG_LEVEL`, ...). The CLI flags override them; `docs/configuration.md` is generated from this
model and a test fails when it drifts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from signal_rest.auth.limits import RateLimit
from signal_rest.webhooks.targets import (
    WebhookTarget,
    check_unique,
    check_url,
    parse_secret,
    parse_targets,
    webhook_targets,
)

__all__ = ["GO_ENV_ALIASES", "Settings", "default_data_dir"]

MIB = 1024 * 1024
# Signal's attachment limit is 100 MiB; base64 makes that 4/3 as large in a JSON body.
ATTACHMENT_LIMIT = 100 * MIB
BODY_LIMIT = ATTACHMENT_LIMIT * 4 // 3 + MIB


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "signal-rest"


def _env(name: str, *go_names: str) -> AliasChoices:
    return AliasChoices(f"SIGNAL_REST_{name.upper()}", *go_names)


# signal-cli-rest-api variables that keep their meaning here, by setting name.
GO_ENV_ALIASES: dict[str, tuple[str, ...]] = {
    "port": ("PORT",),
    "mode": ("MODE",),
    "signal_cli_config_dir": ("SIGNAL_CLI_CONFIG_DIR",),
    "log_level": ("LOG_LEVEL",),
    "default_signal_text_mode": ("DEFAULT_SIGNAL_TEXT_MODE",),
    "trust_new_identities": ("JSON_RPC_TRUST_NEW_IDENTITIES",),
    "ignore_attachments": ("JSON_RPC_IGNORE_ATTACHMENTS",),
    "ignore_stories": ("JSON_RPC_IGNORE_STORIES",),
    "ignore_avatars": ("JSON_RPC_IGNORE_AVATARS",),
    "ignore_stickers": ("JSON_RPC_IGNORE_STICKERS",),
    "receive_webhook_url": ("RECEIVE_WEBHOOK_URL",),
}


def _field(name: str, default: object, description: str) -> Any:
    return Field(
        default=default,
        description=description,
        validation_alias=_env(name, *GO_ENV_ALIASES.get(name, ())),
    )


def _names(name: str, field: Any) -> list[str]:
    """The names a setting is given by, in order of precedence: its variables
    (SIGNAL_REST_<NAME>, then the Go project's), then the setting's own name."""
    alias = field.validation_alias
    choices = [str(c) for c in alias.choices] if isinstance(alias, AliasChoices) else []
    return choices + ([name] if name not in choices else [])


def _with_environment(given: dict[str, Any]) -> dict[str, Any]:
    """`given` (by setting name or variable, in any case) over the environment's values, each
    under the setting's first variable name (which a validation error names)."""
    environment = {key.lower(): value for key, value in os.environ.items()}
    offered = {key.lower(): key for key in given}
    values: dict[str, Any] = {}
    for name, field in Settings.model_fields.items():
        names = _names(name, field)
        keys = [offered.pop(n.lower()) for n in names if n.lower() in offered]
        if keys:
            values[names[0]] = given[keys[0]]
        elif found := next((n.lower() for n in names if n.lower() in environment), None):
            values[names[0]] = environment[found]
    values.update((key, given[key]) for key in offered.values())  # ignored, as unknown
    return values


class Settings(BaseModel):
    """Everything signal-rest can be told. `Settings()` reads the environment.

    Given values win over the environment, the environment over the defaults; names are matched
    in any case. (This is what pydantic-settings did for us; it also loaded its dotenv, YAML,
    TOML, cloud-secret and argparse sources, 1.3 MiB held by every service.)"""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, validate_default=True)

    def __init__(self, **given: Any) -> None:
        super().__init__(**_with_environment(given))

    host: str = _field("host", "127.0.0.1", "Address to listen on.")
    port: int = _field("port", 8080, "Port to listen on.")
    data_dir: Path = _field(
        "data_dir",
        default_data_dir(),
        "Where the inbox database, temporary attachments, the sandbox's network and the "
        "supervised signal-cli's socket live.",
    )
    sandbox: bool = _field(
        "sandbox", False, "Run on the built-in simulated Signal network instead of signal-cli."
    )
    signal_cli: str | None = _field(
        "signal_cli",
        None,
        "Path of the signal-cli launcher to start and supervise as a daemon. Default: "
        "`signal-cli` on PATH (`signal-cli-native` with MODE=json-rpc-native).",
    )
    signal_cli_url: str | None = _field(
        "signal_cli_url",
        None,
        "Connect to a signal-cli daemon that is already running: tcp://HOST:PORT or "
        "unix:///PATH. It should run with --receive-mode manual so no message is lost.",
    )
    signal_cli_config_dir: Path | None = _field(
        "signal_cli_config_dir",
        None,
        "signal-cli's data directory (its --config). Default: DATA_DIR/signal-cli.",
    )
    mode: Literal["json-rpc", "json-rpc-native", "normal", "native"] = _field(
        "mode",
        "json-rpc",
        "signal-cli-rest-api's MODE. signal-rest always runs one daemon; json-rpc-native (or "
        "native) makes the default launcher signal-cli-native.",
    )
    log_level: Literal["debug", "info", "warn", "warning", "error"] = _field(
        "log_level", "info", "Log level."
    )
    access_log: Literal["off", "errors", "all"] = _field(
        "access_log",
        "errors",
        "Which requests get an access line (at log level info): all, only those answered "
        "with a 4xx or 5xx status (and websockets closed by an error), or none.",
    )
    http_parser: Literal["auto", "httptools", "h11"] = _field(
        "http_parser",
        "auto",
        "uvicorn's HTTP/1.1 parser: httptools (fast, C) where it is installed, else h11 "
        "(pure Python).",
    )
    event_loop: Literal["auto", "uvloop", "asyncio"] = _field(
        "event_loop",
        "auto",
        "The event loop: uvloop (fast) where it is installed, else asyncio's own.",
    )
    log_format: Literal["text", "json"] = _field(
        "log_format",
        "text",
        "Log lines as text, or as one JSON object a line (keys time, level, logger, message, "
        "request_id; access lines add method, path, status, duration_ms).",
    )
    allowed_origins: list[str] = _field(
        "allowed_origins",
        [],
        "Web origins (scheme://host[:port], comma-separated) whose pages may use the API from "
        "a browser; they get CORS answers. A request with any other Origin header is refused "
        "(403); clients that send none (curl, bots, client libraries) and the service's own "
        "origin are not affected.",
    )
    allowed_hosts: list[str] = _field(
        "allowed_hosts",
        [],
        "Host header names the service answers to besides localhost, 127.x.x.x and [::1], "
        "comma-separated (`*.example.com` for subdomains, `*` for any), against DNS rebinding. "
        "Empty: no other name while HOST is a loopback address, any name otherwise.",
    )
    default_signal_text_mode: Literal["normal", "styled"] = _field(
        "default_signal_text_mode",
        "normal",
        "text_mode of /v2/send when a request gives none.",
    )
    trust_new_identities: Literal["on-first-use", "always", "never"] | None = _field(
        "trust_new_identities",
        None,
        "signal-cli's --trust-new-identities for the supervised daemon and the sandbox "
        "(unset: signal-cli's default, on-first-use).",
    )
    ignore_attachments: bool = _field(
        "ignore_attachments", False, "Daemon flag --ignore-attachments."
    )
    ignore_stories: bool = _field("ignore_stories", False, "Daemon flag --ignore-stories.")
    ignore_avatars: bool = _field(
        "ignore_avatars", False, "Daemon flag --ignore-avatars (signal-cli 0.14+; 0.13 refuses it)."
    )
    ignore_stickers: bool = _field(
        "ignore_stickers",
        False,
        "Daemon flag --ignore-stickers (signal-cli 0.14+; 0.13 refuses it).",
    )
    rpc_timeout: float = _field(
        "rpc_timeout", 60.0, "Seconds to wait for signal-cli's answer to one call."
    )
    max_body_bytes: int = _field(
        "max_body_bytes",
        BODY_LIMIT,
        "Largest request body accepted, checked while reading (default: Signal's 100 MiB "
        "attachment limit in base64, plus 1 MiB).",
    )
    # Hostile input is cheap: limits met before a request costs memory, parsing or a
    # connection slot for long (signal_rest.api.nesting, edge.limits, protocols.http).
    max_small_body_bytes: int = _field(
        "max_small_body_bytes",
        MIB,
        "Largest body of the routes that carry no base64 attachment or avatar (all but "
        "/v1/send, /v2/send, profile and group updates, /api/v1/rpc and the sandbox's sends, "
        "acts and sticker uploads, which take max_body_bytes); a larger Content-Length is "
        "refused before reading.",
    )
    max_json_depth: int = _field(
        "max_json_depth",
        64,
        "How deep arrays and objects may nest in a request body; checked before parsing.",
    )
    header_timeout: float = _field(
        "header_timeout",
        15.0,
        "Seconds a connection has to send a request's headers, counted from when it opens or "
        "its previous response ends, however slowly they trickle in; then it gets 408 (or is "
        "just closed if it sent nothing).",
    )
    body_timeout: float = _field(
        "body_timeout",
        600.0,
        "Seconds from a request's headers until its whole body has arrived, however slowly it "
        "trickles in; then it gets 408. The default lets a body of max_body_bytes arrive at "
        "2 Mbit/s.",
    )
    max_connections: int | None = _field(
        "max_connections",
        None,
        "Most open client connections (websockets included); more are answered 503 and "
        "closed at once. Default: the open-file limit (ulimit -n) less a quarter of it (at "
        "least 64, at most half) kept for the daemon socket, SQLite and attachment files.",
    )
    delivered_retention_hours: float = _field(
        "delivered_retention_hours",
        168.0,
        "How long a message stays in the inbox after a client took it, or after it arrived when "
        "only named consumers read its account. Messages some consumer has not had yet are kept "
        "until it has them (or it expires, see `consumer_expiry_hours`).",
    )
    max_attachment_bytes: int = _field(
        "max_attachment_bytes", ATTACHMENT_LIMIT, "Largest decoded attachment accepted."
    )
    token_rate_limit: str = _field(
        "token_rate_limit",
        "unlimited",
        "Rate limit of each API token created without its own `--rate-limit`: `N/second`, "
        "`N/minute`, `N/hour`, `N/day` or `unlimited` (over it: 429 with Retry-After).",
    )
    websocket_queue: int = _field(
        "websocket_queue",
        500,
        "Most messages one receive websocket holds at a time: queued for it, or sent and not yet "
        "confirmed read by the client. Beyond that, new messages stay pending for REST polls and "
        "the websocket reads them later if it catches up.",
    )
    websocket_write_timeout: float = _field(
        "websocket_write_timeout",
        30.0,
        "Seconds a receive websocket's client may take to accept a frame or to answer the ping "
        "that confirms it read the frames before; then it is closed with 1011 and what it had "
        "not confirmed is pending again.",
    )
    ack_timeout: float = _field(
        "ack_timeout",
        30.0,
        "Seconds a receive websocket with `ack=true` waits for the client's ack before it sends "
        "again, in order, everything after the last ack.",
    )
    events_keepalive: float = _field(
        "events_keepalive",
        15.0,
        "Seconds between the keep-alive comments (`:`) on `GET /api/v1/events`, signal-cli's "
        "interval; they keep proxies from closing a quiet stream.",
    )
    consumer_expiry_hours: float = _field(
        "consumer_expiry_hours",
        720.0,
        "A named consumer (and the unnamed clients of an account) not seen for this long stops "
        "holding messages back: they are forgotten once their retention has passed, and the "
        "metrics show it as stale. Connected consumers and configured webhooks are always seen.",
    )
    receive_webhook_url: str | None = _field(
        "receive_webhook_url",
        None,
        "POST every received message of every account there, as signal-cli's JSON-RPC `receive` "
        "notification (the Go project's payload), from the inbox: in order per account, "
        "retried until a 2xx answer (README: Webhooks). Its consumer name is `webhook`.",
    )
    webhook_secret: str | None = _field(
        "webhook_secret",
        None,
        "Standard Webhooks secret (`whsec_` + base64 of 24 to 64 random bytes). When set, every "
        "webhook request without a secret of its own is signed (webhook-id, webhook-timestamp, "
        "webhook-signature headers).",
    )
    webhooks: list[WebhookTarget] = _field(
        "webhooks",
        [],
        'More webhooks, as a JSON list: `[{"url": "https://…", "accounts": ["+49…"], '
        '"secret": "whsec_…", "name": "bot"}]`. Only `url` is required; no `accounts`: every '
        "account; no `secret`: webhook_secret; `name` keeps the target's place in the inbox "
        "as consumer `webhook:<name>` (default: derived from the URL).",
    )
    webhook_retry_period_hours: float = _field(
        "webhook_retry_period_hours",
        72.0,
        "How long one message is retried to a webhook that does not answer 2xx; then it is "
        "given up (logged and counted) and the next message goes.",
    )
    webhook_max_backoff_seconds: float = _field(
        "webhook_max_backoff_seconds",
        600.0,
        "Longest wait between two attempts of one message: the waits start within a second and "
        "double each time (with full jitter) up to this.",
    )
    webhook_timeout_seconds: float = _field(
        "webhook_timeout_seconds",
        15.0,
        "Seconds one webhook request may take; a slower answer counts as a failed attempt.",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("allowed_origins", "allowed_hosts", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list | tuple):
            return [str(item).strip().lower().rstrip("/") for item in value if str(item).strip()]
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            scheme, sep, authority = origin.partition("://")
            if not sep or scheme not in ("http", "https") or not authority or "/" in authority:
                raise ValueError(f"{origin!r} is not an origin like https://example.com:8443")
        return value

    @field_validator(
        "trust_new_identities",
        "signal_cli",
        "signal_cli_url",
        "receive_webhook_url",
        "webhook_secret",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("token_rate_limit")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        RateLimit.parse(value)  # its ValueError names the forms a limit takes
        return value

    @field_validator("webhooks", mode="before")
    @classmethod
    def _webhooks(cls, value: object) -> object:
        return parse_targets(value)

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: str | None) -> str | None:
        if value is not None:
            parse_secret(value)  # its ValueError says what a secret looks like
        return value

    @field_validator("receive_webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        return value if value is None else check_url(value)

    @field_validator(
        "webhook_retry_period_hours",
        "webhook_max_backoff_seconds",
        "webhook_timeout_seconds",
        "events_keepalive",
    )
    @classmethod
    def _positive(cls, value: float) -> float:
        if not value > 0:
            raise ValueError("must be more than 0")
        return value

    @model_validator(mode="after")
    def _webhook_names(self) -> Settings:
        check_unique(webhook_targets(self))
        return self

    @property
    def signal_cli_dir(self) -> Path:
        return self.signal_cli_config_dir or self.data_dir / "signal-cli"


def settings_markdown() -> str:
    """The configuration table of docs/configuration.md, generated from the model."""
    lines = [
        "| setting | environment | default | meaning |",
        "| --- | --- | --- | --- |",
    ]
    for name, field in Settings.model_fields.items():
        env = ", ".join(
            f"`{n}`" for n in (f"SIGNAL_REST_{name.upper()}", *GO_ENV_ALIASES.get(name, ()))
        )
        default = field.default
        if name == "data_dir":
            default = "$XDG_DATA_HOME/signal-rest (~/.local/share/signal-rest)"
        shown = "" if default is None else f"`{default}`"
        lines.append(f"| {name} | {env} | {shown} | {field.description} |")
    return "\n".join(lines) + "\n"


DOC_HEADER = """# Configuration

Every setting is read from its environment variables (the `SIGNAL_REST_` name, and the
signal-cli-rest-api name where one has the same meaning); the flags of `signal-rest serve`
(`--host`, `--port`, `--data-dir`, `--sandbox`, `--signal-cli`, `--signal-cli-url`,
`--log-level`, `--log-format`) override them. This table is generated from `signal_rest/config.py`
(`python -m signal_rest.config > docs/configuration.md`); a test fails when it is out of date.

"""

if __name__ == "__main__":
    print(DOC_HEADER + settings_markdown(), end="")
