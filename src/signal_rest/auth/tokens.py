"""API tokens: how they look, how they are stored (hashed) and looked up.

    secret, token = new_token("home-assistant", scopes=("send",), accounts=("+4915100000001",))
    TokenFile(path).update(lambda tokens: ...)   # locked, atomic, mode 0600
    store = TokenStore(path)         # in the service: re-read only when the file changes
    store.current().verify(secret)   # the Token, or None

A token is `srt_<id>_<secret>`: the id finds the record, SHA-256 of the whole token is compared
in constant time. The file holds ids, names, scopes, accounts, limits and hashes, never a token.
Tokens are on as long as the file exists, even with no token left in it (then nothing but the
open routes answers), so revoking the last token can't silently open the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import hmac
import json
import logging
import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from signal_rest.auth.limits import RateLimit

__all__ = [
    "SCOPES",
    "TOKEN_FILE",
    "Token",
    "TokenFile",
    "TokenFileError",
    "TokenSet",
    "TokenStore",
    "new_token",
]

log = logging.getLogger(__name__)

TOKEN_FILE = "tokens.json"
PREFIX = "srt"
# The route groups a token can be given (routes themselves may also be "open").
SCOPES = ("send", "receive", "groups", "admin")


class TokenFileError(Exception):
    """The token file exists but can't be read or parsed."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(frozen=True)
class Token:
    """One token's record. `accounts` None means every account; `rate_limit` None means the
    service's default (`token_rate_limit`), `"unlimited"` none at all."""

    id: str
    name: str
    sha256: str
    scopes: tuple[str, ...]
    accounts: tuple[str, ...] | None = None
    rate_limit: str | None = None
    created: str = ""

    def may_act_for(self, number: str) -> bool:
        return self.accounts is None or number in self.accounts

    def limit(self, default: RateLimit | None) -> RateLimit | None:
        if self.rate_limit is None:
            return default
        return RateLimit.parse(self.rate_limit)

    def to_json(self) -> dict[str, Any]:
        record = asdict(self)
        record["scopes"] = list(self.scopes)
        record["accounts"] = None if self.accounts is None else list(self.accounts)
        return record

    @classmethod
    def from_json(cls, record: Any) -> Token:
        if not isinstance(record, dict):
            raise TokenFileError("a token record is not an object")
        try:
            accounts = record.get("accounts")
            token = cls(
                id=str(record["id"]),
                name=str(record["name"]),
                sha256=str(record["sha256"]),
                scopes=tuple(str(s) for s in record["scopes"]),
                accounts=None if accounts is None else tuple(str(a) for a in accounts),
                rate_limit=None if record.get("rate_limit") is None else str(record["rate_limit"]),
                created=str(record.get("created", "")),
            )
            token.limit(None)
        except (KeyError, TypeError, ValueError) as exc:
            raise TokenFileError(f"a token record is malformed: {exc}") from exc
        unknown = set(token.scopes) - set(SCOPES)
        if unknown:
            raise TokenFileError(f"token {token.id} has unknown scopes {sorted(unknown)}")
        return token


def new_token(
    name: str,
    *,
    scopes: tuple[str, ...],
    accounts: tuple[str, ...] | None = None,
    rate_limit: str | None = None,
) -> tuple[str, Token]:
    """A fresh secret (shown once) and the record to store for it."""
    token_id = secrets.token_hex(6)
    secret = f"{PREFIX}_{token_id}_{secrets.token_urlsafe(32)}"
    created = datetime.now(UTC).isoformat(timespec="seconds")
    record = Token(token_id, name, _digest(secret), scopes, accounts, rate_limit, created)
    return secret, record


@dataclass(frozen=True)
class TokenSet:
    """The tokens of one version of the file (possibly none: then every token is refused)."""

    tokens: tuple[Token, ...] = ()
    by_id: dict[str, Token] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {t.id: t for t in self.tokens})

    def verify(self, secret: str) -> Token | None:
        prefix, _, rest = secret.partition("_")
        token_id, _, _ = rest.partition("_")
        token = self.by_id.get(token_id) if prefix == PREFIX else None
        if token is None:
            return None
        return token if hmac.compare_digest(_digest(secret), token.sha256) else None

    @classmethod
    def parse(cls, text: str) -> TokenSet:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise TokenFileError(f"not JSON: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("tokens"), list):
            raise TokenFileError('expected {"tokens": [...]}')
        return cls(tuple(Token.from_json(record) for record in data["tokens"]))

    def dump(self) -> str:
        return json.dumps({"tokens": [t.to_json() for t in self.tokens]}, indent=2) + "\n"


class TokenFile:
    """The file as the CLI edits it: locked, rewritten whole and atomically, mode 0600."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> TokenSet | None:
        """The tokens, or None when the file does not exist (tokens are off)."""
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise TokenFileError(f"can't read {self.path}: {exc}") from exc
        return TokenSet.parse(text)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def update(self, change: Callable[[TokenSet], TokenSet]) -> TokenSet:
        """Apply `change` to the current tokens (none if there is no file) and write the result."""
        with self._locked():
            updated = change(self.read() or TokenSet())
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tokens-", suffix=".tmp")
            try:
                with os.fdopen(fd, "w") as out:  # mkstemp files are 0600
                    out.write(updated.dump())
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            return updated

    def remove(self) -> bool:
        """Delete the file (tokens off); False if there was none."""
        with self._locked():
            try:
                self.path.unlink()
            except FileNotFoundError:
                return False
            return True


class TokenStore:
    """The service's view of the file: one `stat` per turn of the event loop, a read only when
    it changed (the CLI replaces the file, so every edit gives it a new inode)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._key: tuple[int, int, int] | None = None
        self._tokens: TokenSet | None = None
        self._error: TokenFileError | None = None
        self._kept_in: asyncio.AbstractEventLoop | None = None  # see `current`

    def current(self) -> TokenSet | None:
        """The tokens now in force, None when tokens are off; raises TokenFileError while the
        file is unreadable (the service then refuses rather than opening up).

        In the event loop, what the turn's first call found holds until the loop's next turn.
        A request whose bytes arrive after the file changed is still checked against the new
        file: its handler is a task queued behind the end of that turn. A busy service so
        stats the file once per turn, not once per request: each `stat` lets the inbox's
        writer thread take the GIL, which cost about 25 µs of CPU per request under load."""
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None  # another thread, or no loop: look every time
        if loop is None or loop is not self._kept_in:
            self._look()
            if loop is not None:
                self._kept_in = loop
                loop.call_soon(self._forget)
        if self._error is not None:
            raise self._error
        return self._tokens

    def _forget(self) -> None:
        self._kept_in = None

    def _look(self) -> None:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            if self._key is not None:
                log.warning("API tokens are now off: %s was removed", self.path)
            self._key, self._tokens, self._error = None, None, None
            return
        except OSError as exc:
            raise TokenFileError(f"can't read {self.path}: {exc}") from exc
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if key != self._key:
            self._key = key
            try:
                self._tokens, self._error = TokenFile(self.path).read() or TokenSet(), None
                log.info("API tokens are on: %d in %s", len(self._tokens.tokens), self.path)
            except TokenFileError as exc:
                log.error("API tokens are on, but every guarded request is refused: %s", exc)
                self._tokens, self._error = None, exc
