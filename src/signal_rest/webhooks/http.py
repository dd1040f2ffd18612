"""A lean HTTP/1.1 POST for one webhook lane: one keep-alive connection, h11 for the protocol.

    poster = Poster("http://ha.local:8123/api/webhook/x", user_agent="signal-rest/1.0")
    answer = await poster.post(body, {"Content-Type": "application/json", …})
    answer.status, answer.headers        # the body is read (up to ANSWER_LIMIT) and dropped
    poster.close()

A lane sends one request at a time, so a general client's pool and per-request machinery is
most of its cost (httpx manages about 1,200 POSTs/s here, this about 5,000). It serves plain
`http://` targets that no proxy applies to (`Poster.suits`); https and proxied targets go
through httpx, which knows their certificates and proxies. A connection the target closed while
idle is opened again and the request sent once more, if no answer had begun.
"""

from __future__ import annotations

import asyncio
import urllib.request
from typing import NamedTuple
from urllib.parse import urlsplit

import h11

__all__ = ["ANSWER_LIMIT", "Answer", "PostFailed", "Poster"]

# Bytes of a target's answer read (and dropped) so the connection can be reused; beyond them it
# is cut off (both ways of posting).
ANSWER_LIMIT = 64 * 1024
_READ = 64 * 1024


class Answer(NamedTuple):
    status: int
    headers: dict[str, str]  # names in lower case


class PostFailed(OSError):
    """The connection failed or the target broke the protocol."""


class Poster:
    def __init__(self, url: str, *, user_agent: str) -> None:
        parts = urlsplit(url)
        self._address = (parts.hostname or "", parts.port or 80)
        self._target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._fixed = [("Host", parts.netloc), ("User-Agent", user_agent)]
        self._conn: h11.Connection | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    @staticmethod
    def suits(url: str) -> bool:
        """Whether a target can be reached this way: plain http, no credentials in the URL,
        and no proxy configured for it (HTTP_PROXY/ALL_PROXY unless NO_PROXY exempts it)."""
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname or "@" in parts.netloc:
            return False
        proxies = urllib.request.getproxies_environment()
        if not ({"http", "all"} & proxies.keys()):
            return True
        return bool(urllib.request.proxy_bypass(parts.hostname))

    async def post(self, body: bytes, headers: dict[str, str]) -> Answer:
        """POST `body`; the target's answer. Raises PostFailed (or OSError) when it could not
        be sent or answered; cancelling it (a timeout) drops the connection."""
        try:
            reused = self._conn is not None
            try:
                return await self._exchange(body, headers)
            except _ClosedBeforeAnswer:
                if not reused:
                    raise PostFailed("the target closed the connection without an answer") from None
                self.close()  # closed while idle: once more on a new connection
                return await self._exchange(body, headers)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._conn = self._reader = self._writer = None

    async def _exchange(self, body: bytes, headers: dict[str, str]) -> Answer:
        if self._conn is None:
            self._reader, self._writer = await asyncio.open_connection(*self._address)
            self._conn = h11.Connection(h11.CLIENT)
        conn, reader, writer = self._conn, self._reader, self._writer
        assert reader is not None and writer is not None
        fields = [*self._fixed, *headers.items(), ("Content-Length", str(len(body)))]
        try:
            writer.write(
                conn.send(h11.Request(method="POST", target=self._target, headers=fields))
                + conn.send(h11.Data(data=body))
                + conn.send(h11.EndOfMessage())
            )
            await writer.drain()
        except (ConnectionError, h11.LocalProtocolError) as exc:
            raise _ClosedBeforeAnswer() from exc
        answer: Answer | None = None
        read = 0
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as exc:
                raise PostFailed(f"the target's answer is not HTTP/1.1: {exc}") from exc
            if event is h11.NEED_DATA:
                try:
                    data = await reader.read(_READ)
                except ConnectionError as exc:
                    if answer is None:
                        raise _ClosedBeforeAnswer() from exc
                    raise PostFailed(str(exc)) from exc
                if not data and answer is None:
                    raise _ClosedBeforeAnswer()
                conn.receive_data(data)
            elif isinstance(event, h11.Response):
                answer = Answer(
                    event.status_code,
                    {
                        name.decode().lower(): value.decode("latin-1")
                        for name, value in event.headers
                    },
                )
            elif isinstance(event, h11.Data):
                read += len(event.data)
                if read > ANSWER_LIMIT and answer is not None:
                    self.close()  # not worth reading on
                    return answer
            elif isinstance(event, h11.EndOfMessage) and answer is not None:
                if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
                    conn.start_next_cycle()
                else:
                    self.close()
                return answer
            elif isinstance(event, h11.ConnectionClosed):
                raise PostFailed("the target closed the connection mid-answer")


class _ClosedBeforeAnswer(PostFailed):
    """The connection ended before any of the answer came."""
