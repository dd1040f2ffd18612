"""How the running service reads the token file: once per turn of its event loop, so that a
change reaches the next request and a busy service does not look at the file per request."""

from __future__ import annotations

import asyncio
from pathlib import Path

from signal_rest.auth.tokens import TOKEN_FILE, TokenFile, TokenSet, TokenStore, new_token


def add_token(path: Path, name: str) -> TokenSet:
    _secret, record = new_token(name, scopes=("send",))
    return TokenFile(path).update(lambda tokens: TokenSet((*tokens.tokens, record)))


async def test_a_change_to_the_file_counts_from_the_event_loops_next_turn(tmp_path: Path) -> None:
    path = tmp_path / TOKEN_FILE
    store = TokenStore(path)
    assert store.current() is None
    created = add_token(path, "admin")
    assert store.current() is None  # the same turn: what its first look found
    await asyncio.sleep(0)
    assert store.current() == created
    added = add_token(path, "reader")
    path.unlink()
    assert store.current() == created
    await asyncio.sleep(0)
    assert store.current() is None
    TokenFile(path).update(lambda _: added)
    await asyncio.sleep(0)
    assert store.current() == added


async def test_a_request_task_started_after_the_change_sees_it(tmp_path: Path) -> None:
    # As the server runs each request: a task of its own, created once its bytes are read.
    path = tmp_path / TOKEN_FILE
    store = TokenStore(path)
    assert store.current() is None
    created = add_token(path, "admin")
    request = asyncio.create_task(_check(store))  # its bytes came after the change
    assert store.current() is None  # still the turn that looked before it
    assert await request == created


async def _check(store: TokenStore) -> TokenSet | None:
    return store.current()


def test_outside_an_event_loop_every_call_reads_the_file(tmp_path: Path) -> None:
    path = tmp_path / TOKEN_FILE
    store = TokenStore(path)
    assert store.current() is None
    created = add_token(path, "admin")
    assert store.current() == created
    path.unlink()
    assert store.current() is None
