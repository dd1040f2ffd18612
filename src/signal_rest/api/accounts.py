"""`/v1/accounts`."""

from __future__ import annotations

from fastapi import APIRouter, Request

from signal_rest.api.deps import BackendDep
from signal_rest.api.schemas import errors, ok
from signal_rest.auth.guard import token_of
from signal_rest.errors import InternalError, RpcError

router = APIRouter(tags=["Accounts"])


@router.get(
    "/v1/accounts",
    summary="List all accounts",
    response_model=None,
    responses=ok(list[str], description="The accounts' numbers") | errors(500, 503, 504),
)
async def list_accounts(request: Request, backend: BackendDep) -> list[str]:
    try:
        accounts = await backend.rpc.call("listAccounts")
    except RpcError as exc:
        raise InternalError(f"Couldn't get list of accounts: {exc.message}") from exc
    numbers = [str(a["number"]) for a in accounts if isinstance(a, dict) and a.get("number")]
    # A token for some accounts sees only those.
    token = token_of(request)
    return [n for n in numbers if token is None or token.may_act_for(n)]
