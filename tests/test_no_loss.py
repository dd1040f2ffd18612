"""No message lost by any consumer while signal-rest is killed with SIGKILL and restarted, twice.

signal-rest runs as `signal-rest serve` in a child process, in front of the sandbox run on its
own (as a user's signal-cli daemon would be), so outside users keep sending while it is dead.
Every kind of named consumer reads the account meanwhile (websockets with and without acks, a
poller with acks, an event stream that resumes with Last-Event-ID), reconnecting as real clients
do, and each must end with all 1,000 messages, in order per sender.

Each kill comes once the inbox has committed what the sandbox handed over: signal-cli's
protocol has no acknowledgement, so a kill in the instant between its write and the commit loses
that message (the README says so); that window is not what this test is about. The consumers
are mid-delivery at each kill.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import connect

from tests.support.standalone import SandboxProcess, ServiceProcess, serving
from tests.support.waiting import wait_until
from tests.support.webhook_target import WebhookTarget

ACCOUNT = "+4915100000001"
SENDERS = [f"+4915100000{n}" for n in (101, 102, 103, 104)]
TOTAL = 1000
# Seconds to wait for each step: 1,000 messages through two kills, on 2 busy cores.
WAIT = 120.0
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"no message is lost, ever.").decode()
# Messages sent before the first kill, before the second, and after it.
BATCHES = (300, 300, 400)

pytestmark = pytest.mark.timeout(300)


class Consumer(threading.Thread):
    """A client that keeps reading, reconnecting whenever the service is away. It records each
    message it handles: with acks it skips ids it has handled (effectively once), without them
    it records every copy."""

    def __init__(self, name: str, service: ServiceProcess) -> None:
        super().__init__(name=name, daemon=True)
        self.consumer = name
        self.service = service
        self.handled: list[tuple[int | None, str]] = []  # (id, text) in handling order
        self.copies = 0
        self.stop = threading.Event()
        self.failures: list[BaseException] = []
        self.limit = TOTAL  # handles no more messages than this, until it is raised
        self.turn = threading.Condition()

    def texts(self) -> list[str]:
        return [text for _, text in self.handled]

    def count(self) -> int:
        return len({text for _, text in self.handled})

    def done(self) -> bool:
        return self.count() >= TOTAL

    def hold_at(self, limit: int) -> None:
        with self.turn:
            self.limit = limit
            self.turn.notify_all()

    def handle(self, message: dict[str, Any]) -> int | None:
        """Record a message; returns its id when it was new (to ack), else None."""
        with self.turn:
            while self.count() >= self.limit and not self.stop.is_set():
                self.turn.wait(0.1)
        self.copies += 1
        text = message["envelope"]["dataMessage"]["message"]
        message_id: int | None = message.get("id")
        if message_id is not None and self.handled and message_id <= (self.handled[-1][0] or 0):
            # Already handled: its id must still name the same message.
            assert (message_id, text) in self.handled, (message_id, text)
            return message_id
        self.handled.append((message_id, text))
        return message_id

    def run(self) -> None:
        while not self.stop.is_set() and not self.done():
            try:
                self.session()
            except (OSError, ConnectionClosed, InvalidHandshake, httpx.HTTPError):
                time.sleep(0.05)  # the service is away: try again
            except BaseException as exc:
                self.failures.append(exc)
                return

    def session(self) -> None:
        raise NotImplementedError


class WebsocketConsumer(Consumer):
    def __init__(self, name: str, service: ServiceProcess, *, acks: bool) -> None:
        super().__init__(name, service)
        self.acks = acks

    def session(self) -> None:
        query = f"consumer={self.consumer}" + ("&ack=true" if self.acks else "")
        url = f"ws://127.0.0.1:{self.service.port}/v1/receive/{ACCOUNT}?{query}"
        try:
            with connect(url, open_timeout=5) as ws:
                while not self.stop.is_set() and not self.done():
                    with contextlib.suppress(TimeoutError):
                        message = json.loads(ws.recv(timeout=0.5))
                        handled = self.handle(message)
                        if self.acks and handled is not None:
                            ws.send(json.dumps({"ack": handled}))
        except InvalidStatus as exc:
            if exc.response.status_code < 500:
                raise AssertionError(f"refused: {exc.response.status_code}") from exc
            raise OSError("the service is not ready") from exc


class Poller(Consumer):
    """Polls with acks: each poll acks what the last one brought."""

    def session(self) -> None:
        acked: int | None = None
        with httpx.Client(base_url=self.service.url, timeout=10) as client:
            while not self.stop.is_set() and not self.done():
                params = {"consumer": self.consumer, "ack": "true", "timeout": "1"}
                if acked is not None:
                    params["acked"] = str(acked)
                response = client.get(f"/v1/receive/{ACCOUNT}", params=params)
                if response.status_code >= 500:
                    raise OSError(response.text)
                assert response.status_code == 200, response.text
                for message in response.json():
                    acked = self.handle(message) or acked


class EventStreamConsumer(Consumer):
    """`GET /api/v1/events` as a named consumer, reconnecting with `Last-Event-ID` as a
    browser's EventSource does. Every copy it gets is recorded: it must get none twice."""

    last_id: int | None = None

    def session(self) -> None:
        headers = {} if self.last_id is None else {"Last-Event-ID": str(self.last_id)}
        params = {"consumer": self.consumer, "account": ACCOUNT}
        # Reads wait past the 15 s between keep-alives; a killed service fails them at once.
        with (
            httpx.Client(base_url=self.service.url, timeout=httpx.Timeout(5, read=30)) as client,
            client.stream("GET", "/api/v1/events", params=params, headers=headers) as response,
        ):
            if response.status_code >= 500:
                raise OSError(response.read())
            assert response.status_code == 200, response.read()
            rest, lines = b"", []
            for chunk in response.iter_raw():
                rest += chunk
                while b"\n" in rest and not self.stop.is_set():
                    line, _, rest = rest.partition(b"\n")
                    if line.startswith(b":"):
                        continue  # a keep-alive
                    if line:
                        lines.append(line)
                        continue
                    fields = dict(field.split(b":", 1) for field in lines)
                    lines = []
                    message_id = int(fields[b"id"])
                    self.handle(json.loads(fields[b"data"]))
                    self.last_id = message_id
                if self.stop.is_set() or self.done():
                    return


