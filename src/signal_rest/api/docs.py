"""The Swagger UI at `/swagger/index.html` with the OpenAPI document at `/swagger/doc.json`,
served from the installed swagger-ui-bundle: no CDN, so it works offline."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from swagger_ui_bundle import swagger_ui_path

from signal_rest.errors import NotFound

router = APIRouter(include_in_schema=False)

ASSETS = Path(swagger_ui_path)
SERVED = {"swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png", "favicon-16x16.png"}


@router.get("/swagger")
@router.get("/swagger/")
async def swagger_root() -> RedirectResponse:
    return RedirectResponse("/swagger/index.html", status_code=301)


@router.get("/swagger/index.html")
async def swagger_ui() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/swagger/doc.json",
        title="signal-rest API",
        swagger_js_url="/swagger/assets/swagger-ui-bundle.js",
        swagger_css_url="/swagger/assets/swagger-ui.css",
        swagger_favicon_url="/swagger/assets/favicon-32x32.png",
    )


@router.get("/swagger/assets/{name}")
async def swagger_asset(name: str) -> FileResponse:
    if name not in SERVED:
        raise NotFound(f"No such asset: {name}")
    return FileResponse(ASSETS / name)
