"""JSON-RPC errors the sandbox answers with, worded exactly like signal-cli 0.13.19.

RpcError
 ├── codes -32700 … -32600: framing and request mapping (see jackson.py for the texts)
 ├── -32601: unknown method
 ├── -32602: account selection only
 ├── -32603: what Java would report as an unexpected exception
 └── -1 / -3 / -4 / -5: the command's own user, IO, identity and rate-limit errors
"""

from __future__ import annotations

from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
USER_ERROR = -1
IO_ERROR = -3
RATE_LIMIT_ERROR = -5

# signal-cli 0.13.19 answers a registration command without `account` with the generic text;
# 0.14 says "Method requires account parameter". We emulate 0.13.19 (see version).
ACCOUNT_REQUIRED = "Method requires valid account parameter"
ACCOUNT_UNKNOWN = "Specified account does not exist"


class RpcError(Exception):
    """A JSON-RPC error object: `{"code", "message", "data"}`; data stays null unless given."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": self.data}


def user_error(message: str, data: Any = None) -> RpcError:
    return RpcError(USER_ERROR, message, data)


def not_registered(identifier: str) -> RpcError:
    return user_error(f"The user {identifier} is not registered.")


_JAVA_TYPES = {bool: "Boolean", int: "Integer", float: "Double", str: "String"}


def java_type(value: Any) -> str:
    if isinstance(value, bool):
        return "java.lang.Boolean"
    if isinstance(value, int):
        return "java.lang.Integer" if -(2**31) <= value < 2**31 else "java.lang.Long"
    if isinstance(value, float):
        return "java.lang.Double"
    if isinstance(value, str):
        return "java.lang.String"
    if isinstance(value, list):
        return "java.util.ArrayList"
    return "java.util.LinkedHashMap"


def class_cast(value: Any, target: str) -> RpcError:
    """The -32603 a Java cast of a wrongly typed JSON value produces inside signal-cli."""
    source = java_type(value)
    return RpcError(
        INTERNAL_ERROR,
        f"class {source} cannot be cast to class {target} ({source} and {target} are in module "
        "java.base of loader 'bootstrap') (ClassCastException)",
    )
