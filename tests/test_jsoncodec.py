"""jsoncodec reads and writes what the standard library's json does, at the edges too."""

from __future__ import annotations

import json

import pytest

from signal_rest import jsoncodec

DOCUMENTS = [
    '{"a": 1, "a": 2}',  # the last key wins
    '"\\ud800"',  # half a surrogate pair
    "1e400",  # beyond a double: inf
    "123456789012345678901234567890",  # an integer orjson would read as a float
    "-9223372036854775809",
    "18446744073709551616",
    "NaN",
    "[Infinity, -Infinity]",
    '{"message": "é ✓ \\u2028", "timestamp": 1795965209618, "nested": [true, null, 1.5e-7]}',
    # Past 64 KiB the long integer is looked for another way.
    '["' + "x" * 70_000 + '", 18446744073709551616, -9223372036854775809]',
    '["' + "x" * 70_000 + '", 1795965209618]',
]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_reads_what_json_reads(document: str) -> None:
    expected = json.loads(document)
    got = jsoncodec.loads(document.encode("utf-8", "surrogatepass"))
    assert repr(got) == repr(expected)
    assert repr(jsoncodec.loads(document)) == repr(expected)


@pytest.mark.parametrize("document", ['{"a": 1', "[1,]", '"\x01"', "", "{} x", b"\xff"])
def test_refuses_what_json_refuses_with_the_same_text(document: str | bytes) -> None:
    with pytest.raises(ValueError) as ours:
        jsoncodec.loads(document)
    with pytest.raises(ValueError) as theirs:
        json.loads(document)
    assert str(ours.value) == str(theirs.value)


def test_strict_false_accepts_raw_control_characters_in_strings() -> None:
    assert jsoncodec.loads(b'{"b64": "QUJD\nREVG"}', strict=False) == {"b64": "QUJD\nREVG"}


@pytest.mark.parametrize(
    "value",
    [
        {"a": "é", "b": [1, 2.5, None, True], "c": {"d": "\u2028"}},
        {"half": "\ud800"},
        {1: "a key that is no string"},
        2**70,
        'line\nbreak "quoted" \\',
    ],
)
def test_writes_compact_json_that_reads_back(value: object) -> None:
    written = jsoncodec.dumps(value)
    expected = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    assert written == expected.encode("utf-8", "surrogatepass")
    assert jsoncodec.dumps_text(value) == expected


def test_sorted_keys_as_json_sorts_them() -> None:
    value = {"b": 1, "a": {"d": 2, "c": 3}}
    expected = json.dumps(value, separators=(",", ":"), sort_keys=True).encode()
    assert jsoncodec.dumps(value, sort_keys=True) == expected


def test_a_column_escapes_what_sqlite_could_not_store() -> None:
    assert jsoncodec.column({"a": "é"}) == '{"a":"é"}'
    assert jsoncodec.column({"a": "é\ud800"}) == '{"a":"\\u00e9\\ud800"}'
