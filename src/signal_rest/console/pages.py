"""The console page and its script and style: open, since they show nothing of the service's
state (the parts they fetch need a token once tokens exist)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from signal_rest.auth.tokens import TOKEN_FILE, TokenFileError, TokenStore
from signal_rest.console.render import html_response, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

STATIC = Path(__file__).parent / "static"
_ASSET_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}


def _tokens_on(request: Request) -> bool:
    # Whether the page should ask for a token before it fetches anything (a 401 would do as
    # well, but a browser logs every refused request as an error).
    try:
        return TokenStore(request.app.state.settings.data_dir / TOKEN_FILE).current() is not None
    except TokenFileError:
        return True


@router.get("/")
async def console(request: Request) -> HTMLResponse:
    sandbox = request.app.state.backend.is_sandbox
    chat = render("chat.html") if sandbox else ""
    tokens = "on" if _tokens_on(request) else "off"
    page = render("console.html", sandbox=str(sandbox).lower(), tokens=tokens, chat=chat)
    return html_response(page)


def _asset(name: str, media_type: str) -> Response:
    content = (STATIC / name).read_bytes()
    return Response(content, media_type=media_type, headers=_ASSET_HEADERS)


@router.get("/console/console.js")
async def script() -> Response:
    return _asset("console.js", "text/javascript; charset=utf-8")


@router.get("/console/console.css")
async def style() -> Response:
    return _asset("console.css", "text/css; charset=utf-8")
