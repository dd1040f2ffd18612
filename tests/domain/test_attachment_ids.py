import pytest

from signal_rest.domain.attachment_ids import INVALID_ID, check_id, referenced_ids
from signal_rest.errors import ValidationError


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("AbC_12-xyz.png", id="sandbox-id"),
        pytest.param("1234567890123456789", id="cdn-number-without-extension"),
        pytest.param("x.tar.gz", id="two-dots"),
        pytest.param("a" * 255, id="longest"),
    ],
)
def test_check_id_takes_plain_file_names(name: str) -> None:
    assert check_id(name) == name


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("", id="empty"),
        pytest.param(".", id="dot"),
        pytest.param("..", id="dot-dot"),
        pytest.param(".hidden", id="leading-dot"),
        pytest.param("../secret", id="parent"),
        pytest.param("/etc/passwd", id="absolute"),
        pytest.param("a/b", id="slash"),
        pytest.param("..\\secret", id="backslash"),
        pytest.param("a\x00b", id="nul"),
        pytest.param("a b", id="space"),
        pytest.param("a\nb", id="newline"),
        pytest.param("ä.png", id="non-ascii"),
        pytest.param("a" * 256, id="too-long"),
    ],
)
def test_check_id_refuses_what_could_name_another_path(name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        check_id(name)
    assert caught.value.message == INVALID_ID


def test_referenced_ids_walks_every_json_attachment_once() -> None:
    def attachment(ident: object) -> dict[str, object]:
        return {"contentType": "image/png", "id": ident}

    message = {
        "envelope": {
            "dataMessage": {
                "attachments": [attachment("b.png"), attachment("a.png"), attachment("b.png")],
                "quote": {"attachments": [{"contentType": "x", "thumbnail": attachment("t.jpg")}]},
                "sticker": {"packId": "p", "stickerId": 1},
                "reaction": {"id": "not-an-attachment"},
            },
            "editMessage": {"dataMessage": {"previews": [{"image": attachment("p.jpg")}]}},
        },
        "bad": [attachment("../x"), attachment(7), attachment(None)],
    }
    assert referenced_ids(message) == ["b.png", "a.png", "t.jpg", "p.jpg"]
