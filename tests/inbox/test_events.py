"""The bytes of one event of `GET /api/v1/events` (the stream itself: tests/api/test_events.py)."""

from __future__ import annotations

from signal_rest.inbox.events import event
from signal_rest.inbox.store import StoredMessage


def test_an_event_is_one_line_of_compact_json_after_its_id_and_type() -> None:
    message = {"envelope": {"text": "über\nzwei Zeilen ✓", "n": 1}, "account": "+4915100000001"}
    assert event(StoredMessage(7, "+4915100000001", message)) == (
        b"id:7\nevent:receive\n"
        b'data:{"envelope":{"text":"\xc3\xbcber\\nzwei Zeilen \xe2\x9c\x93","n":1},'
        b'"account":"+4915100000001"}\n\n'
    )


def test_a_lone_surrogate_stays_escaped_so_the_event_is_utf8() -> None:
    message = {"envelope": {"text": "ä\ud800"}, "account": "+4915100000001"}
    assert event(StoredMessage(8, "+4915100000001", message)) == (
        b'id:8\nevent:receive\ndata:{"envelope":{"text":"\\u00e4\\ud800"},'
        b'"account":"+4915100000001"}\n\n'
    )
