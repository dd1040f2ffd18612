import pytest

from signal_rest.domain.sniffing import SNIFF_BYTES, content_type, extension_for, sniff_mime


def _ftyp(brand: bytes) -> bytes:
    return b"\x00\x00\x00\x20ftyp" + brand + b"\x00\x00\x02\x00isomiso2"


@pytest.mark.parametrize(
    ("head", "mime", "extension"),
    [
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png", ".png", id="png"),
        pytest.param(b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg", ".jpg", id="jpeg"),
        pytest.param(b"GIF89a\x01\x00", "image/gif", ".gif", id="gif89a"),
        pytest.param(b"GIF87a\x01\x00", "image/gif", ".gif", id="gif87a"),
        pytest.param(b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp", ".webp", id="webp"),
        pytest.param(b"BM\x36\x00\x0c\x00\x00\x00\x00\x00\x36\x00", "image/bmp", ".bmp", id="bmp"),
        pytest.param(b"II*\x00\x08\x00\x00\x00", "image/tiff", ".tiff", id="tiff-le"),
        pytest.param(b"MM\x00*\x00\x00\x00\x08", "image/tiff", ".tiff", id="tiff-be"),
        pytest.param(b"%PDF-1.7\n", "application/pdf", ".pdf", id="pdf"),
        pytest.param(b"PK\x03\x04\x14\x00", "application/zip", ".zip", id="zip"),
        pytest.param(b"\x1f\x8b\x08\x00", "application/gzip", ".gz", id="gzip"),
        pytest.param(_ftyp(b"isom"), "video/mp4", ".mp4", id="mp4"),
        pytest.param(_ftyp(b"mp42"), "video/mp4", ".mp4", id="mp4-mp42"),
        pytest.param(_ftyp(b"M4A "), "audio/x-m4a", ".m4a", id="m4a"),
        pytest.param(_ftyp(b"qt  "), "video/quicktime", ".mov", id="mov"),
        pytest.param(_ftyp(b"heic"), "image/heic", ".heic", id="heic"),
        pytest.param(_ftyp(b"mif1"), "image/heif", ".heif", id="heif"),
        pytest.param(_ftyp(b"avif"), "image/avif", ".avif", id="avif"),
        pytest.param(
            b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm",
            "video/webm",
            ".webm",
            id="webm",
        ),
        pytest.param(
            b"\x1a\x45\xdf\xa3\xa3\x42\x82\x88matroska", "video/x-matroska", ".mkv", id="mkv"
        ),
        pytest.param(b"OggS\x00\x02", "audio/ogg", ".ogg", id="ogg"),
        pytest.param(b"ID3\x04\x00\x00", "audio/mpeg", ".mp3", id="mp3-id3"),
        pytest.param(b"\xff\xfb\x90\x64", "audio/mpeg", ".mp3", id="mp3-frame-sync"),
        pytest.param(b"\xff\xf3\x48\xc4", "audio/mpeg", ".mp3", id="mp3-mpeg2"),
        pytest.param(b"\xff\xf1\x50\x80", "audio/aac", ".aac", id="aac-adts"),
        pytest.param(b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav", ".wav", id="wav"),
        pytest.param(b"fLaC\x00\x00\x00\x22", "audio/flac", ".flac", id="flac"),
        pytest.param(b"hello world\n", "text/plain", ".txt", id="text"),
        pytest.param(b"BMW is a car brand", "text/plain", ".txt", id="bm-text-not-bmp"),
        pytest.param("Grüße\tüber\r\n".encode(), "text/plain", ".txt", id="utf8-text"),
        pytest.param("\ufeffBOM first".encode(), "text/plain", ".txt", id="utf8-bom"),
        pytest.param(b"cut in the middle \xc3", "text/plain", ".txt", id="utf8-cut-at-the-end"),
        pytest.param(b"caf\xe9 latin-1", None, "", id="not-utf8"),
        pytest.param(b"text\x00with a nul", None, "", id="nul-is-binary"),
        pytest.param(b"\x01\x02\x03\x04", None, "", id="controls-are-binary"),
        pytest.param(b"\xff\xed\x00", None, "", id="mpeg-reserved-version"),
        pytest.param(b"\x1a\x45\xdf\xa3\x00", None, "", id="ebml-unknown-doctype"),
        pytest.param(b"", None, "", id="empty"),
    ],
)
def test_sniff_mime_recognises_magic_numbers(head, mime, extension):
    assert (sniff_mime(head), extension_for(sniff_mime(head))) == (mime, extension)


@pytest.mark.parametrize(
    ("mime", "extension"),
    [
        pytest.param("image/JPEG", ".jpg", id="case-insensitive"),
        pytest.param("text/plain; charset=utf-8", ".txt", id="parameters-ignored"),
        pytest.param("application/x-unknown", "", id="unknown"),
        pytest.param(None, "", id="none"),
    ],
)
def test_extension_for_maps_mime_types(mime, extension):
    assert extension_for(mime) == extension


def test_sniff_mime_reads_text_only_as_far_as_the_sniffed_head() -> None:
    # A character cut by the head's end is not an error; binary after the head is not looked at.
    head = "ü".encode() * (SNIFF_BYTES // 2) + b"\x00"
    assert sniff_mime(head[: SNIFF_BYTES - 1]) == "text/plain"
    assert sniff_mime(head) == "text/plain"


@pytest.mark.parametrize(
    ("head", "served"),
    [
        pytest.param(b"\x89PNG\r\n\x1a\n\x00", "image/png", id="png"),
        pytest.param(b"plain words", "text/plain; charset=utf-8", id="text-with-charset"),
        pytest.param(b"\x00\x01binary", "application/octet-stream", id="unknown"),
    ],
)
def test_content_type_is_what_a_file_is_served_with(head: bytes, served: str) -> None:
    assert content_type(head) == served
