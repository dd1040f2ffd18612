"""The console at `/`: a small page to see the service work and, on the sandbox, to play an
outside Signal user, in a browser. No CDN, no build step.

    GET /                       the page (open: it shows nothing of the service's state)
    GET /console/console.js     its script and style (open)
    GET /console/parts/status   health, backend, versions, accounts, inbox depth (admin)
    GET /console/parts/link     a device-link QR code and its URI (admin)
    GET /console/parts/chat     what an outside user received, on the sandbox (admin)

The parts are HTML rendered here, every value escaped (`render.py`); the page's script fetches
them with the token the user gave it and sends messages through the API itself
(`POST /v1/sandbox/send`). The console never receives an account's messages: it would take
them from the service's real consumers.
"""

from signal_rest.console.pages import router as pages
from signal_rest.console.parts import router as parts

__all__ = ["pages", "parts"]
