"""How signal-rest speaks HTTP and websockets below the ASGI app (uvicorn protocol classes)."""
