"""Reading request bodies the way signal-cli-rest-api's clients send them.

Bodies are JSON whatever the Content-Type says (signalbot and fetch() send `text/plain`), keys
match case-insensitively, unknown keys are ignored, an explicit `null` counts as absent, and a
wrong type is a 400 — like Go's encoding/json, which the Go project uses. The size limit is
enforced while reading: a body over it is refused with 413 before it is buffered whole. Only
routes whose bodies carry base64 attachments or avatars (`files=True`) get the large limit
(`max_body_bytes`); every other one gets `max_small_body_bytes`. Before parsing, the body's
shape is checked (`signal_rest.api.nesting`): too deep or too many values is a 400.
"""

from __future__ import annotations

import functools
import re
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ConfigDict, model_validator
from pydantic import ValidationError as PydanticValidationError

from signal_rest import jsoncodec
from signal_rest.api.nesting import shape_error
from signal_rest.config import Settings
from signal_rest.errors import PayloadTooLarge, ValidationError

__all__ = [
    "INVALID_REQUEST",
    "RequestModel",
    "body_doc",
    "load_json",
    "parse_json_body",
    "read_body",
]

M = TypeVar("M", bound="RequestModel")

INVALID_REQUEST = "Couldn't process request - invalid request"


class RequestModel(BaseModel):
    """Base of request bodies, nested ones included: strict types (no "5" for 5), keys matched
    case-insensitively, unknown keys ignored, null taken as absent."""

    model_config = ConfigDict(strict=True, extra="ignore", populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _decode_like_go(cls, data: Any) -> Any:
        return _fold_keys(cls, data) if isinstance(data, dict) else data


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
    refused = shape_error(raw, settings.max_json_depth)
    if refused is not None:
        raise ValidationError(f"Couldn't process request - JSON {refused}")
    return raw


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


def parse_json_body(
    model: type[M], raw: bytes, *, optional: bool = False, invalid: str = INVALID_REQUEST
) -> M:
    """Validate `raw` as `model`; an empty body is `model()` when `optional`, else a 400."""
    if not raw.strip():
        if optional:
            return model()
        raise ValidationError(invalid)
    try:
        data = load_json(raw)
    except ValueError as exc:
        raise ValidationError(invalid) from exc
    if not isinstance(data, dict):
        raise ValidationError(invalid)
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        raise ValidationError(invalid) from exc


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


def body_doc(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """`openapi_extra` documenting a body that the route reads itself."""
    schema = model.model_json_schema()
    return {
        "requestBody": {
            "required": required,
            "content": {
                "application/json": {"schema": _inline_refs(schema, schema.get("$defs", {}))}
            },
        }
    }
