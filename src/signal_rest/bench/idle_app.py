"""The idle-memory figure's reference: a hello-world FastAPI app under uvicorn, nothing else.

    python -m signal_rest.bench.idle_app PORT

uvicorn with its defaults (it picks httptools and uvloop where they are installed).
"""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI

__all__ = ["app", "main"]

app = FastAPI()


@app.get("/")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


def main() -> None:
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")


if __name__ == "__main__":
    main()
