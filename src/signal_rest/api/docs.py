"""The API documentation at the Go project's paths: the Swagger UI at `/swagger/index.html`, its
files beside it (`/swagger/swagger-ui-bundle.js`, …) and the OpenAPI document at
`/swagger/doc.json`, also at the conventional `/openapi.json`.

Swagger UI 5 (it reads OpenAPI 3.1, which FastAPI writes) comes from the installed
fastapi-offline package, so the page needs nothing but this service: no CDN, works offline.
The page names its files and the document relatively, so it works behind a path prefix too.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from signal_rest.api.responses import JSONResponse
from signal_rest.errors import NotFound

__all__ = ["ASSETS", "router"]

router = APIRouter(include_in_schema=False)

# fastapi-offline keeps swagger-ui-dist's files in its package data (no public name for it).
ASSETS = Path(str(files("fastapi_offline") / "static"))
SERVED = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon.png")
_missing = [name for name in SERVED if not (ASSETS / name).is_file()]
if _missing:  # a layout change of fastapi-offline: say so at start, not as a blank page
    raise RuntimeError(f"Swagger UI files missing from {ASSETS}: {', '.join(_missing)}")

# What the page tells Swagger UI besides FastAPI's defaults: no badge asking
# validator.swagger.io about the document (the page stays on this service).
PARAMETERS = {"validatorUrl": None}


@router.get("/swagger")
@router.get("/swagger/")
async def swagger_root() -> RedirectResponse:
    return RedirectResponse("/swagger/index.html", status_code=301)


@router.get("/swagger/index.html")
async def swagger_ui() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="doc.json",
        title="signal-rest API",
        swagger_js_url="swagger-ui-bundle.js",
        swagger_css_url="swagger-ui.css",
        swagger_favicon_url="favicon.png",
        swagger_ui_parameters=PARAMETERS,
    )


@router.get("/swagger/doc.json")
@router.get("/openapi.json")
async def openapi_document(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/swagger/{name}")
async def swagger_asset(name: str) -> FileResponse:
    if name not in SERVED:
        raise NotFound(f"No such file of the API docs: {name}")
    return FileResponse(ASSETS / name)
