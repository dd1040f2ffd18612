"""The API document says what every operation answers, successes and errors alike.

Walked from the document the app serves, so a route added later is held to the same rules
without anyone listing it. The fuzz test (tests/test_fuzz.py) checks real answers against what
is documented here; these tests check that there is something to check against, and that the
names in it are the Go project's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute

from signal_rest.api import schemas
from signal_rest.app import create_app
from signal_rest.config import Settings

GO_RESPONSES = Path(__file__).parent / "data" / "go-responses.json"
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
FASTAPI_DEFAULT = "Successful Response"  # the description of a success nobody described

# Where the Go project's swagger is stale (spec/rest-api.md §12, §5.2), what its code answers
# is the truth: what of ours its documented shape is compared with, and why.
STALE: dict[str, tuple[str | None, str]] = {
    "POST /v2/send": ("items", "an array of {timestamp, errors?} since commit 6a225e6"),
    "GET /v1/receive/{number}": ("items", "the poll answers an array of data.Message"),
    "POST /v1/send": (None, "documented as a string; the code answers {timestamp}"),
    "DELETE /v1/groups/{number}/{groupid}": (None, 'documented as "OK"; the body is empty'),
}

Operation = tuple[str, str, dict[str, Any]]


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data_dir = tmp_path_factory.mktemp("openapi")
    spec: dict[str, Any] = create_app(Settings(sandbox=True, data_dir=data_dir)).openapi()
    return spec


def _operations(document: dict[str, Any]) -> list[Operation]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _variants(document: dict[str, Any], schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The shapes a schema allows, unions flattened and null left out."""
    schema = _resolve(document, schema)
    if "anyOf" in schema:
        return [v for s in schema["anyOf"] for v in _variants(document, s)]
    return [] if schema.get("type") == "null" else [schema]


