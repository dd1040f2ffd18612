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

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
}


def _field(name: str, default: object, description: str) -> Any:
    return Field(
        default=default,
        description=description,
        validation_alias=_env(name, *GO_ENV_ALIASES.get(name, ())),
    )


class Settings(BaseSettings):
    """Everything signal-rest can be told. `Settings()` reads the environment."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

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
    default_signal_text_mode: Literal["normal", "styled"] = _field(
        "default_signal_text_mode",
        "normal",
        "text_mode of /v2/send when a request gives none.",
    )
    trust_new_identities: Literal["on-first-use", "always", "never"] | None = _field(
        "trust_new_identities",
        None,
        "signal-cli's --trust-new-identities for the supervised daemon.",
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
    delivered_retention_hours: float = _field(
        "delivered_retention_hours",
        168.0,
        "How long a message stays in the inbox after a client took it (pending messages are "
        "kept until taken, however long that is).",
    )
    max_attachment_bytes: int = _field(
        "max_attachment_bytes", ATTACHMENT_LIMIT, "Largest decoded attachment accepted."
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

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("trust_new_identities", "signal_cli", "signal_cli_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

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
`--log-level`) override them. This table is generated from `signal_rest/config.py`
(`python -m signal_rest.config > docs/configuration.md`); a test fails when it is out of date.

"""

if __name__ == "__main__":
    print(DOC_HEADER + settings_markdown(), end="")
