"""Property-based fuzzing of every operation in the OpenAPI document the service serves.

schemathesis reads `/swagger/doc.json` from the running service (on the sandbox, over real HTTP)
and sends each operation there generated requests, valid and invalid (its examples, coverage and
fuzzing phases). Every answer must be below 500, and every error an `{"error": "<text>"}` object
served as `application/json`. Every answer must also be what the document says the operation
answers: a documented status, with a documented media type and a body that its schema accepts
(a success documented without content is empty).

So that cases reach past the account and group checks, ALICE and BOB are registered and share a
group first, half of the generated `{number}` and `{groupid}` path values are theirs, and part of
the send bodies go between them (or are generated text, styled). Query parameters that routes
read but the schema does not declare are fuzzed by a second, fuzzing-only test.

The run is derandomized (a fixed seed, no example database), so CI sees the same cases each time.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import Case
from schemathesis.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig

from tests.support.flows import ALICE, BOB, register
from tests.support.service import RunningService

OUTSIDER = "+4915100000009"  # an outside Signal user, not an account of the service
SPARE = "+4915100000008"  # an account the routes that end accounts may end

# Routes that end an account or delete its data (or devices) get SPARE where the dictionary
# names ALICE or BOB, so the operations fuzzed after them still meet both accounts.
DESTRUCTIVE = {
    "/v1/unregister/{number}",
    "/v1/devices/{number}/local-data",
    "/v1/devices/{number}/{deviceId}",
}
PROTECTED = {ALICE, BOB, "%252B4915100000001"}

# The body field that names the sender, and a sender the network knows, per send operation.
SENDERS = {
    "/v1/send": ("number", ALICE),
    "/v2/send": ("number", ALICE),
    "/v1/sandbox/send": ("from", OUTSIDER),
}

# Examples per operation in the fuzzing phase; the coverage phase adds its own fixed set.
MAX_EXAMPLES = 50


@pytest.fixture
def fuzz_schema(service: RunningService) -> Any:
    client = service.client
    register(client, ALICE)
    register(client, BOB)
    register(client, SPARE)
    created = client.post(f"/v1/groups/{ALICE}", json={"name": "fuzz", "members": [BOB]})
    assert created.status_code == 201, created.text
    group_id = created.json()["id"]
    config = SchemathesisConfig.from_dict(
        {
            "seed": 20261129,
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
            # Sequences of calls are not generated: every operation is fuzzed on its own.
            "phases": {"stateful": {"enabled": False}},
            "dictionaries": {
                # schemathesis sends a value with %-escapes as it is: the server decodes it
                # once, number_from_path once more (ALICE encoded twice, invalid UTF-8 in both).
                "accounts": {"values": [ALICE, BOB, "%252B4915100000001", "%FF", "%25FF", "+49%"]},
                "groups": {"values": [group_id]},
            },
            "parameters": {
                "path.number": {"dictionary": "accounts", "probability": 0.5},
                "path.groupid": {"dictionary": "groups", "probability": 0.5},
            },
        }
    )
    loaded = schemathesis.openapi.from_url(f"{service.url}/swagger/doc.json", config=config)

    @loaded.hook
    def map_path_parameters(context: Any, path_parameters: Any) -> Any:
        if (
            context.operation.path in DESTRUCTIVE
            and isinstance(path_parameters, dict)
            and path_parameters.get("number") in PROTECTED
        ):
            return {**path_parameters, "number": SPARE}
        return path_parameters

    @loaded.hook
    def flatmap_body(context: Any, body: Any) -> st.SearchStrategy[Any]:
        # Generated senders and recipients are random and stop at the account check; the same
        # body between the registered accounts (or into their group) goes on to the send.
        sender = SENDERS.get(context.operation.path)
        if sender is None or not isinstance(body, dict):
            return st.just(body)
        field, number = sender
        variants = st.sampled_from(
            [
                body,
                {**body, field: number, "recipients": [BOB]},
                {**body, field: number, "recipients": [group_id]},
            ]
        )
        # Generated text alone, styled, to BOB: it goes through the style parser to the network.
        styled = st.text(min_size=1).map(
            lambda text: {
                field: number,
                "recipients": [BOB],
                "message": text,
                "text_mode": "styled",
            }
        )
        return st.one_of(variants, styled)

    return loaded


# POST /api/v1/rpc is not fuzzed: it passes any JSON-RPC call through to signal-cli, for any
# account (`unregister`, `deleteLocalAccountData`, `removePin`, ...), so generated bodies could end
# the accounts the other operations need; and it answers in signal-cli's own format (empty 415,
# JSON-RPC errors with 200), not ours. tests/api/test_signal_cli_http.py covers it, against the
# real signal-cli too. GET /api/v1/events is an event stream that never ends, so no answer
# could be read whole; tests/api/test_events.py covers its parameters and refusals.
schema = (
    schemathesis.pytest.from_fixture("fuzz_schema")
    .exclude(path="/api/v1/rpc")
    .exclude(path="/api/v1/events")
)


@pytest.fixture(autouse=True)
def _schemathesis_nodeid(request: pytest.FixtureRequest) -> None:
    # schemathesis 4.32's from_fixture reads and rewrites `Node._nodeid`, which pytest 9.2 no
    # longer has; restore the attribute it expects (pytest itself reads `nodeid`).
    request.node._nodeid = request.node.nodeid


# What the document says must hold for every answer.
CONFORMANCE = [status_code_conformance, content_type_conformance, response_schema_conformance]


def call_and_check(case: Case[Any], params: dict[str, str] | None) -> None:
    """Send `case` (with extra query `params`); the answer must be below 500, an error must be
    an `{"error": "<text>"}` object served as JSON, and the answer must be one the document
    gives the operation."""
    response = case.call(params=params, timeout=30)
    request = f"{case.as_curl_command()} (plus query {params})"
    assert response.status_code < 500, (request, response.text)
    if case.operation.path.startswith("/api/v1/") and response.status_code == 405:
        # signal-cli's own HTTP API answers a wrong method as signal-cli does: 405, no body
        # (tests/api/test_signal_cli_http_realcli.py compares it with the real daemon).
        assert response.content == b"", request
        return
    if response.status_code >= 400:
        assert response.headers.get("content-type") == ["application/json"], request
        body = response.json()
        assert isinstance(body, dict) and list(body) == ["error"], (request, body)
        assert isinstance(body["error"], str) and body["error"], (request, body)
    case.validate_response(response, checks=CONFORMANCE)
    documented = case.operation.definition.raw["responses"].get(str(response.status_code), {})
    if response.status_code < 300 and not documented.get("content"):
        assert response.content == b"", (request, "documented without a body", response.text)


@schema.parametrize()
def test_fuzz_answers_every_request_below_500_with_json_errors(case: Case[Any]) -> None:
    # `timeout` is read from the query string but is not in the schema; without it every poll of
    # an empty inbox would wait its default second.
    params = {"timeout": "0"} if case.operation.path == "/v1/receive/{number}" else None
    call_and_check(case, params)


# Query parameters that routes read but the schema does not declare, with values around their
# rules. `timeout` is never a positive number: a poll of an empty inbox would wait that long.
HIDDEN_QUERY = st.dictionaries(
    st.sampled_from(
        [
            "max_messages",
            "ignore_attachments",
            "ignore_stories",
            "send_read_receipts",
            "expand",
            "device_name",
            "qrcode_version",
        ]
    ),
    st.one_of(
        st.sampled_from(["true", "false", "0", "1", "-1", "40", "41", "+7", " 1", "1_0", ""]),
        st.text(),
    ),
).flatmap(
    lambda query: st.sampled_from(["0", "-1", "1.5", "x", "", "2147483648"]).map(
        lambda timeout: {**query, "timeout": timeout}
    )
)

# The operations that read those parameters. schemathesis runs no coverage phase for a test with
# extra `given` data, so they get this second, fuzzing-only test of their own.
WITH_HIDDEN_QUERY = schema.include(
    method="GET", path_regex=r"^/v1/(receive/|groups/\{number\}(/\{groupid\})?$|qrcodelink)"
)


@WITH_HIDDEN_QUERY.parametrize()
@WITH_HIDDEN_QUERY.given(query=HIDDEN_QUERY)
def test_fuzz_answers_hidden_query_parameters_below_500_with_json_errors(
    case: Case[Any], query: dict[str, str]
) -> None:
    call_and_check(case, query)
