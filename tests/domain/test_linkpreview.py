from pathlib import Path

import pytest

from signal_rest.domain.attachments import AttachmentSpec
from signal_rest.domain.linkpreview import LinkPreview, validate_link_preview
from signal_rest.errors import ValidationError

URL = "https://example.org/post"
MESSAGE = f"Read this: **{URL}**"


def test_validate_link_preview_returns_preview_with_thumbnail():
    preview = validate_link_preview(
        MESSAGE,
        url=URL,
        title="A post",
        description="About things",
        base64_thumbnail="data:image/png;filename=t.png;base64,QQ==",
    )
    assert preview == LinkPreview(
        URL, "A post", "About things", AttachmentSpec("QQ==", "image/png", "t.png")
    )


def test_rpc_params_include_image_only_when_given():
    preview = validate_link_preview(MESSAGE, url=URL, title="A post", description=None)
    assert (preview.thumbnail, preview.rpc_params(), preview.rpc_params(Path("/tmp/x/t.png"))) == (
        None,
        {"preview-url": URL, "preview-title": "A post", "preview-description": ""},
        {
            "preview-url": URL,
            "preview-title": "A post",
            "preview-description": "",
            "preview-image": "/tmp/x/t.png",
        },
    )


@pytest.mark.parametrize(
    ("url", "title", "message", "error"),
    [
        pytest.param("", "T", MESSAGE, "Please provide a valid Link Preview URL", id="no-url"),
        pytest.param(None, "T", MESSAGE, "Please provide a valid Link Preview URL", id="null-url"),
        pytest.param(
            "http://example.org",
            "",
            "http://example.org",
            "Link Preview URL must start with https://..",
            id="not-https-checked-before-title",
        ),
        pytest.param(URL, "", MESSAGE, "Please provide a valid Link Preview Title", id="no-title"),
        pytest.param(
            URL,
            "T",
            "no link here",
            "Link Preview URL is missing in the message!",
            id="not-in-text",
        ),
    ],
)
def test_validate_link_preview_rejects_with_go_text(url, title, message, error):
    with pytest.raises(ValidationError) as caught:
        validate_link_preview(message, url=url, title=title)
    assert caught.value.message == error


def test_validate_link_preview_accepts_https_prefix_like_go():
    preview = validate_link_preview("httpsfoo", url="httpsfoo", title="T")
    assert preview == LinkPreview("httpsfoo", "T", "", None)
