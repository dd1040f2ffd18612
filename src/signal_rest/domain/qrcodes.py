"""QR codes of device-link URIs, as PNG."""

from __future__ import annotations

import io

from signal_rest.errors import ValidationError

__all__ = ["DEFAULT_QR_VERSION", "qr_png"]

QR_PIXELS = 256
DEFAULT_QR_VERSION = 10


def qr_png(data: str, version: int | None = None) -> bytes:
    """A PNG of `data` at the highest error correction, in QR `version` when one is asked for.

    Without one it is version 10 (the Go project's default) or, when the link does not fit
    there, the smallest that fits: URL-encoding makes link URIs vary in length, and now and then
    one is too long for version 10 (about one in several hundred).
    """
    import segno  # loaded with the first QR code: most services never make one

    try:
        qr = segno.make_qr(data, error="h", version=version, boost_error=False)
        if version is None and int(qr.version) < DEFAULT_QR_VERSION:
            qr = segno.make_qr(data, error="h", version=DEFAULT_QR_VERSION, boost_error=False)
    except (ValueError, segno.DataOverflowError) as exc:
        raise ValidationError(f"Couldn't create QR code: {exc}") from exc
    width = qr.symbol_size(scale=1, border=4)[0]
    out = io.BytesIO()
    # At least QR_PIXELS wide (the Go project's image is 256 px): phones scan it from a screen.
    qr.save(out, kind="png", scale=-(-QR_PIXELS // width), border=4)
    return out.getvalue()
