"""Signal usernames (`nick.42`) as libsignal checks them and the server hands them out.

A username is a nickname, a dot and a discriminator of at least two digits. Uniqueness and
lookups ignore case (Signal hashes the lowercase form); the case the owner chose is kept for
display. A username link is `https://signal.me/#eu/` plus the URL-safe base64 of 32 random
bytes and a 16-byte server id, as signal-cli prints it.
"""

from __future__ import annotations

import base64
import re
import secrets
import uuid

from .errors import INTERNAL_ERROR, RpcError, user_error

LINK_BASE = "https://signal.me/#eu/"
LINK = re.compile(r"(https://)?signal.me/?#eu/([a-zA-Z0-9+\-_/]+)")
NICKNAME_MIN, NICKNAME_MAX = 3, 32
_NICKNAME_CHARS = re.compile(r"[a-zA-Z0-9_]*")
_U64_MAX = 2**64 - 1
# How many candidates of each discriminator width libsignal's candidatesFrom offers, in order.
_CANDIDATE_WIDTHS = (2, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9)


class UsernameError(ValueError):
    """libsignal's BaseUsernameException: `kind` is the Java class's simple name."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def _check_nickname(nickname: str) -> None:
    if not nickname:
        raise UsernameError("CannotBeEmptyException", "Name cannot be empty")
    if nickname[0].isascii() and nickname[0].isdigit():
        raise UsernameError("CannotStartWithDigitException", "Name cannot start with a digit")
    if not _NICKNAME_CHARS.fullmatch(nickname):
        raise UsernameError(
            "BadNicknameCharacterException", "Nickname contains disallowed character"
        )


def parse(username: str) -> str:
    """`new Username(text)`: the username as given, or UsernameError."""
    nickname, dot, discriminator = username.rpartition(".")
    if not dot:
        raise UsernameError("MissingSeparatorException", "Username must contain a '.'")
    _check_nickname(nickname)
    if not discriminator:
        raise UsernameError("DiscriminatorCannotBeEmptyException", "Discriminator cannot be empty")
    if not (discriminator.isascii() and discriminator.isdigit()):
        raise UsernameError(
            "BadDiscriminatorCharacterException", "Discriminator must only be made up of digits"
        )
    if int(discriminator) == 0:
        raise UsernameError("DiscriminatorCannotBeZeroException", "Discriminator cannot be zero")
    if len(discriminator) == 1:
        raise UsernameError(
            "DiscriminatorCannotBeSingleDigitException", "Discriminator cannot be a single digit"
        )
    if discriminator.startswith("0") and len(discriminator) > 2:
        raise UsernameError(
            "DiscriminatorCannotHaveLeadingZerosException",
            "Discriminator cannot have leading zeros unless it would otherwise be a single digit",
        )
    if int(discriminator) > _U64_MAX:
        raise UsernameError(
            "DiscriminatorTooLargeException", "Value is too large to be a username discriminator"
        )
    return username


def candidates(nickname: str) -> list[str]:
    """`Username.candidatesFrom(nickname, 3, 32)`: 20 usernames with growing discriminators."""
    _check_nickname(nickname)
    if len(nickname) < NICKNAME_MIN:
        raise UsernameError("NicknameTooShortException", "Nickname is too short")
    if len(nickname) > NICKNAME_MAX:
        raise UsernameError("NicknameTooLongException", "Nickname is too long")
    out: list[str] = []
    for width in _CANDIDATE_WIDTHS:
        low = 1 if width == 2 else 10 ** (width - 1)
        while (name := f"{nickname}.{secrets.randbelow(10**width - low) + low:02d}") in out:
            pass
        out.append(name)
    return out


def invalid(exc: UsernameError) -> RpcError:
    """What updateAccount answers for a username libsignal refuses."""
    return user_error(f"Invalid username: {exc.message} ({exc.kind})")


def lookup_failure(exc: UsernameError) -> RpcError:
    """A lookup of a malformed username: signal-cli wraps libsignal's exception unhandled."""
    name = f"org.signal.libsignal.usernames.{exc.kind}: {exc.message}"
    return RpcError(INTERNAL_ERROR, f"{name} (RuntimeException)")


def new_link() -> str:
    raw = secrets.token_bytes(32) + uuid.uuid4().bytes
    return LINK_BASE + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def link_key(text: str) -> str | None:
    """The base64 part of a username link, or None when `text` is no link."""
    match = LINK.fullmatch(text)
    return None if match is None else match.group(2)
