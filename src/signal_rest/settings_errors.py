"""Settings that do not validate, told as one line each: the variable (and flag) to fix and what
it takes, never the value given (it may be a secret).

    settings = read_settings()  # or: stderr "signal-rest: PORT (--port): expected ...", exit 2
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from typing import Any

from pydantic import AliasChoices, ValidationError

from signal_rest.config import Settings

__all__ = ["describe", "read_settings"]

EXIT_BAD_SETTINGS = 2  # as click's usage errors

# What a value of each kind looks like, by pydantic error type.
EXPECTED = {
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "bool_parsing": "true or false (also 1/0, yes/no, on/off)",
    "string_type": "a text",
    "path_type": "a path",
}
# A webhook secret, and what a URL may carry before its host or in its query (a token, say),
# never reach the terminal.
_SECRETS = (
    (re.compile(r"whsec_[A-Za-z0-9+/=]+"), "whsec_…"),
    (re.compile(r"://[^/@\s'\"]*@"), "://…@"),
    (re.compile(r"(://[^\s'\"?]*)\?[^\s'\"]*"), r"\1?…"),
)


def read_settings(flags: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment; on a bad value, one line per problem on stderr and exit
    status 2. `flags` names the command-line flag of a setting (`{"port": "--port"}`)."""
    try:
        return Settings()
    except ValidationError as exc:
        for line in describe(exc, flags or {}):
            print(f"signal-rest: {line}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_SETTINGS) from None


def describe(exc: ValidationError, flags: Mapping[str, str]) -> list[str]:
    """One line per problem: which variable, and what it takes."""
    return [
        f"{_where(error, flags)}: {_scrub(_expected(error))}"
        for error in exc.errors(include_url=False, include_input=False)
    ]


def _where(error: Mapping[str, Any], flags: Mapping[str, str]) -> str:
    if not error["loc"]:
        return "settings"
    loc = str(error["loc"][0])
    name = next(
        (field for field, names in _env_names().items() if loc.upper() in names or loc == field),
        None,
    )
    if name is None:
        return loc
    names = _env_names()[name]
    given = {key.upper() for key in os.environ}
    env = next((n for n in names if n in given), names[0])
    flag = flags.get(name)
    return f"{env} ({flag})" if flag else env


def _env_names() -> dict[str, list[str]]:
    names: dict[str, list[str]] = {}
    for field, info in Settings.model_fields.items():
        alias = info.validation_alias
        choices = alias.choices if isinstance(alias, AliasChoices) else [alias or field]
        names[field] = [str(choice).upper() for choice in choices]
    return names


def _expected(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind in EXPECTED:
        return f"expected {EXPECTED[kind]}"
    if kind == "literal_error":
        return f"expected {error.get('ctx', {}).get('expected', 'another value')}"
    # Our own validators' texts say what is wrong and what is expected.
    return str(error["msg"]).removeprefix("Value error, ")


def _scrub(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text
