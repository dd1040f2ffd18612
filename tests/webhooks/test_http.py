"""The webhook lanes' own HTTP/1.1 connection, against small real servers that misbehave on cue."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from signal_rest.webhooks.http import ANSWER_LIMIT, Answer, Poster, PostFailed

OK = b"HTTP/1.1 204 No Content\r\n\r\n"


@dataclass
class Target:
    port: int
    connections: list[int]  # requests per connection, in the order they were opened

    def poster(self) -> Poster:
        return Poster(f"http://127.0.0.1:{self.port}/hook?x=1", user_agent="test")


@asynccontextmanager
async def server(
    answer: Callable[[int, bytes], bytes | None], *, close_after: int = 0
) -> AsyncIterator[Target]:
    """A server that reads each request whole and writes `answer(connection number, request)`
    (None: closes the connection without a word); with `close_after`, it closes each connection
    after answering that many requests."""
    connections: list[int] = []
    handlers: list[asyncio.Task[None]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = len(connections)
        connections.append(0)
        try:
            while connections[number] != close_after or not close_after:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                request = head + await reader.readexactly(length)
                connections[number] += 1
                reply = answer(number, request)
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def start(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.append(asyncio.ensure_future(handle(reader, writer)))

    listening = await asyncio.start_server(start, "127.0.0.1", 0)
    try:
        yield Target(listening.sockets[0].getsockname()[1], connections)
    finally:
        listening.close()
        for handler in handlers:
            handler.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await listening.wait_closed()


async def test_posts_go_over_one_kept_alive_connection() -> None:
    seen: list[bytes] = []

    def answer(_: int, request: bytes) -> bytes:
        seen.append(request)
        return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nRetry-After: 3\r\n\r\nok"

    async with server(answer) as target:
        client = target.poster()
        for n in range(3):
            assert await client.post(b'{"n":%d}' % n, {"Content-Type": "application/json"}) == (
                Answer(200, {"content-length": "2", "retry-after": "3"})
            )
        client.close()
    assert target.connections == [3]
    assert seen[0].startswith(b"POST /hook?x=1 HTTP/1.1\r\n")
    assert b"\r\ncontent-type: application/json\r\n" in seen[0].lower()
    assert seen[2].endswith(b'\r\n\r\n{"n":2}')


async def test_a_new_connection_ending_without_an_answer_fails_and_the_next_post_opens_one() -> (
    None
):
    async with server(lambda number, _: OK if number else None) as target:
        client = target.poster()
        # A connection of its own that ends without an answer: not sent again.
        with pytest.raises(PostFailed):
            await client.post(b"{}", {})
        assert await client.post(b"{}", {}) == Answer(204, {})
        client.close()
        assert target.connections == [1, 1]


async def test_a_kept_connection_the_target_closed_is_replaced_and_the_post_sent_again() -> None:
    async with server(lambda *_: OK, close_after=1) as target:
        client = target.poster()
        assert await client.post(b"{}", {}) == Answer(204, {})
        # The target closed that connection after answering: the next post finds it gone.
        assert await client.post(b"{}", {}) == Answer(204, {})
        client.close()
        assert target.connections == [1, 1]


async def test_a_long_answer_is_cut_short_and_the_connection_dropped() -> None:
    long = b"x" * (ANSWER_LIMIT + 10)
    reply = b"HTTP/1.1 500 Oops\r\nContent-Length: %d\r\n\r\n" % len(long) + long
    async with server(lambda *_: reply) as target:
        client = target.poster()
        assert (await client.post(b"{}", {})).status == 500
        assert client._writer is None
        assert (await client.post(b"{}", {})).status == 500
        assert target.connections == [1, 1]


async def test_an_answer_that_is_not_http_fails() -> None:
    async with server(lambda *_: b"SMTP ready\r\n\r\n") as target:
        with pytest.raises(PostFailed, match=r"not HTTP/1\.1"):
            await target.poster().post(b"{}", {})


async def test_a_timeout_drops_the_connection() -> None:
    async with server(lambda *_: b"") as target:  # never answers
        client = target.poster()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await client.post(b"{}", {})
        assert client._writer is None


@pytest.mark.parametrize(
    ("url", "env", "suits"),
    [
        ("http://127.0.0.1:8123/hook", {}, True),
        ("https://example.org/hook", {}, False),
        ("http://user:pw@example.org/hook", {}, False),
        ("http://example.org/hook", {"HTTP_PROXY": "http://proxy:3128"}, False),
        ("http://example.org/hook", {"ALL_PROXY": "http://proxy:3128"}, False),
        (
            "http://ha.local/hook",
            {"HTTP_PROXY": "http://proxy:3128", "NO_PROXY": "ha.local"},
            True,
        ),
    ],
)
def test_plain_http_without_a_proxy_suits(
    monkeypatch: pytest.MonkeyPatch, url: str, env: dict[str, str], suits: bool
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert Poster.suits(url) is suits
