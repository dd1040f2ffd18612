"""The JSON response every route answers with: Starlette's, written by jsoncodec (orjson)."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse as _StarletteJSONResponse

from signal_rest import jsoncodec

__all__ = ["JSONResponse"]


class JSONResponse(_StarletteJSONResponse):
    """Compact UTF-8 JSON, as Starlette writes it, several times faster."""

    def render(self, content: Any) -> bytes:
        return jsoncodec.dumps(content)
