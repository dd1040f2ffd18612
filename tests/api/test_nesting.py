"""The shape check run on every JSON body before parsing (`signal_rest.api.nesting`)."""

from __future__ import annotations

import base64
import json

import pytest

from signal_rest.api.nesting import MAX_VALUES, shape_error

TOO_DEEP = "nested deeper than 4 levels"


def depth_of(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    return 0


@pytest.mark.parametrize(
    "body",
    [
        b"[[[[]]]]",
        b'{"a": {"b": [{"c": 1}]}}',
        b'[[], {}, [[{"a": 1}]], "x"]',
        b'{"a": [{"b": {}}], "b": [[[]]]}',
        b"[[[[" + b"]]]]" * 1,
    ],
)
def test_nesting_at_the_limit_passes(body: bytes) -> None:
    assert depth_of(json.loads(body)) == 4
    assert shape_error(body, 4) is None


@pytest.mark.parametrize(
    "body",
    [
        b"[[[[[]]]]]",
        b'{"a": {"b": [{"c": [1]}]}}',
        b'[[], {"a": [[{"b": []}]]}]',
        b'{"a": [{"b": {}}], "b": [[[{}]]]}',
        b"[" * 100_000 + b"]" * 100_000,
        b"[" * 10,  # malformed and deep: refused before the parser recurses
        b'{"a":' * 10 + b"}",
    ],
)
def test_nesting_over_the_limit_is_refused(body: bytes) -> None:
    assert shape_error(body, 4) == TOO_DEEP


@pytest.mark.parametrize(
    "text",
    [
        "[[[[[[[[[[{{{{{{{{",  # brackets inside a string are text
        'quote \\" [[[[[[[[[[',  # an escaped quote does not end the string
        "backslash \\\\",  # an escaped backslash does not escape the quote after it
        'both \\\\\\" [[[[[[[[[[[',
    ],
)
def test_brackets_in_strings_do_not_count(text: str) -> None:
    body = ('{"a": [["' + text + '"]], "b": "' + text + '"}').encode()
    json.loads(body)
    assert shape_error(body, 3) is None
    assert shape_error(body, 2) == "nested deeper than 2 levels"


def test_utf16_bodies_are_scanned_as_the_parser_reads_them() -> None:
    # json.loads takes UTF-16 too: a byte-wise look would see NULs and misplace strings.
    body = json.dumps({"a": "[" * 50, "b": [[[]]]}).encode("utf-16")
    assert depth_of(json.loads(body)) == 4
    assert shape_error(body, 4) is None
    assert shape_error(body, 3) == "nested deeper than 3 levels"


def test_a_large_base64_body_is_fine() -> None:
    body = json.dumps(
        {"message": "[" * 200, "base64_attachments": [base64.b64encode(bytes(3_000_000)).decode()]}
    ).encode()
    assert shape_error(body, 4) is None


def test_too_many_values_are_refused_when_the_shape_needs_a_look() -> None:
    # Past the depth limit in brackets, the body is scanned; the cap bounds that scan.
    many = b"[" + b"[]," * MAX_VALUES + b"[]]"
    assert shape_error(many, 64) == f"more than {MAX_VALUES} values"
    strings = b"[" + b"[]," * 64 + b'"",' * MAX_VALUES + b'""]'
    assert shape_error(strings, 64) == f"more than {MAX_VALUES} values"