class WebhookConsumer(Consumer):
    """The webhook target: each request is checked with a Standard Webhooks verifier and
    handled once per `webhook-id` (a retry of a message it took carries the same id)."""

    def __init__(self, name: str, service: ServiceProcess, target: WebhookTarget) -> None:
        super().__init__(name, service)
        self.seen: set[str] = set()
        self.invalid: list[bytes] = []
        self.one_at_a_time = threading.Lock()
        target.answer_request = self.take

    def take(self, body: bytes, headers: dict[str, str]) -> int:
        try:
            Webhook(WEBHOOK_SECRET).verify(body, headers)
        except Exception:
            self.invalid.append(body)
            return 400
        notification = json.loads(body)
        assert (notification["jsonrpc"], notification["method"]) == ("2.0", "receive")
        # One at a time: a retry may come (from the restarted service) while the first copy
        # is still being handled (held, for the kill).
        with self.one_at_a_time:
            if headers["webhook-id"] not in self.seen:
                self.handle(notification["params"])
                self.seen.add(headers["webhook-id"])
        return 204

    def run(self) -> None:
        self.stop.wait()  # the target's threads do the work


def sandbox_send(sandbox: SandboxProcess, count: int, start: int) -> None:
    """`count` messages from the outside users in turn, numbered per sender."""
    for n in range(start, start + count):
        sender = SENDERS[n % len(SENDERS)]
        text = f"{sender}#{n // len(SENDERS):04d}"
        sandbox.call("sandbox.send", {"from": sender, "recipient": [ACCOUNT], "message": text})


def expected_texts() -> list[str]:
    return [f"{SENDERS[n % len(SENDERS)]}#{n // len(SENDERS):04d}" for n in range(TOTAL)]


@pytest.fixture
def target() -> Iterator[WebhookTarget]:
    with WebhookTarget() as target:
        yield target


@pytest.fixture
def world(tmp_path: Path, target: WebhookTarget) -> Iterator[tuple[SandboxProcess, ServiceProcess]]:
    sandbox = SandboxProcess(tmp_path / "sandbox")
    service = ServiceProcess(
        tmp_path / "service",
        sandbox.socket,
        receive_webhook_url=target.url,
        webhook_secret=WEBHOOK_SECRET,
        webhook_max_backoff_seconds="1",
    )
    with serving(sandbox, service, ACCOUNT) as started:
        yield started


def test_every_consumer_gets_all_messages_across_two_kills(
    world: tuple[SandboxProcess, ServiceProcess], target: WebhookTarget
) -> None:
    sandbox, service = world
    webhook = WebhookConsumer("webhook", service, target)
    consumers: list[Consumer] = [
        WebsocketConsumer("ws-acks", service, acks=True),
        WebsocketConsumer("ws-pongs", service, acks=False),
        Poller("poller", service),
        EventStreamConsumer("sse", service),
        webhook,
    ]
    for consumer in consumers:
        # Known before the first message, so each starts at the beginning (a webhook starts
        # with what no unnamed client took: everything here).
        if isinstance(consumer, WebhookConsumer):
            pass
        elif isinstance(consumer, EventStreamConsumer):
            params = {"consumer": consumer.consumer, "account": ACCOUNT}
            with httpx.stream("GET", f"{service.url}/api/v1/events", params=params) as response:
                assert response.status_code == 200
        else:
            response = httpx.get(
                f"{service.url}/v1/receive/{ACCOUNT}",
                params={"consumer": consumer.consumer, "timeout": "0", "max_messages": "1"},
            )
            assert (response.status_code, response.json()) == (200, [])
        consumer.start()

    sent = 0
    for batch, count in enumerate(BATCHES):
        last = batch == len(BATCHES) - 1
        for consumer in consumers:
            # Mid-delivery at the kill: each has handled all but the last 50 sent.
            consumer.hold_at(TOTAL if last else sent + count - 50)
        sandbox_send(sandbox, count, sent)
        sent += count
        if not last:
            wait_until(
                lambda n=sent: service.stored(ACCOUNT) == n, f"{sent} messages in the inbox", 120
            )
            for consumer in consumers:
                wait_until(
                    lambda c=consumer: c.count() == c.limit, f"{consumer.consumer} to hold", 120
                )
            service.kill()
            service.start()

    for consumer in consumers:
        wait_until(consumer.done, f"{consumer.consumer} to have every message", WAIT)
        consumer.stop.set()
    for consumer in consumers:
        consumer.join(10)
        assert consumer.failures == []
        texts = consumer.texts()
        unique = list(dict.fromkeys(texts))
        # Every message, each sender's in the order sent.
        assert sorted(unique) == sorted(expected_texts()), consumer.consumer
        for sender in SENDERS:
            mine = [t for t in unique if t.startswith(sender)]
            assert mine == sorted(mine), (consumer.consumer, sender)
        if isinstance(consumer, Poller | EventStreamConsumer | WebhookConsumer) or getattr(
            consumer, "acks", False
        ):
            assert texts == unique, f"{consumer.consumer} handled a message twice"
    assert webhook.invalid == []
