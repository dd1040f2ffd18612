"""Reading request bodies the way signal-cli-rest-api's clients send them.

Bodies are JSON whatever the Content-Type says (signalbot and fetch() send `text/plain`), keys
match case-insensitively, unknown keys are ignored, an explicit `null` counts as absent, and a
wrong type is a 400 — like Go's encoding/json, which the Go project uses. The size limit is
enforced while reading: a body over it is refused with 413 before it is buffered whole. Only
routes whose bodies carry base64 attachments or avatars (`files=True`) get the large limit
(`max_body_bytes`); every other one gets `max_small_body_bytes`. Before parsing, the body's
shape is checked (`signal_rest.api.nesting`): too deep or too many values is a 400.

A refused body says what is wrong where, each text led by the Go project's "Couldn't process
request - " like its other validation texts:

    Couldn't process request - invalid JSON at line 3, column 14: Expecting ',' delimiter
    Couldn't process request - the body is empty: this route needs a JSON object
    Couldn't process request - the body must be a JSON object, got a list
    Couldn't process request - recipients must be a list of strings, got a string
    Couldn't process request - mentions[0].start must be an integer, got "3"
"""

from __future__ import annotations

import functools
import json
import re
import types
from typing import Annotated, Any, Literal, TypeVar, Union, cast, get_args, get_origin

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic import ValidationError as PydanticValidationError

from signal_rest import jsoncodec
from signal_rest.api.nesting import shape_error
from signal_rest.config import Settings
from signal_rest.errors import PayloadTooLarge, ValidationError

__all__ = [
    "EMPTY_BODY",
    "PREFIX",
    "RequestModel",
    "body_doc",
    "check_shape",
    "empty_list",
    "field_error",
    "json_error",
    "json_object",
    "load_json",
    "parse_json_body",
    "read_body",
    "type_error",
]

M = TypeVar("M", bound="RequestModel")

# The Go project's texts all start so; ours keep the start and say what is wrong.
PREFIX = "Couldn't process request - "
EMPTY_BODY = f"{PREFIX}the body is empty: this route needs a JSON object"


class RequestModel(BaseModel):
    """Base of request bodies, nested ones included: strict types (no "5" for 5), keys matched
    case-insensitively, unknown keys ignored, null taken as absent."""

    # Each model's validator is built on its first use: routes that are never called (most,
    # in a given deployment) cost no memory for theirs.
    model_config = ConfigDict(strict=True, extra="ignore", populate_by_name=True, defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _decode_like_go(cls, data: Any) -> Any:
        return _fold_keys(cls, data) if isinstance(data, dict) else data


def empty_list() -> Any:
    """A request model's default for a list field: a new [] for each body that leaves the
    field out (pydantic deep-copies a `= []` default on every validation), documented as
    default [] all the same."""
    return Field(default_factory=list, json_schema_extra={"default": []})


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Request body is larger than the limit of {limit} bytes")


async def read_body(request: Request, *, files: bool = False) -> bytes:
    """The raw JSON body, refused with 413 as soon as it is known to exceed the limit (the large
    one only when the route's body carries base64 `files`), and with 400 when it nests too deep
    or holds too many values to be parsed cheaply."""
    settings: Settings = request.app.state.settings
    limit = settings.max_body_bytes if files else settings.max_small_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > limit:
            raise _too_large(limit)
    raw = bytes(chunks)
    check_shape(raw, settings)
    return raw


def check_shape(raw: bytes, settings: Settings) -> None:
    """400 when `raw` nests too deep or holds too many values to be parsed cheaply."""
    refused = shape_error(raw, settings.max_json_depth)
    if refused is not None:
        raise ValidationError(f"{PREFIX}JSON {refused}")


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _replace_lone_surrogates(value: Any) -> Any:
    # JSON may escape half a surrogate pair ("\ud800"); Go decodes that as U+FFFD, and so do
    # we, since such a string cannot be encoded as UTF-8 for the daemon.
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_replace_lone_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_replace_lone_surrogates(k): _replace_lone_surrogates(v) for k, v in value.items()}
    return value