def _successes(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {code: r for code, r in operation["responses"].items() if code.startswith("2")}


def _is_error_body(document: dict[str, Any], schema: dict[str, Any]) -> bool:
    shape = _resolve(document, schema)
    return (
        shape.get("type") == "object"
        and "error" in shape.get("required", [])
        and shape["properties"]["error"].get("type") == "string"
    )


def test_every_operation_documents_its_success_body(document: dict[str, Any]) -> None:
    undocumented = []
    for method, path, operation in _operations(document):
        successes = _successes(operation)
        if not successes:
            undocumented.append(f"{method} {path}: no success response")
        for code, response in successes.items():
            if code == "204":
                continue
            content = response.get("content")
            if not content and response["description"] == FASTAPI_DEFAULT:
                # An empty body must be meant: `empty(status, description)` in its route.
                undocumented.append(f"{method} {path} {code}: neither a body nor said empty")
            for media_type, media in (content or {}).items():
                if not media.get("schema"):
                    undocumented.append(f"{method} {path} {code} {media_type}: no schema")
    assert undocumented == []


# signal-cli's own HTTP API answers these as signal-cli does: with an empty body.
SIGNAL_CLI_EMPTY = {("POST", "/api/v1/rpc", "415")}


def test_every_error_is_documented_as_the_error_body(document: dict[str, Any]) -> None:
    wrong = []
    for method, path, operation in _operations(document):
        failures = {c: r for c, r in operation["responses"].items() if c[0] in "45"}
        if not any(code.startswith("4") for code in failures):
            wrong.append(f"{method} {path}: no 4xx response")
        for code, response in failures.items():
            if (method, path, code) in SIGNAL_CLI_EMPTY:
                assert "content" not in response, (method, path, code)
                continue
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            if schema is None or not _is_error_body(document, schema):
                wrong.append(f"{method} {path} {code}: not an {{'error': string}} body")
    assert wrong == []


def test_every_operation_documents_the_refusals_of_its_scope(document: dict[str, Any]) -> None:
    missing = []
    for method, path, operation in _operations(document):
        # A browser Origin or Host that is not allowed; with a token scope, the token guard.
        needed = {"403"} | ({"401", "429", "503"} if operation.get("security") else set())
        if absent := needed - set(operation["responses"]):
            missing.append(f"{method} {path} ({operation['x-scope']}): {sorted(absent)}")
    assert missing == []


def test_operations_that_read_input_document_their_refusals(document: dict[str, Any]) -> None:
    missing = []
    for method, path, operation in _operations(document):
        needed = set()
        if operation.get("parameters"):
            needed.add("400")  # a path number that does not decode, a query flag, …
        if "requestBody" in operation:
            needed |= {"400", "408", "413"}  # malformed, too slow, too large
        if absent := needed - set(operation["responses"]):
            missing.append(f"{method} {path}: {sorted(absent)}")
    assert missing == []


def test_no_route_passes_its_body_through_a_response_model(tmp_path: Path) -> None:
    # A response model filters and coerces what a route returns: shapes go into `responses=`,
    # and a route returning a dict says `response_model=None`, so bodies stay as they are.
    app = create_app(Settings(sandbox=True, data_dir=tmp_path))
    filtered = [
        f"{sorted(route.methods or ())} {route.path}"
        for route in app.state.route_table.routes()
        if isinstance(route, APIRoute) and route.response_model is not None
    ]
    assert filtered == []


def test_response_shapes_wait_for_the_document(tmp_path: Path) -> None:
    # A response `model` makes FastAPI build a validator and serializer for every response of
    # every route when the service starts; the shapes become JSON Schemas only when the
    # document is asked for (api/schemas.py), and it reads the same.
    app = create_app(Settings(sandbox=True, data_dir=tmp_path))
    with_models = [
        f"{sorted(route.methods or ())} {route.path} {status}"
        for route in app.state.route_table.routes()
        if isinstance(route, APIRoute)
        for status, response in route.responses.items()
        if "model" in response
    ]
    assert with_models == []
    shapes = json.dumps(app.openapi())
    assert schemas.SHAPE not in shapes


def test_no_operation_documents_fastapis_422(document: dict[str, Any]) -> None:
    # Requests that fail validation are answered 400 {"error"}; FastAPI's 422 never happens.
    with_422 = [f"{m} {p}" for m, p, op in _operations(document) if "422" in op["responses"]]
    assert with_422 == []
    assert "HTTPValidationError" not in document["components"]["schemas"]


def _mismatches(
    document: dict[str, Any], go: dict[str, Any], go_node: dict[str, Any], ours: dict[str, Any]
) -> list[str]:
    """Where our schema lacks a field the Go project documents, or types it differently;
    a union matches when one of its shapes does."""
    if "ref" in go_node:
        go_node = go["definitions"][go_node["ref"]]
    found: list[str] = []
    for shape in _variants(document, ours) or [{}]:
        found = _mismatches_in(document, go, go_node, shape)
        if not found:
            return []
    return found


def _mismatches_in(
    document: dict[str, Any], go: dict[str, Any], go_node: dict[str, Any], shape: dict[str, Any]
) -> list[str]:
    kind = go_node.get("type")
    if shape.get("type") != kind and not (kind == "number" and shape.get("type") == "integer"):
        return [f": {kind} documented, {shape.get('type') or 'anything'} here"]
    found = []
    if kind == "array":
        found += [f"[]{m}" for m in _mismatches(document, go, go_node["items"], shape["items"])]
    for name, field in go_node.get("fields", {}).items():
        if name not in shape.get("properties", {}):
            found.append(f".{name}: missing")
            continue
        found += [
            f".{name}{m}" for m in _mismatches(document, go, field, shape["properties"][name])
        ]
    if "additional_properties" in go_node:
        values = shape.get("additionalProperties")
        if not isinstance(values, dict):
            return [*found, ": no schema for the object's values"]
        found += [
            f"{{}}{m}" for m in _mismatches(document, go, go_node["additional_properties"], values)
        ]
    return found


def test_response_shapes_use_the_go_projects_field_names(document: dict[str, Any]) -> None:
    go = json.loads(GO_RESPONSES.read_text())
    differences = []
    for method, path, operation in _operations(document):
        route = f"{method} {path}"
        documented = go["responses"].get(route, {})
        ours = [r for r in _successes(operation).values() if "content" in r]
        if not ours or not documented or (route in STALE and STALE[route][0] is None):
            continue
        [(code, go_schema)] = documented.items()
        schema = next(iter(ours[0]["content"].values()))["schema"]
        if route in STALE:
            schema = _resolve(document, schema)[STALE[route][0] or ""]
        differences += [f"{route} {code}{m}" for m in _mismatches(document, go, go_schema, schema)]
    assert differences == []
