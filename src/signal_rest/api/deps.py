"""What route handlers share: the backend, the account number from the path, the body limit."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from signal_rest.backend import Backend
from signal_rest.domain.recipients import number_from_path

__all__ = ["BackendDep", "account", "get_backend"]


def get_backend(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


BackendDep = Annotated[Backend, Depends(get_backend)]


def account(number: str) -> str:
    """The account number of a path, percent-decoded once more like the Go project does."""
    return number_from_path(number)
