"""signal-cli's own HTTP JSON-RPC endpoint (`daemon --http`), passed through to our connection.

    answer = await passthrough.rpc(backend.rpc, body, timeout=30)   # None: 201, no body
    if answer is not None: Response(answer, media_type="application/json")

The body is read as signal-cli's HTTP daemon reads it: the first JSON value (trailing text is
ignored), one request object or a batch array. Framing and request-mapping errors are answered
here with the texts signal-cli gives (Jackson's, from jsonrpc.jackson); every well-formed request
goes over the shared multiplexed connection under an id of ours (RpcClient.exchange) and its
answer comes back, result or error, exactly as the daemon wrote it, with the caller's id.

A request without an id (a notification) is still sent with one of ours, so it is bounded by our
timeout like every call; its answer is dropped, as signal-cli's HTTP daemon drops it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from signal_rest.jsonrpc.client import RpcClient
from signal_rest.jsonrpc.jackson import (
    JacksonParseError,
    java_string,
    json_type_name,
    parse_line,
    request_error,
)

__all__ = ["HTTP_ONLY_UNAVAILABLE", "encode", "rpc"]

# signal-cli's HTTP daemon has no way to push to a caller: these answer "Method not implemented".
HTTP_ONLY_UNAVAILABLE = frozenset({"subscribeReceive", "unsubscribeReceive", "subscribeCallEvents"})

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
_ABSENT = object()


def _error(request_id: Any, code: int, message: str) -> dict[str, Any]:
    rid = None if request_id is _ABSENT else request_id
    return {"jsonrpc": "2.0", "error": {"code": code, "message": message, "data": None}, "id": rid}


def encode(answer: Any) -> bytes:
    """As Jackson writes it: compact, UTF-8, keys in the order they came."""
    return json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()


def _parse(body: bytes) -> tuple[Any, dict[str, Any] | None]:
    """The first JSON value of the body, or the error answered for a body that holds none."""
    text = body.decode("utf-8", "replace")
    if not text.strip(" \t\r\n"):
        return None, _error(_ABSENT, INVALID_REQUEST, "unexpected type: MISSING")
    try:
        return parse_line(text), None
    except JacksonParseError as exc:
        return None, _error(_ABSENT, PARSE_ERROR, str(exc))
    except RecursionError:  # nested deeper than Jackson's limit (1000) too
        return None, _error(_ABSENT, PARSE_ERROR, "Document nesting depth exceeds the maximum")


def _check(entry: Any) -> dict[str, Any] | None:
    """The error signal-cli answers for a value that does not map onto its request class."""
    refused = request_error(entry)
    return None if refused is None else _error(refused[0], INVALID_REQUEST, refused[1])


async def _one(client: RpcClient, entry: dict[str, Any], timeout: float) -> dict[str, Any] | None:
    """The answer to one well-formed request; None for a notification."""
    request: dict[str, Any] = {"jsonrpc": "2.0", "method": java_string(entry["method"])}
    if entry.get("params") is not None:
        request["params"] = entry["params"]
    if "id" in entry:
        request["id"] = entry["id"]
    if request["method"] in HTTP_ONLY_UNAVAILABLE:
        answer = _error(entry.get("id", _ABSENT), METHOD_NOT_FOUND, "Method not implemented")
    else:
        answer = await client.exchange(request, timeout=timeout)
    return answer if "id" in entry else None


async def _entry(client: RpcClient, entry: Any, timeout: float) -> dict[str, Any] | None:
    refused = _check(entry)
    if refused is not None:
        return refused
    return await _one(client, entry, timeout)


async def rpc(client: RpcClient, body: bytes, *, timeout: float) -> bytes | None:
    """signal-cli's HTTP answer to `body`: JSON bytes, or None when there is none (201).

    Raises DaemonUnavailable / RpcTimeout (from the client) when the daemon does not answer;
    in a batch, one such entry fails the whole batch.
    """
    value, unparsable = _parse(body)
    if unparsable is not None:
        return encode(unparsable)
    if isinstance(value, list):
        if not value:
            return encode(_error(_ABSENT, INVALID_REQUEST, "invalid request"))
        answers = await asyncio.gather(*(_entry(client, entry, timeout) for entry in value))
        kept = [answer for answer in answers if answer is not None]
        return encode(kept) if kept else None
    if not isinstance(value, dict):
        message = f"unexpected type: {json_type_name(value)}"
        return encode(_error(_ABSENT, INVALID_REQUEST, message))
    answer = await _entry(client, value, timeout)
    return None if answer is None else encode(answer)
