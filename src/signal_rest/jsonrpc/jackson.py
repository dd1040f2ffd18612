"""Jackson's parser and mapper messages, for faithful -32700/-32600 texts: what signal-cli says
about a line it cannot read, used by the sandbox and by the `/api/v1/rpc` passthrough.

signal-cli parses every line with Jackson; the messages name Java classes and positions. A small
JSON scanner here reproduces Jackson's wording for malformed input, and the helpers below build
the mapping errors the real daemon sends for misshapen requests and typed params.
"""

from __future__ import annotations

import json
from typing import Any

from signal_rest import jsoncodec

_LOCATION = (
    "[Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); "
    "line: 1, column: {}]"
)
_UNKNOWN_SOURCE = "\n at [Source: UNKNOWN; byte offset: #UNKNOWN]"
_VALUE_EXPECTED = "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
REQUEST_CLASS = "org.asamk.signal.jsonrpc.JsonRpcRequest"


class JacksonParseError(Exception):
    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"{message}\n at {_LOCATION.format(column)}")


def _char(text: str, pos: int) -> str:
    c = text[pos]
    return f"'{c}' (code {ord(c)})"


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, message: str, pos: int | None = None) -> JacksonParseError:
        return JacksonParseError(message, (self.pos if pos is None else pos) + 1)

    def skip_ws(self) -> bool:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
            self.pos += 1
        return self.pos < len(self.text)

    def value(self, context: str | None) -> None:
        if not self.skip_ws():
            raise self.fail(f"Unexpected end-of-input within/between {context} entries")
        c = self.text[self.pos]
        if c == "{":
            self.container("Object", "}")
        elif c == "[":
            self.container("Array", "]")
        elif c == '"':
            self.string("VALUE_STRING")
        elif c == "-" or c.isdigit():
            self.number()
        elif c.isalpha():
            start = self.pos
            while self.pos < len(self.text) and (
                self.text[self.pos].isalnum() or self.text[self.pos] in "_$"
            ):
                self.pos += 1
            token = self.text[start : self.pos]
            if token not in ("true", "false", "null"):
                raise self.fail(f"Unrecognized token '{token}': was expecting {_VALUE_EXPECTED}")
        else:
            raise self.fail(
                f"Unexpected character ({_char(self.text, self.pos)}): "
                f"expected a valid value {_VALUE_EXPECTED}"
            )

    def string(self, kind: str) -> None:
        self.pos += 1
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c == '"':
                self.pos += 1
                return
            if c == "\\":
                self.pos += 1
            elif ord(c) < 32:
                raise self.fail(
                    f"Illegal unquoted character ((CTRL-CHAR, code {ord(c)})): has to be escaped "
                    "using backslash to be included in "
                    + ("name" if kind == "name" else "string value")
                )
            self.pos += 1
        raise self.fail("Unexpected end-of-input: was expecting closing quote for a string value")

    def number(self) -> None:
        start = self.pos
        if self.text[self.pos] == "-":
            self.pos += 1
            if self.pos >= len(self.text) or not self.text[self.pos].isdigit():
                if self.pos >= len(self.text):
                    raise self.fail("Unexpected end-of-input in a Number value")
                raise self.fail(
                    f"Unexpected character ({_char(self.text, self.pos)}) in numeric value: "
                    "expected digit (0-9) to follow minus sign, for valid numeric value"
                )
        while self.pos < len(self.text) and (
            self.text[self.pos].isdigit() or self.text[self.pos] in ".eE+-"
        ):
            self.pos += 1
        try:
            float(self.text[start : self.pos])
        except ValueError:
            raise self.fail("Invalid numeric value", start) from None

    def container(self, kind: str, close: str) -> None:
        start = self.pos
        self.pos += 1
        first = True
        while True:
            if not self.skip_ws():
                raise self.fail(
                    f"Unexpected end-of-input: expected close marker for {kind} "
                    f"(start marker at {_LOCATION.format(start + 1)})"
                )
            if self.text[self.pos] == close and first:
                self.pos += 1
                return
            if not first:
                c = self.text[self.pos]
                if c == close:
                    self.pos += 1
                    return
                if c != ",":
                    raise self.fail(
                        f"Unexpected character ({_char(self.text, self.pos)}): "
                        f"was expecting comma to separate {kind} entries"
                    )
                self.pos += 1
            first = False
            if kind == "Object":
                self.member()
            else:
                self.value("Array")

    def member(self) -> None:
        if not self.skip_ws():
            raise self.fail("Unexpected end-of-input within/between Object entries")
        if self.text[self.pos] != '"':
            raise self.fail(
                f"Unexpected character ({_char(self.text, self.pos)}): was expecting double-quote "
                "to start field name"
            )
        self.string("name")
        if not self.skip_ws():
            raise self.fail("Unexpected end-of-input within/between Object entries")
        if self.text[self.pos] != ":":
            raise self.fail(
                f"Unexpected character ({_char(self.text, self.pos)}): was expecting a colon to "
                "separate field name and value"
            )
        self.pos += 1
        self.value("Object")


