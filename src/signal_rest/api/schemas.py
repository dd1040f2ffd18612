"""What the OpenAPI document says routes answer: the error body, and `responses=` builders.

    @router.get(
        "/v1/groups/{number}/{groupid}",
        response_model=None,
        responses=ok(GroupEntry | ExpandedGroupEntry) | errors(404, *DAEMON),
    )

Routes keep returning what they return today; the shapes only describe it. They go into
`responses=`, never into `response_model`, which would filter and coerce the body on the wire;
`response_model=None` keeps FastAPI from deriving one from a `-> dict[str, Any]` annotation.
Nor are they FastAPI's `model`s there: FastAPI would build a validator and serializer for
every response of every route when the service starts (some 600; about 7 MiB that nothing uses
but the document). They wait under `SHAPE` until the document is asked for, then their JSON
Schemas go in as FastAPI would have written them (`tidy_responses`).
Shapes of our own bodies forbid unknown keys, so a key added to a body without its shape fails
the fuzz test, which checks every answer against this document (tests/test_fuzz.py).

The refusals a request can meet before its route (a browser Origin or Host, API tokens) are
added to every route by the route table, from `refusals(scope)`.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from pydantic import ConfigDict, TypeAdapter, with_config
from typing_extensions import TypedDict

from signal_rest.api.body import describe_bodies
from signal_rest.auth.scopes import OPEN

__all__ = [
    "BODY",
    "DAEMON",
    "ERRORS",
    "ErrorBody",
    "Responses",
    "binary",
    "empty",
    "error",
    "errors",
    "ok",
    "refusals",
    "text",
    "tidy_responses",
]

Responses = dict[int | str, dict[str, Any]]

# Where a response names its JSON body's shape (`_SHAPES`) until the document is made.
SHAPE = "x-signal-rest-shape"
# The shapes named so far, by the name a response has for it.
_SHAPES: dict[str, Any] = {}
# What a JSON Schema names another by in the document.
REF_TEMPLATE = "#/components/schemas/{model}"


@with_config(ConfigDict(extra="forbid"))
class ErrorBody(TypedDict):
    """Every error: `{"error": "<text>"}` (signal-cli's own text where it refused)."""

    error: str


# What each error status means here; every one of them has an ErrorBody.
ERRORS: dict[int, str] = {
    400: "The request is invalid (body, path or query), or signal-cli refused it",
    401: "API tokens are on and the request carries no valid one",
    403: "Not allowed: a browser Origin or a Host that is not allowed, or an API token "
    "without the route's scope or the account",
    404: "Not found: the group, account or code named does not exist, or the path matches no route",
    408: "The request body did not arrive in time",
    413: "The request body is larger than the limit",
    429: "Too many requests: an API token over its rate limit (see Retry-After)",
    500: "signal-cli failed where the Go project answers 500",
    501: "signal-cli is too old for the route (polls and pins need 0.14 or newer)",
    503: "signal-cli is not reachable (or the API token file is unusable)",
    504: "signal-cli did not answer in time",
}

# Routes that read a JSON body, and routes that call signal-cli (whose errors are 400s).
BODY = (400, 408, 413)
DAEMON = (400, 503, 504)


def ok(shape: Any, *, status: int = 200, description: str = "Success") -> Responses:
    """A success answered with a JSON body of `shape`."""
    return {status: {"description": description, SHAPE: _name(shape)}}


def empty(status: int, description: str) -> Responses:
    """A success with an empty body (the route's `response_class` must be `Response`)."""
    return {status: {"description": description}}


def binary(media_type: str, description: str, *, status: int = 200) -> Responses:
    """A success whose body is a file of `media_type`."""
    schema = {"type": "string", "format": "binary"}
    return {status: {"description": description, "content": {media_type: {"schema": schema}}}}


def text(media_type: str, description: str, *, status: int = 200) -> Responses:
    """A success whose body is text of `media_type` (e.g. `text/plain`), not JSON."""
    content = {media_type: {"schema": {"type": "string"}}}
    return {status: {"description": description, "content": content}}


def error(status: int, shape: Any) -> Responses:
    """An error status whose body has more than `error` (the send routes' rate limit)."""
    return {status: {"description": ERRORS[status], SHAPE: _name(shape)}}


def errors(*statuses: int) -> Responses:
    """The error statuses a route gives, each with an `{"error"}` body."""
    return {status: {"description": ERRORS[status], SHAPE: _name(ErrorBody)} for status in statuses}


def refusals(scope: str) -> Responses:
    """What the edge gives any route of `scope` before it runs: a browser Origin or Host that
    is not allowed (403) and, for a route that needs an API token, the token guard's 401, 403,
    429 and 503."""
    return errors(403) if scope == OPEN else errors(401, 403, 429, 503)


def tidy_responses(app: FastAPI) -> None:
    """Describe the JSON bodies of the requests (`body_doc`) and responses (`SHAPE`), list each
    operation's responses by status, and take FastAPI's 422 out of `app`'s document: a request
    that fails validation is a 400 `{"error"}` here (`signal_rest.app`), so no route ever
    answers 422."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            describe_bodies()
            document = generate()
            _describe_shapes(document)
            for operations in document.get("paths", {}).values():
                for operation in operations.values():
                    responses = operation.get("responses", {})
                    responses.pop("422", None)
                    operation["responses"] = dict(sorted(responses.items()))
            shapes = document.get("components", {}).get("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                shapes.pop(name, None)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def _name(shape: Any) -> str:
    """The name responses have for `shape` (unions have no name of their own)."""
    for name, known in _SHAPES.items():
        if known == shape:
            return name
    name = str(len(_SHAPES))
    _SHAPES[name] = shape
    return name


def _describe_shapes(document: dict[str, Any]) -> None:
    """Replace each response's `SHAPE` with its body's JSON Schema, the way FastAPI writes a
    response `model`: one schema per shape under `components`, a `$ref` to it in the response
    (or the schema itself, titled after the response, when the shape is no named one)."""
    shapes: list[Any] = []
    described: list[tuple[str, str, dict[str, Any], int]] = []
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if SHAPE not in response:
                    continue
                shape = _SHAPES[response.pop(SHAPE)]
                if shape not in shapes:
                    shapes.append(shape)
                described.append((status, operation["operationId"], response, shapes.index(shape)))
    inputs = [(n, "serialization", TypeAdapter(shape)) for n, shape in enumerate(shapes)]
    schemas, definitions = TypeAdapter.json_schemas(inputs, ref_template=REF_TEMPLATE)  # type: ignore[arg-type]
    components = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in definitions.get("$defs", {}).items():
        if components.setdefault(name, schema) != schema:
            raise RuntimeError(f"two different shapes are named {name} in the document")
    document["components"]["schemas"] = dict(sorted(components.items()))
    for status, operation_id, response, n in described:
        schema = copy.deepcopy(schemas[n, "serialization"])
        if "$ref" not in schema:
            schema["title"] = f"Response_{status}_{operation_id}".title().replace("_", " ")
        response.setdefault("content", {}).setdefault("application/json", {})["schema"] = schema
