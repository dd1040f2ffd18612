"""The console's HTML: templates from `templates/` filled with escaped values.

    render("status.html", health=escaped("ok"), accounts=Markup(rows))

A template is a `string.Template` (`$name` placeholders). Every value is escaped on the way in
unless it is `Markup`, HTML made here from escaped parts, so a number, a name or a message text
can only ever show as text.
"""

from __future__ import annotations

import functools
import html
from pathlib import Path
from string import Template

from fastapi.responses import HTMLResponse

__all__ = ["HEADERS", "Markup", "html_response", "render"]

TEMPLATES = Path(__file__).parent / "templates"

# What a browser may do with the console's HTML: its own script and style only (no inline
# script, so an escaping slip could not run one), images from here or the QR code's data URI,
# requests to this service, no framing; no Referer, nothing cached.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class Markup(str):
    """HTML made from escaped parts: `render` takes it as it is."""


@functools.cache
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def _escaped(value: object) -> str:
    if isinstance(value, Markup):
        return value
    return html.escape("" if value is None else str(value), quote=True)


def render(name: str, **values: object) -> Markup:
    """Template `name` with `values`, each escaped unless it is Markup."""
    return Markup(_template(name).substitute({k: _escaped(v) for k, v in values.items()}))


def join(parts: list[Markup]) -> Markup:
    return Markup("".join(parts))


def html_response(content: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status_code=status_code, headers=HEADERS)
