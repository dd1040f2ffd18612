"""Server protocols: what uvicorn runs below the ASGI app."""
