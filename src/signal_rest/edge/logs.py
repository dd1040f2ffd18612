"""Log lines a person can use: time, level, logger and the request id, as text or JSON.

    configure("info", "json")     # once, from `signal_rest.cli.run`

    2026-11-29T07:14:02.315Z INFO signal_rest.access [4f1c0a9e2b7d6e53] POST /v2/send 201 12.4 ms

`REQUEST_ID` holds the id of the request being served (set by the edge, `edge.stack`); the
handler's `RequestIdFilter` copies it onto every record. Logs carry sizes, kinds and ids, never
message texts or query strings.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "ACCESS",
    "REQUEST_ID",
    "JsonFormatter",
    "RequestIdFilter",
    "TextFormatter",
    "UvicornFilter",
    "configure",
    "level_name",
    "log_unexpected",
    "printable",
    "quiet_uvicorn",
    "set_level",
]

REQUEST_ID: ContextVar[str | None] = ContextVar("signal_rest_request_id", default=None)
ACCESS = logging.getLogger("signal_rest.access")
# The service's own loggers. The run-time level (set_level) applies to them only: at debug
# level other libraries (websockets, httpcore) would log handshakes and payloads.
SERVICE = logging.getLogger("signal_rest")

# Fields an access line carries besides its message (`extra=` of the log call).
FIELDS = ("method", "path", "status", "duration_ms", "close_code")
_LOGGED = "_signal_rest_logged"

# uvicorn lines that the access log replaces, or that would print what must not be printed:
# its websocket lines show query strings (tokens), and the websockets library it hands its
# logger to prints the handshake (headers, tokens) and every frame (message texts) at debug
# level, each line starting with "< ", "> " or "= ".
_UVICORN_NOISE = frozenset(
    {
        '%s - "WebSocket %s" [accepted]',
        '%s - "WebSocket %s" 403',
        '%s - "WebSocket %s" %d',
    }
)
_WEBSOCKETS_TRACE = ("< ", "> ", "= ")


class RequestIdFilter(logging.Filter):
    """Gives every record a `request_id`: its own (`extra=`), else the current request's."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = REQUEST_ID.get()
        return True


class UvicornFilter(logging.Filter):
    """Drops uvicorn's lines that the edge's access log replaces or that would leak texts, and
    its second traceback of an error the 500 handler already logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg in _UVICORN_NOISE:
            return False
        if record.levelno == logging.DEBUG and str(record.msg).startswith(_WEBSOCKETS_TRACE):
            return False
        exc = record.exc_info[1] if record.exc_info else None
        return not getattr(exc, _LOGGED, False)


def _time(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TextFormatter(logging.Formatter):
    """`<time> <LEVEL> <logger> [<request id>] <message>`, the traceback below."""

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        where = f" [{request_id}]" if request_id else ""
        line = f"{_time(record)} {record.levelname} {record.name}{where} {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id, the access fields
    present, and `exception` (the traceback) where there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def printable(text: str) -> str:
    """`text` with control characters escaped: a %0A in a URL must not start a fake log line."""
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def quiet_uvicorn() -> None:
    """Install `UvicornFilter` on uvicorn's error logger (once)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, UvicornFilter) for f in logger.filters):
        logger.addFilter(UvicornFilter())


def configure(level: str, log_format: str) -> None:
    """Send every log line to stderr in `log_format` ("text" or "json") from `level` up."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    SERVICE.setLevel(logging.NOTSET)  # what set_level changed follows the root again
    quiet_uvicorn()


# The Go project's level names (logrus), and the logging levels they stand for.
LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}


def level_name() -> str:
    """The level the service logs from now, by its Go name."""
    level = SERVICE.getEffectiveLevel()
    return next((name for name, value in LEVELS.items() if value >= level), "error")


def set_level(name: str) -> None:
    """Log from level `name` (one of LEVELS) on, from now on; KeyError for another name."""
    SERVICE.setLevel(LEVELS[name])


def log_unexpected(
    logger: logging.Logger, exc: BaseException, request_id: str, message: str, *args: object
) -> None:
    """Log `exc` with its traceback under `request_id`, once: uvicorn's copy is dropped."""
    logger.error(message, *args, exc_info=exc, extra={"request_id": request_id})
    with contextlib.suppress(AttributeError):  # an exception type without a __dict__
        setattr(exc, _LOGGED, True)
