"""Content-type sniffing from magic numbers, for attachments that arrive as bare base64.

    sniff_mime(b"\\x89PNG\\r\\n\\x1a\\n...")   # "image/png"
    sniff_mime(b"Dear diary")              # "text/plain"
    extension_for("image/png")             # ".png"
    extension_for(None)                    # ""
    content_type(b"Dear diary")            # "text/plain; charset=utf-8" (for serving files)

Most clients (pysignalclirestapi, signalbot, pysignalapi) send no MIME type, and signal-cli guesses
an attachment's type from its file name, so the name we give the temp file decides how recipients
see it. The Go project uses gabriel-vasile/mimetype; the names and extensions here follow it,
UTF-8 text included: like mimetype, a head that decodes as UTF-8 and holds none of the control
bytes binary formats are made of is text, so a text file arrives as `text/plain` (signal-cli
itself reports an extensionless file as `application/octet-stream`).
"""

from __future__ import annotations

__all__ = ["OCTET_STREAM", "SNIFF_BYTES", "content_type", "extension_for", "sniff_mime"]

OCTET_STREAM = "application/octet-stream"

# Every signature below lies within the first 64 bytes; EBML doc types may sit a little later.
SNIFF_BYTES = 512

_PREFIXES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"PK\x05\x06", "application/zip"),  # an empty archive
    (b"\x1f\x8b", "application/gzip"),
    (b"OggS", "audio/ogg"),
    (b"fLaC", "audio/flac"),
    (b"ID3", "audio/mpeg"),
    (b"#!AMR", "audio/amr"),
)

_RIFF_FORMATS = {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}

# ISO base media (`ftyp` box) major brands; anything else with an `ftyp` box is MP4.
_FTYP_BRANDS = {
    b"qt  ": "video/quicktime",
    b"M4A ": "audio/x-m4a",
    b"M4B ": "audio/x-m4a",
    b"M4V ": "video/x-m4v",
    b"M4VH": "video/x-m4v",
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"heim": "image/heic",
    b"heis": "image/heic",
    b"hevc": "image/heic-sequence",
    b"hevx": "image/heic-sequence",
    b"mif1": "image/heif",
    b"msf1": "image/heif-sequence",
    b"avif": "image/avif",
    b"avis": "image/avif",
    b"3gp4": "video/3gpp",
    b"3gp5": "video/3gpp",
    b"3gp6": "video/3gpp",
    b"3gp7": "video/3gpp",
    b"3gs7": "video/3gpp",
    b"3g2a": "video/3gpp2",
}

_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/bmp": ".bmp",
    "image/tiff": ".tiff",
    "image/heic": ".heic",
    "image/heic-sequence": ".heic",
    "image/heif": ".heif",
    "image/heif-sequence": ".heif",
    "image/avif": ".avif",
    "application/pdf": ".pdf",
    "application/zip": ".zip",
    "application/gzip": ".gz",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/x-m4v": ".m4v",
    "video/3gpp": ".3gp",
    "video/3gpp2": ".3g2",
    "video/webm": ".webm",
    "video/x-matroska": ".mkv",
    "video/x-msvideo": ".avi",
    "audio/x-m4a": ".m4a",
    "audio/mp4": ".m4a",
    "audio/ogg": ".ogg",
    "audio/mpeg": ".mp3",
    "audio/aac": ".aac",
    "audio/wav": ".wav",
    "audio/flac": ".flac",
    "audio/amr": ".amr",
    "text/plain": ".txt",
}


def sniff_mime(head: bytes) -> str | None:
    """The MIME type the first bytes of a file announce, or None when nothing matches."""
    for prefix, mime in _PREFIXES:
        if head.startswith(prefix):
            return mime
    if head[:4] == b"RIFF" and head[8:12] in _RIFF_FORMATS:
        return _RIFF_FORMATS[head[8:12]]
    if head[4:8] == b"ftyp":
        return _FTYP_BRANDS.get(head[8:12], "video/mp4")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return _ebml_mime(head[:SNIFF_BYTES])
    # "BM" alone starts plenty of text; the BMP header's 4 reserved bytes are zero.
    if head.startswith(b"BM") and head[6:10] == b"\x00\x00\x00\x00":
        return "image/bmp"
    return _mpeg_audio_mime(head) or _text_mime(head)


def content_type(head: bytes) -> str:
    """The Content-Type to serve a file whose first bytes are `head` with (as the Go project)."""
    mime = sniff_mime(head)
    if mime is None:
        return OCTET_STREAM
    return f"{mime}; charset=utf-8" if mime == "text/plain" else mime


def extension_for(mime: str | None) -> str:
    """The file extension (with its dot) for a MIME type, or "" for None and unknown types."""
    if mime is None:
        return ""
    return _EXTENSIONS.get(mime.split(";", 1)[0].strip().lower(), "")


def _ebml_mime(head: bytes) -> str | None:
    # The EBML DocType element names the flavour of Matroska; its size prefix varies by muxer.
    if b"webm" in head:
        return "video/webm"
    if b"matroska" in head:
        return "video/x-matroska"
    return None


def _mpeg_audio_mime(head: bytes) -> str | None:
    # A frame header: 11 sync bits, a version (01 is reserved) and a layer (00 is reserved).
    if len(head) < 2 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    version, layer = (head[1] >> 3) & 0b11, (head[1] >> 1) & 0b11
    if version == 0b01:
        return None
    if layer == 0b00:
        return "audio/aac"  # ADTS, the framing of raw AAC streams
    return "audio/mpeg" if layer == 0b01 else None


# The bytes mimetype counts as binary: C0 controls other than tab, line feed, form feed, carriage
# return and escape.
_BINARY_BYTES = bytes([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x1B), *range(0x1C, 0x20)])


def _text_mime(head: bytes) -> str | None:
    sample = head[:SNIFF_BYTES]
    if not sample or sample != sample.translate(None, _BINARY_BYTES):
        return None
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The head may end inside a multi-byte character; only an error before that counts.
        if exc.reason != "unexpected end of data":
            return None
    return "text/plain"
