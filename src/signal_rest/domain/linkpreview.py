"""The `link_preview` of a `/v2/send`, checked like the Go project and turned into send params.

    preview = validate_link_preview(
        "See https://example.org", url="https://example.org", title="Example"
    )
    with TempAttachments(tmp_dir, max_bytes=limit) as tmp:
        image = tmp.add_spec(preview.thumbnail) if preview.thumbnail else None
        params.update(preview.rpc_params(image))

Validation runs on the raw message, before styled text is parsed (as in Go), so a URL inside
markers still counts as present.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from signal_rest.domain.attachments import AttachmentSpec, parse_attachment
from signal_rest.errors import ValidationError

__all__ = [
    "LINK_PREVIEW_NOT_HTTPS",
    "LINK_PREVIEW_NO_TITLE",
    "LINK_PREVIEW_NO_URL",
    "LINK_PREVIEW_URL_NOT_IN_MESSAGE",
    "LinkPreview",
    "validate_link_preview",
]

LINK_PREVIEW_NO_URL = "Please provide a valid Link Preview URL"
LINK_PREVIEW_NOT_HTTPS = "Link Preview URL must start with https://.."
LINK_PREVIEW_NO_TITLE = "Please provide a valid Link Preview Title"
LINK_PREVIEW_URL_NOT_IN_MESSAGE = "Link Preview URL is missing in the message!"


@dataclass(frozen=True, slots=True)
class LinkPreview:
    """A checked link preview; `thumbnail` is the parsed `base64_thumbnail`, if one was given."""

    url: str
    title: str
    description: str
    thumbnail: AttachmentSpec | None

    def rpc_params(self, image: Path | None = None) -> dict[str, str]:
        """signal-cli `send` params; `image` is the decoded thumbnail's temp file."""
        # Go sends the three texts even when empty; only the image is optional.
        params = {
            "preview-url": self.url,
            "preview-title": self.title,
            "preview-description": self.description,
        }
        if image is not None:
            params["preview-image"] = str(image)
        return params


def validate_link_preview(
    message: str,
    *,
    url: str | None,
    title: str | None,
    description: str | None = None,
    base64_thumbnail: str | None = None,
) -> LinkPreview:
    """Check a link preview against the message it belongs to, in Go's order and wording.

    `None` counts as empty, as a JSON `null` does for Go's non-pointer fields.
    """
    url = url or ""
    title = title or ""
    if not url:
        raise ValidationError(LINK_PREVIEW_NO_URL)
    # Go tests the prefix `https` only, so `httpsfoo` passes; kept for identical behaviour.
    if not url.startswith("https"):
        raise ValidationError(LINK_PREVIEW_NOT_HTTPS)
    if not title:
        raise ValidationError(LINK_PREVIEW_NO_TITLE)
    if url not in message:
        raise ValidationError(LINK_PREVIEW_URL_NOT_IN_MESSAGE)
    thumbnail = parse_attachment(base64_thumbnail) if base64_thumbnail else None
    return LinkPreview(url, title, description or "", thumbnail)
