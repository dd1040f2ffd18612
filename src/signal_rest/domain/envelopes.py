"""What the service adds to received messages before any client sees them.

    with_voice_note_flags({"envelope": {"dataMessage": {"attachments": [{"id": "a.png"}]}}})
    # {"envelope": {"dataMessage": {"attachments": [{"id": "a.png", "isVoiceNote": False}]}}}

signalbot 2.x validates `isVoiceNote` on every received attachment and drops the whole message
when it is missing; signal-cli 0.13 never writes it. Where it is absent it is added as `false`,
after the attachment's own keys; a value signal-cli gave is kept.
"""

from __future__ import annotations

from typing import Any

__all__ = ["VOICE_NOTE", "with_voice_note_flags"]

VOICE_NOTE = "isVoiceNote"


def _flag_attachments(data: Any) -> None:
    attachments = data.get("attachments") if isinstance(data, dict) else None
    for attachment in attachments if isinstance(attachments, list) else []:
        if isinstance(attachment, dict) and VOICE_NOTE not in attachment:
            attachment[VOICE_NOTE] = False


def _dict(parent: Any, key: str) -> Any:
    return parent.get(key) if isinstance(parent, dict) else None


def with_voice_note_flags(message: dict[str, Any]) -> dict[str, Any]:
    """`message` (a `{"envelope", "account"}` object), changed in place and returned, with
    `isVoiceNote` on each attachment of its data, edit and sent-sync messages."""
    envelope = _dict(message, "envelope")
    sent = _dict(_dict(envelope, "syncMessage"), "sentMessage")
    for data in (
        _dict(envelope, "dataMessage"),
        _dict(_dict(envelope, "editMessage"), "dataMessage"),
        sent,
        _dict(_dict(sent, "editMessage"), "dataMessage"),
    ):
        _flag_attachments(data)
    return message
