"""What route handlers share: the backend, the account number from the path, the body limit."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from signal_rest.backend import Backend
from signal_rest.domain.recipients import number_from_path
from signal_rest.errors import ValidationError

__all__ = ["BackendDep", "account", "get_backend", "query_flag"]


async def get_backend(request: Request) -> Backend:
    # async: FastAPI runs a plain `def` dependency in its thread pool, on every request.
    backend: Backend = request.app.state.backend
    return backend


BackendDep = Annotated[Backend, Depends(get_backend)]


def account(number: str) -> str:
    """The account number of a path, percent-decoded once more like the Go project does."""
    return number_from_path(number)


def query_flag(request: Request, name: str) -> bool:
    """A boolean query parameter: absent or exactly `false`/`true`, as the Go project takes it."""
    value = request.query_params.get(name)
    if value is None or value == "false":
        return False
    if value == "true":
        return True
    raise ValidationError(
        f"Couldn't process request - {name} parameter needs to be either 'true' or 'false'"
    )
