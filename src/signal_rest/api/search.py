"""`/v1/search[/{number}]?numbers=…`: which numbers are on Signal.

    GET /v1/search/+4915100000001?numbers=+4915100000002&numbers=+4915100000009
    → 200 [{"number": "+4915100000002", "registered": true},
           {"number": "+4915100000009", "registered": false}]

Each `numbers` value is one number (a comma list is one value, as in the Go project). An
account that turned off being found by number is reported as not registered, as Signal's
contact discovery does. Without an account in the path the search runs as the first account
the caller may act for; the Go project fails there in json-rpc mode.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from signal_rest.api.deps import BackendDep, account
from signal_rest.api.schemas import DAEMON, errors, ok
from signal_rest.auth.guard import require_account, token_of
from signal_rest.domain.search import SearchEntry
from signal_rest.errors import ValidationError
from signal_rest.services import search as service

__all__ = ["router"]

router = APIRouter(tags=["Search"])

NO_NUMBERS = "Please provide numbers to query for"
NO_ACCOUNT = "Couldn't process request - there is no account to search with; register one first"
Numbers = Annotated[
    list[str] | None, Query(description="A number to look up; repeat for more numbers")
]


def _numbers(numbers: list[str] | None) -> list[str]:
    if numbers is None:
        raise ValidationError(NO_NUMBERS)
    return numbers


@router.get(
    "/v1/search/{number}",
    summary="Check whether numbers are registered on Signal",
    response_model=None,
    responses=ok(list[SearchEntry]) | errors(*DAEMON),
)
async def search(number: str, backend: BackendDep, numbers: Numbers = None) -> list[SearchEntry]:
    return await service.search(backend, account(number), _numbers(numbers))


@router.get(
    "/v1/search",
    summary="Check whether numbers are registered on Signal, as any account",
    response_model=None,
    responses=ok(list[SearchEntry]) | errors(*DAEMON),
)
async def search_as_any(
    request: Request, backend: BackendDep, numbers: Numbers = None
) -> list[SearchEntry]:
    wanted = _numbers(numbers)
    token = token_of(request)
    usable = [n for n in await service.accounts(backend) if token is None or token.may_act_for(n)]
    if not usable:
        raise ValidationError(NO_ACCOUNT)
    require_account(request, usable[0])
    return await service.search(backend, usable[0], wanted)
