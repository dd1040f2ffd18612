"""The dataMessage JSON recipients see for `send` params (signal-cli's JsonDataMessage)."""

from __future__ import annotations

from typing import Any, NamedTuple

from .attachments import store_attachment
from .errors import user_error
from .network import Network
from .params import Params
from .recipients import resolve
from .stickers import parse_sticker

STYLES = ("NONE", "BOLD", "ITALIC", "SPOILER", "STRIKETHROUGH", "MONOSPACE")
EMPTY_MESSAGE = (
    "Sending empty message is not allowed, either a message, attachment or sticker must be given."
)


def data_message(timestamp: int, message: str | None = None, **extra: Any) -> dict[str, Any]:
    """The five always-present keys, then only the non-empty extras."""
    out: dict[str, Any] = {
        "timestamp": timestamp,
        "message": message,
        "expiresInSeconds": 0,
        "isExpirationUpdate": False,
        "viewOnce": False,
    }
    out.update({k: v for k, v in extra.items() if v not in (None, [], {})})
    return out


def _ints(text: str, parts: list[str], error: str) -> tuple[int, int]:
    try:
        return int(parts[0]), int(parts[1])
    except (ValueError, IndexError):
        raise user_error(error.format(text)) from None


def mentions(network: Network, values: list[str]) -> list[dict[str, Any]]:
    out = []
    for value in values:
        parts = value.split(":", 2)
        error = "Invalid mention syntax ({}) expected 'start:length:recipientNumber'"
        if len(parts) != 3:
            raise user_error(error.format(value))
        start, length = _ints(value, parts, error)
        number = resolve(network, parts[2])
        if not network.is_registered(number):
            raise user_error(f"The user {parts[2]} is not registered.")
        uuid = network.uuid_of(number)
        out.append(
            {"name": number, "number": number, "uuid": uuid, "start": start, "length": length}
        )
    return out


def text_styles(values: list[str]) -> list[dict[str, Any]]:
    out = []
    for value in values:
        parts = value.split(":", 2)
        error = "Invalid textStyle syntax ({}) expected 'start:length:STYLE'"
        if len(parts) != 3:
            raise user_error(error.format(value))
        start, length = _ints(value, parts, error)
        if parts[2] not in STYLES:
            raise user_error(f"Invalid style: {parts[2]}")
        out.append({"style": parts[2], "start": start, "length": length})
    return out


def _quote(network: Network, p: Params, uploaded: int) -> dict[str, Any] | None:
    quote_ts = p.long("quoteTimestamp")
    if quote_ts is None:
        return None
    author_text = p.text("quoteAuthor")
    if author_text is None:
        raise user_error("Quote author parameter is missing")
    author = resolve(network, author_text)
    if not network.is_registered(author):
        raise user_error(f"The user {author_text} is not registered.")
    attachments = []
    for spec in p.items("quoteAttachment"):
        content_type, _, rest = spec.partition(":")
        filename, _, preview = rest.partition(":")
        quoted: dict[str, Any] = {"contentType": content_type, "filename": filename or None}
        if preview:
            quoted["thumbnail"] = store_attachment(network.uploads_dir, preview, uploaded)
        attachments.append(quoted)
    quote: dict[str, Any] = {
        "id": quote_ts,
        "author": author,
        "authorNumber": author,
        "authorUuid": network.uuid_of(author),
        "text": p.text("quoteMessage"),
    }
    quote_mentions = mentions(network, p.items("quoteMention"))
    if quote_mentions:
        quote["mentions"] = quote_mentions
    quote["attachments"] = attachments
    styles = text_styles(p.items("quoteTextStyle"))
    if styles:
        quote["textStyles"] = styles
    return quote


def _sticker(value: str | None) -> dict[str, Any] | None:
    if value is None:
        return None
    pack_id, sticker_id = parse_sticker(value)
    return {"packId": pack_id, "stickerId": sticker_id}


class Checked(NamedTuple):
    """What `validate` read and parsed of a send's params, for `build` to use as it is."""

    message: str | None
    mentions: list[dict[str, Any]]
    text_styles: list[dict[str, Any]]
    sticker: dict[str, Any] | None


def validate(network: Network, p: Params) -> Checked:
    """The checks signal-cli makes before anything is uploaded or sent."""
    found = mentions(network, p.items("mention"))
    styles = text_styles(p.items("textStyle"))
    sticker = _sticker(p.text("sticker"))
    has_quote = p.long("quoteTimestamp") is not None
    text = p.text("message")
    if not (text or p.items("attachment") or sticker is not None or has_quote):
        raise user_error(EMPTY_MESSAGE)
    return Checked(text, found, styles, sticker)


def build(network: Network, p: Params, checked: Checked, timestamp: int) -> dict[str, Any]:
    """The dataMessage for a `send`; attachments are uploaded once and shared by all recipients."""
    attachments = [
        store_attachment(network.uploads_dir, a, timestamp) for a in p.items("attachment")
    ]
    previews = []
    if p.text("previewUrl") is not None:
        image_path = p.text("previewImage")
        image = store_attachment(network.uploads_dir, image_path, timestamp) if image_path else None
        previews.append(
            {
                "url": p.text("previewUrl"),
                "title": p.text("previewTitle"),
                "description": p.text("previewDescription"),
                "image": image,
            }
        )
    message = data_message(
        timestamp,
        checked.message or None,
        quote=_quote(network, p, timestamp),
        mentions=checked.mentions,
        previews=previews,
        attachments=attachments,
        sticker=checked.sticker,
        textStyles=checked.text_styles,
    )
    message["viewOnce"] = p.flag("viewOnce")
    return message