def parse_line(line: str) -> Any:
    """The first JSON value of the line (trailing text is ignored, as Jackson does)."""
    stripped = line.lstrip(" \t\r\n")
    try:
        return jsoncodec.loads(stripped)  # the usual line: one value, nothing after it
    except ValueError:
        pass
    try:
        value, _ = json.JSONDecoder().raw_decode(stripped)
        return value
    except json.JSONDecodeError:
        pass
    _Scanner(line).value(None)
    raise JacksonParseError("Unexpected end-of-input", len(line) + 1)


def unrecognized_field(cls: str, name: str, known: list[str]) -> str:
    props = ", ".join(f'"{k}"' for k in known)
    return (
        f'Unrecognized field "{name}" (class {cls}), not marked as ignorable '
        f"({len(known)} known properties: {props}])"
        + _UNKNOWN_SOURCE
        + f' (through reference chain: {cls}["{name}"])'
    )


def node_type(value: Any) -> str:
    if isinstance(value, bool):
        return "BooleanNode"
    if isinstance(value, int):
        return "IntNode" if -(2**31) <= value < 2**31 else "LongNode"
    if isinstance(value, float):
        return "DoubleNode"
    if isinstance(value, str):
        return "TextNode"
    if isinstance(value, list):
        return "ArrayNode"
    return "ObjectNode"


def bad_property(prop: str, expected: str, value: Any) -> str:
    node = f"com.fasterxml.jackson.databind.node.{node_type(value)}"
    target = f"com.fasterxml.jackson.databind.node.{expected}"
    generic = "<java.lang.Object>" if expected == "ContainerNode" else ""
    return (
        f"Problem deserializing property '{prop}' (expected type: [simple type, class "
        f"{target}{generic}]; actual type: `{node}`), problem: Can not set {target} field "
        f"{REQUEST_CLASS}.{prop} to {node}"
        + _UNKNOWN_SOURCE
        + f' (through reference chain: {REQUEST_CLASS}["{prop}"])'
    )


_REQUEST_KEYS = ("jsonrpc", "method", "id", "params")


def request_error(entry: Any) -> tuple[Any, str] | None:
    """Why `entry` does not map onto signal-cli's JsonRpcRequest, as Jackson and signal-cli say
    it: (the id to answer with, None when the answer has none; the message of the -32600
    error), or None for a well-formed request."""
    if not isinstance(entry, dict):
        return None, not_a_request(entry)
    rid = entry.get("id")
    if isinstance(rid, list | dict):
        return None, bad_property("id", "ValueNode", rid)
    params = entry.get("params")
    if params is not None and not isinstance(params, list | dict):
        return rid, bad_property("params", "ContainerNode", params)
    for key in entry:
        if key not in _REQUEST_KEYS:
            return rid, unrecognized_field(
                REQUEST_CLASS, key, ["method", "id", "jsonrpc", "params"]
            )
    version = entry.get("jsonrpc")
    if version is None or java_string(version) != "2.0":
        return rid, "only jsonrpc version 2.0 is supported"
    if entry.get("method") is None:
        return rid, "method field must be set"
    return None


def not_a_request(value: Any) -> str:
    if isinstance(value, list):
        return (
            f"Cannot deserialize value of type `{REQUEST_CLASS}` from Array value "
            "(token `JsonToken.START_ARRAY`)" + _UNKNOWN_SOURCE
        )
    if isinstance(value, bool):
        kind, shown = "boolean/Boolean", f"boolean value ({str(value).lower()})"
    elif isinstance(value, int):
        kind, shown = (
            "int/Int" if -(2**31) <= value < 2**31 else "long/Long",
            f"Number value ({value})",
        )
    elif isinstance(value, float):
        kind, shown = "double/Double", f"Number value ({value})"
    else:
        kind, shown = "String", f"String value ('{value}')"
    return (
        f"Cannot construct instance of `{REQUEST_CLASS}` (although at least one Creator exists): "
        f"no {kind}-argument constructor/factory method to deserialize from {shown}"
        + _UNKNOWN_SOURCE
    )


PARAMS_ARRAY = (
    "Cannot deserialize value of type `java.util.LinkedHashMap<java.lang.String,java.lang.Object>` "
    "from Array value (token `JsonToken.START_ARRAY`)" + _UNKNOWN_SOURCE
)


def json_type_name(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int | float):
        return "NUMBER"
    if isinstance(value, str):
        return "STRING"
    return "OBJECT"


def cannot_deserialize(java: str, value: Any, cls: str, prop: str) -> str:
    token = "START_ARRAY" if isinstance(value, list) else "START_OBJECT"
    kind = "Array" if isinstance(value, list) else "Object"
    return (
        f"Cannot deserialize value of type `{java}` from {kind} value (token `JsonToken.{token}`)"
        + _UNKNOWN_SOURCE
        + f' (through reference chain: {cls}["{prop}"])'
    )


def java_string(value: Any) -> str:
    """What Java's toString() gives for a JSON value read into an Object."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value).replace("inf", "Infinity")
    if isinstance(value, list):
        return "[" + ", ".join(java_string(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={java_string(v)}" for k, v in value.items()) + "}"
    return str(value)
