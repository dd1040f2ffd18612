import binascii
import random

import pytest

from signal_rest.domain.b64 import Base64Error, Layout, decode, iter_decode, scan

_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_DECODE_MAP = {char: value for value, char in enumerate(_ALPHABET)}


def go_std_decode(src: bytes) -> tuple[bytes, int | None]:
    """A line-by-line port of Go's `StdEncoding.Decode` loop (`decodeQuantum`), as the oracle for
    error offsets: (decoded bytes, offset of the CorruptInputError or None)."""
    out = bytearray()
    si = 0
    while si < len(src):
        digits = [0, 0, 0, 0]
        dlen, j, err = 4, 0, None
        while j < 4:
            if si == len(src):
                if j == 0:
                    return bytes(out), None
                return bytes(out), si - j
            char = src[si]
            si += 1
            if char in _DECODE_MAP:
                digits[j] = _DECODE_MAP[char]
                j += 1
                continue
            if char in b"\r\n":
                continue
            if char != ord("=") or j < 2:
                return bytes(out), si - 1
            if j == 2:
                while si < len(src) and src[si] in b"\r\n":
                    si += 1
                if si == len(src):
                    return bytes(out), len(src)
                if src[si] != ord("="):
                    return bytes(out), si - 1
                si += 1
            while si < len(src) and src[si] in b"\r\n":
                si += 1
            if si < len(src):
                err = si
            dlen = j
            break
        value = digits[0] << 18 | digits[1] << 12 | digits[2] << 6 | digits[3]
        out += bytes([(value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF])[: dlen - 1]
        if err is not None:
            return bytes(out), err
    return bytes(out), None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", b"", id="empty"),
        pytest.param("YWJj", b"abc", id="full-quantum"),
        pytest.param("YWJjPQ==", b"abc=", id="two-pads"),
        pytest.param("YWJjZA==\n", b"abcd", id="trailing-newline"),
        pytest.param("YW\r\nJj\nZGU=", b"abcde", id="newlines-inside"),
        pytest.param("YR==", b"a", id="nonzero-trailing-bits-accepted"),
        pytest.param("YQ=\n=", b"a", id="newline-between-pads"),
    ],
)
def test_decode_accepts_go_valid_input(text, expected):
    assert decode(text) == expected


@pytest.mark.parametrize(
    ("text", "offset", "reason"),
    [
        pytest.param(
            "YW Jj", 2, "unexpected whitespace ' '; only line breaks are ignored", id="space"
        ),
        pytest.param(
            "YW-j",
            2,
            "'-' is URL-safe base64; only the standard alphabet (+ and /) is accepted",
            id="url-safe",
        ),
        pytest.param("YWJjé", 4, "unexpected character 'é'", id="non-ascii"),
        pytest.param("abc", 0, "the input is not padded to a multiple of 4", id="unpadded-3"),
        pytest.param("abcde", 4, "the input is not padded to a multiple of 4", id="unpadded-5"),
        pytest.param("====", 0, "'=' padding in the wrong place", id="only-padding"),
        pytest.param("a===", 1, "'=' padding in the wrong place", id="pad-after-one"),
        pytest.param("ab=", 3, "the second '=' of the padding is missing", id="one-pad-at-end"),
        pytest.param("ab=c", 2, "the second '=' of the padding is missing", id="pad-then-data"),
        pytest.param("abc==", 4, "there is data after the '=' padding", id="extra-pad"),
        pytest.param("YQ==YQ==", 4, "there is data after the '=' padding", id="concatenated"),
    ],
)
def test_scan_reports_go_offset_and_reason(text, offset, reason):
    with pytest.raises(Base64Error) as caught:
        scan(text)
    assert (str(caught.value), caught.value.offset, caught.value.reason) == (
        f"illegal base64 data at input byte {offset}",
        offset,
        reason,
    )
    assert go_std_decode(text.encode())[1] == offset


def test_scan_matches_go_decoder_on_random_input():
    rng = random.Random(20260801)
    pieces = ["A", "b", "+", "/", "9", "=", "\n", "\r", " ", "-", "é"]
    for _ in range(20000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 14)))
        expected_bytes, expected_error = go_std_decode(text.encode())
        try:
            result: tuple[bytes, int | None] = (decode(text), None)
        except Base64Error as exc:
            result = (expected_bytes, exc.offset)
        assert result == (expected_bytes, expected_error), repr(text)


def test_iter_decode_yields_bounded_chunks_across_newlines():
    data = bytes(range(256)) * 40
    text = binascii.b2a_base64(data, newline=False).decode()
    text = "\n".join(text[i : i + 76] for i in range(0, len(text), 76))
    layout = scan(text)
    chunks = list(iter_decode(text, layout, chunk_chars=100))
    assert (layout, b"".join(chunks), max(map(len, chunks))) == (
        Layout(body_end=len(text) - 2, size=len(data)),  # "==" ends it
        data,
        75,
    )