def load_json(raw: bytes) -> Any:
    """Parse a request body as Go's encoding/json would (ValueError when it is not JSON), except
    that raw control characters inside strings are accepted: `"$(base64 image.png)"` pastes
    the line breaks of Linux `base64` (76 columns) into the JSON string, and Go refuses that.

    `read_body` has refused bodies that nest deeper than the limit; one that gets here some
    other way and is too deep for the parser is "not JSON" too, never a RecursionError."""
    try:
        value = jsoncodec.loads(raw, strict=False)
    except RecursionError as exc:
        raise ValueError("JSON nested too deeply") from exc
    # A lone surrogate can only come from a \uD800-\uDFFF escape: no need to look otherwise.
    return _replace_lone_surrogates(value) if _SURROGATE_ESCAPE.search(raw) else value


@functools.cache  # per model class: its fields do not change
def _names(model: type[BaseModel]) -> dict[str, str]:
    """The model's field names and aliases, lower-cased, to the field name."""
    names: dict[str, str] = {}
    for name, field in model.model_fields.items():
        names[name.lower()] = name
        if field.alias:
            names[field.alias.lower()] = name
    return names


def _fold_keys(model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    names = _names(model)
    folded: dict[str, Any] = {}
    for key, value in data.items():
        target = names.get(key.lower()) if isinstance(key, str) else None
        if target is not None and value is not None:
            folded[target] = value
    return folded


def json_error(exc: ValueError, *, known_until: int | None = None) -> ValidationError:
    """The 400 for a body `load_json` refused: where it stops being JSON, and why. Past byte
    `known_until` the body is not as the client sent it (a streamed file string was taken
    out), so no position is given there."""
    if isinstance(exc, json.JSONDecodeError):
        at = len(exc.doc[: exc.pos].encode("utf-8", "surrogatepass"))
        if known_until is not None and at >= known_until:
            return ValidationError(f"{PREFIX}invalid JSON after a streamed attachment: {exc.msg}")
        where = f"line {exc.lineno}, column {exc.colno}"
        return ValidationError(f"{PREFIX}invalid JSON at {where}: {exc.msg}")
    if isinstance(exc, UnicodeDecodeError):
        return ValidationError(
            f"{PREFIX}invalid JSON: the body is not UTF-8 text (byte {exc.start + 1} "
            f"is 0x{exc.object[exc.start]:02x})"
        )
    return ValidationError(f"{PREFIX}invalid JSON: {exc}")


def json_object(
    raw: bytes, *, optional: bool = False, known_until: int | None = None
) -> dict[str, Any] | None:
    """`raw` parsed as a JSON object; None for an empty body when `optional`, else a 400 that
    says what is wrong: empty, not JSON (where), or JSON but no object."""
    if not raw.strip():
        if optional:
            return None
        raise ValidationError(EMPTY_BODY)
    try:
        data = load_json(raw)
    except ValueError as exc:
        raise json_error(exc, known_until=known_until) from exc
    if not isinstance(data, dict):
        raise ValidationError(f"{PREFIX}the body must be a JSON object, got {_got(data)}")
    return data


def parse_json_body(
    model: type[M], raw: bytes, *, optional: bool = False, known_until: int | None = None
) -> M:
    """Validate `raw` as `model`; an empty body is `model()` when `optional`, else a 400. A
    value of the wrong type is a 400 naming the field and the type it needs. `known_until`:
    see `json_error`."""
    data = json_object(raw, optional=optional, known_until=known_until)
    if data is None:
        return model()
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        raise ValidationError(PREFIX + field_error(model, exc)) from exc


# -- what a field needs, in words --------------------------------------------------------------


def field_error(model: type[BaseModel], exc: PydanticValidationError) -> str:
    """The first of `exc`'s errors as "<field> must be <type>, got <value>"."""
    error = exc.errors(include_url=False)[0]
    where, annotation, bounds = _locate(model, error["loc"])
    where = where or "the body"
    if error["type"] == "value_error":
        return f"{where}: {str(error['msg']).removeprefix('Value error, ')}"
    return type_error(where, _expected(annotation, bounds), error["input"])


def type_error(field: str, expected: str, value: Any) -> str:
    """ "<field> must be <expected>, got <what the client sent>"."""
    return f"{field} must be {expected}, got {_got(value)}"


def _unwrap(annotation: Any, bounds: list[Any]) -> Any:
    """`annotation` without Annotated (its constraints go to `bounds`) and without `| None`
    (null is taken as absent)."""
    while True:
        if get_origin(annotation) is Annotated:
            annotation, *extras = get_args(annotation)
            for extra in extras:
                bounds.extend(getattr(extra, "metadata", [extra]))
            continue
        if get_origin(annotation) in (Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) == 1:
                annotation = members[0]
                continue
        return annotation


def _locate(model: type[BaseModel], loc: tuple[int | str, ...]) -> tuple[str, Any, list[Any]]:
    """The field `loc` points at as the client names it (`mentions[0].start`), its type and
    its constraints. Stops at a union's member, which is no part of the client's path."""
    where, annotation = "", cast(Any, model)
    bounds: list[Any] = []
    for item in loc:
        annotation = _unwrap(annotation, bounds)
        origin, args = get_origin(annotation), get_args(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(str(item))
            if field is None:
                break
            where += ("." if where else "") + (field.alias or str(item))
            annotation, bounds = field.annotation, list(field.metadata)
        elif origin is list and isinstance(item, int) and args:
            where, annotation, bounds = f"{where}[{item}]", args[0], []
        elif origin is dict and len(args) == 2:
            where, annotation, bounds = f"{where}.{item}", args[1], []
        else:
            break
    return where, _unwrap(annotation, bounds), bounds


_KINDS: dict[Any, tuple[str, str]] = {
    str: ("a string", "strings"),
    bool: ("true or false", "booleans"),
    int: ("an integer", "integers"),
    float: ("a number", "numbers"),
    dict: ("an object", "objects"),
}


def _expected(annotation: Any, bounds: list[Any]) -> str:
    origin, args = get_origin(annotation), get_args(annotation)
    if annotation is int and bounds:
        low = next((b.ge for b in bounds if hasattr(b, "ge")), None)
        high = next((b.le for b in bounds if hasattr(b, "le")), None)
        if (low, high) == (-(2**63), 2**63 - 1):
            return "a 64-bit integer"
        if (low, high) == (-(2**31), 2**31 - 1):
            return "a 32-bit integer"
        if low is not None and high is not None:
            return f"an integer from {low} to {high}"
    if annotation in _KINDS:
        return _KINDS[annotation][0]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "an object"
    if origin is list:
        item = _unwrap(args[0], []) if args else Any
        return f"a list of {_plural(item)}"
    if origin is dict:
        return "an object"
    if origin is Literal:
        return "one of " + ", ".join(jsoncodec.dumps_text(a) for a in args)
    if origin in (Union, types.UnionType):
        return " or ".join(_expected(_unwrap(a, []), []) for a in args if a is not type(None))
    return "a value"


def _plural(annotation: Any) -> str:
    if annotation in _KINDS:
        return _KINDS[annotation][1]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "objects"
    if get_origin(annotation) is list:
        return "lists"
    return "values"


def _got(value: Any) -> str:
    """What the client sent, for the error text: a short string or a number as it is."""
    if isinstance(value, str):
        if len(value) <= 40:
            return f"the string {jsoncodec.dumps_text(value)}"
        return "a string"
    if value is None or isinstance(value, bool | int | float):
        return jsoncodec.dumps_text(value)
    return "a list" if isinstance(value, list) else "an object"


def _inline_refs(schema: Any, defs: dict[str, Any]) -> Any:
    # Nested models come as "#/$defs/X" refs, which mean nothing inside an OpenAPI document.
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline_refs(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inline_refs(item, defs) for item in schema]
    return schema


# The requestBody of each route's openapi_extra whose schema is not made yet, with its model.
_UNDESCRIBED: list[tuple[dict[str, Any], type[BaseModel]]] = []


def body_doc(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """`openapi_extra` documenting a body that the route reads itself. Its schema is filled in
    when the OpenAPI document is first asked for (`describe_bodies`): made at startup, it built
    every body model's validator and JSON Schema there, held for nothing until used."""
    body: dict[str, Any] = {"required": required, "content": {}}
    _UNDESCRIBED.append((body, model))
    return {"requestBody": body}


def describe_bodies() -> None:
    """Fill in the schema of every body documented by `body_doc` (in place: the routes keep it
    for every later document)."""
    while _UNDESCRIBED:
        body, model = _UNDESCRIBED.pop()
        schema = model.model_json_schema()
        inlined = _inline_refs(schema, schema.get("$defs", {}))
        body["content"] = {"application/json": {"schema": inlined}}
