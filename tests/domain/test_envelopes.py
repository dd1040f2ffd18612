"""`isVoiceNote` on received attachments, for signalbot 2.x."""

from __future__ import annotations

from typing import Any

import pytest

from signal_rest.domain.envelopes import with_voice_note_flags

PHOTO = {"contentType": "image/png", "id": "a.png"}
VOICE = {"contentType": "audio/aac", "id": "v.aac", "isVoiceNote": True}


def received(**envelope: Any) -> dict[str, Any]:
    return {"envelope": {"source": "+4915100000003", **envelope}, "account": "+4915100000001"}


@pytest.mark.parametrize(
    ("envelope", "expected"),
    [
        (
            {"dataMessage": {"message": "hi", "attachments": [PHOTO, VOICE]}},
            {
                "dataMessage": {
                    "message": "hi",
                    "attachments": [{**PHOTO, "isVoiceNote": False}, VOICE],
                }
            },
        ),
        (
            {"editMessage": {"targetSentTimestamp": 1, "dataMessage": {"attachments": [PHOTO]}}},
            {
                "editMessage": {
                    "targetSentTimestamp": 1,
                    "dataMessage": {"attachments": [{**PHOTO, "isVoiceNote": False}]},
                }
            },
        ),
        (
            {"syncMessage": {"sentMessage": {"attachments": [PHOTO]}}},
            {"syncMessage": {"sentMessage": {"attachments": [{**PHOTO, "isVoiceNote": False}]}}},
        ),
        (
            {
                "syncMessage": {
                    "sentMessage": {"editMessage": {"dataMessage": {"attachments": [PHOTO]}}}
                }
            },
            {
                "syncMessage": {
                    "sentMessage": {
                        "editMessage": {
                            "dataMessage": {"attachments": [{**PHOTO, "isVoiceNote": False}]}
                        }
                    }
                }
            },
        ),
    ],
    ids=["data-message", "edit-message", "sync-sent-message", "sync-sent-edit"],
)
def test_attachments_get_is_voice_note_where_signal_cli_left_it_out(
    envelope: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert with_voice_note_flags(received(**envelope)) == received(**expected)


@pytest.mark.parametrize(
    "envelope",
    [
        {"dataMessage": {"message": "no attachments"}},
        {"dataMessage": {"attachments": "not a list"}},
        {"dataMessage": {"attachments": ["not an object", None]}},
        {"dataMessage": None},
        {"receiptMessage": {"timestamps": [1]}},
        {"syncMessage": {"readMessages": []}},
    ],
    ids=["no-attachments", "odd-list", "odd-items", "null-data", "receipt", "sync-read"],
)
def test_other_messages_pass_unchanged(envelope: dict[str, Any]) -> None:
    assert with_voice_note_flags(received(**envelope)) == received(**envelope)


def test_a_message_without_envelope_passes_unchanged() -> None:
    assert with_voice_note_flags({"account": "+4915100000001"}) == {"account": "+4915100000001"}
