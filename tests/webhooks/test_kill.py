"""A webhook loses nothing while signal-rest is killed with SIGKILL mid-retry, twice.

signal-rest runs as `signal-rest serve` in a child process in front of the sandbox run on its own
(as in tests/test_no_loss.py); the target refuses the messages from some point on at each kill,
so the lane is retrying when the process dies, and the retry schedule comes back from disk.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from tests.support.standalone import SandboxProcess, ServiceProcess
from tests.support.waiting import wait_until
from tests.support.webhook_target import WebhookTarget, delivered
from tests.test_no_loss import ACCOUNT, WAIT

SENDERS = ["+4915100000101", "+4915100000102"]
SECRET = "whsec_" + base64.b64encode(b"kill -9 test key, 32 bytes long.").decode()
BATCH = 100  # messages sent in each of the three rounds

pytestmark = pytest.mark.timeout(300)


def text(n: int) -> str:
    return f"{SENDERS[n % len(SENDERS)]}#{n:04d}"


def number(body: bytes) -> int:
    return int(json.loads(body)["params"]["envelope"]["dataMessage"]["message"].split("#")[1])


def refusing_from(limit: int | None) -> Callable[[bytes], int]:
    """A target's answer: 500 for message `limit` and later ones, 200 before (or always)."""

    def answer(body: bytes) -> int:
        return 500 if limit is not None and number(body) >= limit else 200

    return answer


def stored_all(service: ServiceProcess, count: int) -> None:
    wait_until(lambda: service.stored(ACCOUNT) == count, f"{count} messages in the inbox", WAIT)


def retrying(target: WebhookTarget, refused: int) -> None:
    """Wait until the lane has been refused message `refused` twice: it is mid-retry."""
    target.wait_for(
        lambda rs: sum(number(r.body) == refused for r in rs) >= 2, "the lane retrying", 60
    )


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[SandboxProcess, ServiceProcess, WebhookTarget]]:
    sandbox = SandboxProcess(tmp_path / "sandbox")
    target = WebhookTarget()
    settings = {
        "receive_webhook_url": target.url,
        "webhook_secret": SECRET,
        "webhook_max_backoff_seconds": "0.2",
    }
    service = ServiceProcess(tmp_path / "service", sandbox.socket, **settings)
    try:
        service.start()
        service.register(sandbox, ACCOUNT)
        yield sandbox, service, target
    finally:
        service.stop()
        sandbox.stop()
        target.stop()


def test_webhook_gets_every_message_in_order_across_two_kills_mid_retry(
    world: tuple[SandboxProcess, ServiceProcess, WebhookTarget],
) -> None:
    sandbox, service, target = world
    for turn in range(3):
        refuse_from = (turn + 1) * BATCH - 20 if turn < 2 else None
        target.answer = refusing_from(refuse_from)
        for n in range(turn * BATCH, (turn + 1) * BATCH):
            sandbox.call(
                "sandbox.send", {"from": SENDERS[n % 2], "recipient": [ACCOUNT], "message": text(n)}
            )
        if refuse_from is not None:
            stored_all(service, (turn + 1) * BATCH)
            retrying(target, refuse_from)
            service.kill()
            service.start()

    everything = 3 * BATCH
    requests = target.wait_for(
        lambda rs: len({number(r.body) for r in delivered(rs)}) >= everything,
        "every message delivered",
        timeout=120,
    )
    taken = delivered(requests)
    first_copies = list(dict.fromkeys(number(r.body) for r in taken))
    assert first_copies == list(range(everything))  # all, in the order sent
    verifier = Webhook(SECRET)
    ids: dict[int, str] = {}
    for request in requests:
        verifier.verify(request.body, request.headers)
        # Every copy and every attempt of a message carries that message's id.
        assert (
            ids.setdefault(number(request.body), request.headers["webhook-id"])
            == (request.headers["webhook-id"])
        )
    assert len(set(ids.values())) == everything
    # A kill may repeat what was delivered in the instant before it (acked positions are
    # stored per burst, behind the acks): a lane's read of 32 at the most.
    assert len(taken) - everything <= 2 * 32
