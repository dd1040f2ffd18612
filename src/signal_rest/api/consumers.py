"""`/v1/consumers`: the named consumers of the inbox, where each stands, and forgetting one.

Each row is one consumer on one account (`"*"`: a consumer of every account, such as an SSE
stream without `?account=`). `lag` is how many stored messages it has not had yet; `stale` says it
was not seen for `consumer_expiry_hours` and no longer holds messages back. A token limited to
some accounts sees and forgets only consumers of those accounts.
"""

from __future__ import annotations

import datetime

from fastapi import APIRouter, Request, Response
from typing_extensions import TypedDict

from signal_rest.api.deps import BackendDep
from signal_rest.api.schemas import empty, errors, ok
from signal_rest.auth.guard import allowed_accounts
from signal_rest.domain.consumers import consumer_name
from signal_rest.errors import NotFound

__all__ = ["router"]

router = APIRouter(tags=["Consumers"])


class ConsumerInfo(TypedDict):
    name: str
    account: str
    kind: str
    position: int
    lag: int
    last_seen: str
    stale: bool
    connected: bool


def _iso(epoch: float) -> str:
    moment = datetime.datetime.fromtimestamp(epoch, datetime.UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


@router.get(
    "/v1/consumers",
    summary="List the named consumers of the inbox",
    description="Each named consumer per account: its position (the id of the last message it "
    "is done with), its lag, when it was last seen, whether it is stale or connected now.",
    response_model=None,
    responses=ok(list[ConsumerInfo]),
)
async def list_consumers(request: Request, backend: BackendDep) -> list[ConsumerInfo]:
    allowed = allowed_accounts(request)
    expiry = backend.settings.consumer_expiry_hours * 3600
    return [
        ConsumerInfo(
            name=state.name,
            account=state.account,
            kind=state.kind,
            position=state.position,
            lag=state.lag,
            last_seen=_iso(state.seen_at),
            stale=state.stale,
            connected=state.connected,
        )
        for state in await backend.inbox.consumers.states(stale_after=expiry)
        if allowed is None or state.account in allowed
    ]


@router.delete(
    "/v1/consumers/{name}",
    summary="Forget a named consumer",
    description="It no longer holds messages back; if it comes again, it starts anew.",
    status_code=204,
    response_class=Response,
    responses=empty(204, "Forgotten") | errors(400, 404),
)
async def forget_consumer(name: str, request: Request, backend: BackendDep) -> Response:
    name = consumer_name(name) or name
    if not await backend.inbox.consumers.forget(name, allowed_accounts(request)):
        raise NotFound(f"there is no consumer named {name!r}")
    return Response(status_code=204)
