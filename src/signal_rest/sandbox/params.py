"""Reading command params the way signal-cli's JsonRpcNamespace and typed records do."""

from __future__ import annotations

import re
from typing import Any

from signal_rest.jsonrpc.jackson import cannot_deserialize, java_string, unrecognized_field

from .errors import INVALID_REQUEST, RpcError, class_cast

_UPPER = re.compile(r"(?<!^)(?=[A-Z])")


# The param names the commands ask for (a fixed set, asked for on every command), kebab-cased.
_KEBAB: dict[str, str] = {}


def kebab(name: str) -> str:
    """`name` kebab-cased, remembered in `_KEBAB` (which `Params._get` reads first)."""
    key = _KEBAB[name] = _UPPER.sub("-", name).lower()
    return key


class Params:
    """Namespace-style params: kebab-case first, then camelCase; unknown keys are ignored."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def _get(self, name: str) -> Any:
        raw = self.raw
        if not raw:
            return None
        value = raw.get(_KEBAB.get(name) or kebab(name))
        return raw.get(name) if value is None else value

    def has(self, name: str) -> bool:
        return self._get(name) is not None

    def text(self, name: str) -> str | None:
        value = self._get(name)
        return None if value is None else java_string(value)

    def flag(self, name: str) -> bool:
        return bool(self.optional_flag(name))

    def optional_flag(self, name: str) -> bool | None:
        """A Boolean that may be absent (None), like argparse's getBoolean."""
        value = self._get(name)
        if value is not None and not isinstance(value, bool):
            raise class_cast(value, "java.lang.Boolean")
        return value

    def long(self, name: str) -> int | None:
        value = self._get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or -(2**31) <= value < 2**31:
            raise class_cast(value, "java.lang.Long")
        return value

    def integer(self, name: str) -> int | None:
        value = self._get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not -(2**31) <= value < 2**31:
            raise class_cast(value, "java.lang.Integer")
        return value

    def items(self, name: str, plural: str | None = None) -> list[str]:
        value = self._get(name)
        if value is None:
            value = self._get(plural or name + "s")
            if value is None:
                return []
            if not isinstance(value, list):
                raise class_cast(value, "java.util.List")
        if not isinstance(value, list):
            value = [value]
        return [java_string(v) for v in value]

    def raw_items(self, name: str, plural: str | None = None) -> list[Any]:
        value = self._get(name)
        if value is None:
            value = self._get(plural or name + "s")
        if value is None:
            return []
        return value if isinstance(value, list) else [value]


def typed(
    raw: dict[str, Any], cls: str, fields: dict[str, str]
) -> dict[str, str | bool | int | float | None]:
    """Jackson mapping of params into a Java record: exact names, unknown keys rejected.

    `fields` maps property name → "String" | "Boolean" | "Integer" | "Double", in the order
    Jackson lists them in its "known properties" text.
    """
    for key in raw:
        if key not in fields:
            raise RpcError(INVALID_REQUEST, unrecognized_field(cls, key, list(fields)))
    out: dict[str, str | bool | int | float | None] = {}
    for key, kind in fields.items():
        value = raw.get(key)
        if value is None:
            out[key] = None
        elif isinstance(value, list | dict):
            raise RpcError(
                INVALID_REQUEST, cannot_deserialize(f"java.lang.{kind}", value, cls, key)
            )
        elif kind == "String":
            out[key] = java_string(value)
        elif kind == "Boolean":
            out[key] = value if isinstance(value, bool) else java_string(value) in ("true", "1")
        elif kind == "Integer":
            out[key] = int(value) if not isinstance(value, str) else int(value or 0)
        else:
            out[key] = float(value) if not isinstance(value, str) else float(value or 0)
    return out
