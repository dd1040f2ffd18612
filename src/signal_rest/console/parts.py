"""The console's live parts: HTML the page's script fetches and puts in place (admin scope).

They read and never take: the inbox depth comes from the store's count of what waits, not from
receiving, and an outside user's messages from the sandbox's record of their phone.
"""

from __future__ import annotations

import base64
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from signal_rest import __version__
from signal_rest.api.deps import BackendDep
from signal_rest.auth.guard import token_of
from signal_rest.backend import Backend
from signal_rest.console.render import Markup, html_response, join, render
from signal_rest.domain.qrcodes import qr_png
from signal_rest.errors import NotFound, RpcTimeout, SignalApiError, ValidationError
from signal_rest.services.linking import start_link

__all__ = ["router"]

router = APIRouter(prefix="/console/parts", include_in_schema=False)

HEALTH_TIMEOUT = 5.0
# The chat shows an outside user's latest envelopes, not years of them.
CHAT_LATEST = 100


def _when(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))


def _backend_text(backend: Backend) -> str:
    if backend.is_sandbox:
        return "sandbox: the simulated Signal network, in this process"
    if backend.supervisor is not None:
        socket = backend.supervisor.options.socket_path
        return f"signal-cli daemon started and supervised by signal-rest (unix://{socket})"
    return f"signal-cli daemon at {backend.settings.signal_cli_url}"


def _timeout(backend: Backend) -> float:
    # A stuck daemon must not hold the page's refresh for the whole RPC timeout.
    return min(HEALTH_TIMEOUT, backend.settings.rpc_timeout)


async def _health(backend: Backend) -> tuple[str, str, str]:
    """(health text, its CSS class, signal-cli's version) from one `version` call."""
    timeout = _timeout(backend)
    try:
        result = await backend.rpc.call("version", timeout=timeout)
    except RpcTimeout:
        return f"signal-cli did not answer within {timeout:g} s", "problem", "unknown"
    except SignalApiError as exc:
        return exc.message, "problem", "unknown"
    version = result.get("version") if isinstance(result, dict) else None
    return "ok: signal-cli answers", "ok", str(version or "unknown")


async def _accounts(request: Request, backend: Backend) -> tuple[Markup, list[str]]:
    try:
        listed = await backend.accounts.listed(timeout=_timeout(backend))
    except SignalApiError as exc:
        return render("problem.html", text=f"Couldn't list the accounts: {exc.message}"), []
    token = token_of(request)
    numbers = [n for n in listed if token is None or token.may_act_for(n)]
    if not numbers:
        text = "No accounts yet: register one (POST /v1/register/{number}) or link a phone."
        return render("note.html", text=text), []
    backlog = await backend.inbox.store.backlog()
    depths = {account: depth for account, depth, _oldest in backlog}
    oldest = {account: since for account, _depth, since in backlog}
    rows = [
        render(
            "account.html",
            number=number,
            depth=depths.get(number, 0),
            oldest=_when(oldest.get(number)),
        )
        for number in numbers
    ]
    return render("accounts.html", rows=join(rows)), numbers


@router.get("/status")
async def status(request: Request, backend: BackendDep) -> HTMLResponse:
    health, health_class, signal_cli_version = await _health(backend)
    accounts, numbers = await _accounts(request, backend)
    targets = join([render("option.html", value=number) for number in numbers])
    page = render(
        "status.html",
        health=health,
        health_class=health_class,
        backend=_backend_text(backend),
        version=__version__,
        signal_cli_version=signal_cli_version,
        accounts=accounts,
        targets=targets,
    )
    return html_response(page)


@router.get("/link")
async def link(request: Request, backend: BackendDep) -> HTMLResponse:
    device_name = request.query_params.get("device_name", "").strip()
    if not device_name:
        raise ValidationError("Please provide a name for the device")
    uri = await start_link(backend, device_name)
    png = base64.b64encode(qr_png(uri)).decode("ascii")
    return html_response(render("link.html", uri=uri, png=png))


def _text(envelope: dict[str, Any]) -> str:
    data = envelope.get("dataMessage")
    if isinstance(data, dict):
        if isinstance(data.get("message"), str):
            return str(data["message"])
        for key, shown in (
            ("reaction", "[reaction]"),
            ("remoteDelete", "[deleted a message]"),
            ("sticker", "[sticker]"),
            ("attachments", "[attachment]"),
            ("groupInfo", "[group update]"),
        ):
            if data.get(key):
                return shown
        return "[message]"
    receipt = envelope.get("receiptMessage")
    if isinstance(receipt, dict):
        kinds = [kind for kind in ("Delivery", "Read", "Viewed") if receipt.get(f"is{kind}")]
        return f"[{(kinds or ['unknown'])[0].lower()} receipt]"
    for key in envelope:
        if key.endswith("Message"):
            return f"[{key.removesuffix('Message')}]"
    return "[envelope]"


def _message(envelope: dict[str, Any]) -> Markup:
    number = envelope.get("sourceNumber") or envelope.get("source") or envelope.get("sourceUuid")
    name = envelope.get("sourceName")
    source = f"{name} ({number})" if name else str(number)
    data = envelope.get("dataMessage")
    group_info = data.get("groupInfo") if isinstance(data, dict) else None
    group = f" · in group {group_info['groupId']}" if isinstance(group_info, dict) else ""
    timestamp = envelope.get("timestamp")
    when = _when(timestamp / 1000) if isinstance(timestamp, int) else "—"
    return render("message.html", source=source, when=when, group=group, text=_text(envelope))


@router.get("/chat")
async def chat(request: Request, backend: BackendDep) -> HTMLResponse:
    if not backend.is_sandbox:
        raise NotFound("The console's chat exists only when signal-rest runs with --sandbox")
    user = request.query_params.get("user", "").strip()
    if not user:
        raise ValidationError("Please provide the outside user's number in 'user'")
    received = await backend.rpc.call("sandbox.listReceived", {"number": user})
    envelopes = [m["envelope"] for m in received if isinstance(m, dict) and "envelope" in m]
    if not envelopes:
        return html_response(render("note.html", text=f"Nothing received by {user} yet."))
    items = join([_message(envelope) for envelope in envelopes[-CHAT_LATEST:]])
    return html_response(render("messages.html", items=items))
