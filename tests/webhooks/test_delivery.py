"""Webhooks end to end: the service on the sandbox POSTs to a real local HTTP server that records
what it gets and answers 2xx, 500, or is not there at all."""

from __future__ import annotations

import base64
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from standardwebhooks import Webhook

from signal_rest.webhooks.dispatcher import Webhooks
from tests.support.flows import ALICE, BOB, receive_until, register
from tests.support.service import RunningService, start_service
from tests.support.shapes import received_text
from tests.support.webhook_target import Received, WebhookTarget, delivered

CAROL = "+4915100000003"  # an outside Signal user
SECRET = "whsec_" + base64.b64encode(b"signal-rest webhook test key 32b").decode()
# Retries within a tenth of a second, so the tests wait for outcomes, not for the schedule.
FAST = {"webhook_max_backoff_seconds": 0.1, "webhook_timeout_seconds": 5.0}


@pytest.fixture
def target() -> Iterator[WebhookTarget]:
    with WebhookTarget() as running:
        yield running


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Callable[..., RunningService]]:
    """Start the service on the sandbox with webhook settings; stopped after the test."""
    started: list[RunningService] = []

    def start(**settings: Any) -> RunningService:
        service = start_service(tmp_path / "data", **{**FAST, **settings})
        started.append(service)
        return service

    yield start
    for service in started:
        if service.thread.is_alive():
            service.stop()


def send_from_outside(service: RunningService, to: str, text: str) -> int:
    response = service.client.post(
        "/v1/sandbox/send", json={"from": CAROL, "recipients": [to], "message": text}
    )
    assert response.status_code == 201, response.text
    return int(response.json()["timestamp"])


def named_poll(service: RunningService, name: str) -> list[dict[str, Any]]:
    """What the named consumer `name` gets from ALICE's messages now (all of it: every message
    that is already stored, since `receive_until` has seen it)."""
    response = service.client.get(f"/v1/receive/{ALICE}", params={"consumer": name, "timeout": "0"})
    assert response.status_code == 200, response.text
    messages: list[dict[str, Any]] = response.json()
    return messages


def eventually(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def dispatcher(service: RunningService) -> Webhooks:
    webhooks = service.backend.webhooks
    assert webhooks is not None
    return webhooks


Labels = tuple[tuple[str, str], ...]


def scrape(service: RunningService) -> dict[str, dict[Labels, float]]:
    """GET /metrics, parsed as Prometheus does: sample name -> sorted labels -> value."""
    response = service.client.get("/metrics")
    assert response.status_code == 200, response.text
    samples: dict[str, dict[Labels, float]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            labels = tuple(sorted(sample.labels.items()))
            samples.setdefault(sample.name, {})[labels] = sample.value
    return samples


def grown(
    before: dict[str, dict[Labels, float]], after: dict[str, dict[Labels, float]], name: str
) -> dict[Labels, float]:
    """How much each series of `name` grew between two scrapes (those that did)."""
    old = before.get(name, {})
    return {
        labels: value - old.get(labels, 0.0)
        for labels, value in after.get(name, {}).items()
        if value != old.get(labels, 0.0)
    }


def texts(requests: list[Received]) -> list[str]:
    return [json.loads(r.body)["params"]["envelope"]["dataMessage"]["message"] for r in requests]


def verified(request: Received, secret: str = SECRET) -> Any:
    """The request's JSON body, once the Standard Webhooks reference verifier accepted it."""
    return Webhook(secret).verify(request.body, request.headers)


def expected_notification(body: dict[str, Any], *, account: str, ts: int, text: str) -> Any:
    """The whole receive notification as signal-cli writes it in its default receive mode (see
    `received_text`)."""
    message = received_text(body["params"], account=account, source=CAROL, ts=ts, text=text)
    return {"jsonrpc": "2.0", "method": "receive", "params": message}


def webhook_rows(data_dir: Path) -> list[tuple[Any, ...]]:
    """The stored state of the webhook consumers: name, account, how many messages of the
    account are after its position, attempts at the next one, whether a retry is scheduled."""
    with sqlite3.connect(data_dir / "inbox.sqlite3") as db:
        return db.execute(
            "SELECT name, c.account, "
            "(SELECT COUNT(*) FROM messages m WHERE m.account = c.account AND m.id > position), "
            "attempts, retry_at IS NOT NULL FROM consumers c "
            "WHERE kind = 'webhook' ORDER BY name, c.account"
        ).fetchall()


def caught_up(data_dir: Path, *names: tuple[str, str]) -> Callable[[], bool]:
    """A condition: the webhooks `names` ((name, account) pairs) have acked every message."""
    return lambda: webhook_rows(data_dir) == [(n, a, 0, 0, 0) for n, a in names]


def test_webhook_posts_signal_clis_receive_notification_signed(
    start: Callable[..., RunningService], target: WebhookTarget
) -> None:
    service = start(receive_webhook_url=target.url, webhook_secret=SECRET)
    register(service.client, ALICE)
    ts = send_from_outside(service, ALICE, "hello hook")

    [request] = target.wait_for(lambda rs: len(rs) >= 1, "the delivery")
    body = verified(request)
    assert body == expected_notification(body, account=ALICE, ts=ts, text="hello hook")
    # One compact line, keys in signal-cli's order, as the Go project forwards it.
    assert request.body == json.dumps(body, separators=(",", ":")).encode() + b"\n"
    assert request.path == "/hook"
    assert {k: v for k, v in request.headers.items() if k.startswith(("content-", "webhook-"))} == {
        "content-type": "application/json",
        "content-length": str(len(request.body)),
        "webhook-id": request.headers["webhook-id"],
        "webhook-timestamp": request.headers["webhook-timestamp"],
        "webhook-signature": request.headers["webhook-signature"],
    }
    assert request.headers["webhook-id"].startswith("msg_")
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
    assert request.headers["user-agent"].startswith("signal-rest/")
    eventually(caught_up(service.settings.data_dir, ("webhook", ALICE)), "the ack")
    assert dispatcher(service).attempts == {("webhook", "delivered"): 1}


def test_webhook_without_a_secret_is_not_signed(
    start: Callable[..., RunningService], target: WebhookTarget
) -> None:
    service = start(receive_webhook_url=target.url)
    register(service.client, ALICE)
    send_from_outside(service, ALICE, "plain")

    [request] = target.wait_for(lambda rs: len(rs) >= 1, "the delivery")
    assert {k: v for k, v in request.headers.items() if k.startswith("webhook-")} == {
        "webhook-id": request.headers["webhook-id"],
        "webhook-timestamp": request.headers["webhook-timestamp"],
    }
    assert texts([request]) == ["plain"]


def test_webhook_through_500_and_an_outage_gets_every_message_in_order_without_delaying_polls(
    start: Callable[..., RunningService], target: WebhookTarget
) -> None:
    service = start(receive_webhook_url=target.url, webhook_secret=SECRET)
    register(service.client, ALICE)
    webhooks = dispatcher(service)
    target.status = 500
    # A named poller of the same account, known before the first message.
    assert named_poll(service, "bot") == []

    sent = [send_from_outside(service, ALICE, f"m{n}") for n in (1, 2, 3)]
    target.wait_for(lambda rs: len(rs) >= 3, "three refused attempts")
    # The other consumers of the account are not held up by the failing target.
    polled = receive_until(service.client, ALICE, 3, timeout=5)
    assert [m["envelope"]["timestamp"] for m in polled] == sent
    assert [m["envelope"]["timestamp"] for m in named_poll(service, "bot")] == sent

    target.stop()
    eventually(lambda: webhooks.attempts["webhook", "unreachable"] >= 2, "failed connects")
    sent += [send_from_outside(service, ALICE, f"m{n}") for n in (4, 5)]
    polled = receive_until(service.client, ALICE, 2, timeout=5)
    assert [m["envelope"]["timestamp"] for m in polled] == sent[3:]
    assert [m["envelope"]["timestamp"] for m in named_poll(service, "bot")] == sent[3:]
    # All five wait in the inbox for the target, as /metrics shows.
    backlog = scrape(service)["signal_rest_webhook_backlog"]
    assert backlog == {(("account", ALICE), ("webhook", target.url)): 5.0}

    target.status = 200
    target.start()
    requests = target.wait_for(lambda rs: len(delivered(rs)) >= 5, "the five deliveries")
    taken = delivered(requests)
    assert texts(taken) == ["m1", "m2", "m3", "m4", "m5"]
    for request, ts in zip(taken, sent, strict=True):
        body = verified(request)
        assert body == expected_notification(body, account=ALICE, ts=ts, text=body_text(body))
    # Every attempt at m1 carried m1's webhook-id; each message has its own.
    refused = [r for r in requests if r.answered == 500]
    assert {r.headers["webhook-id"] for r in refused} == {taken[0].headers["webhook-id"]}
    assert len({r.headers["webhook-id"] for r in taken}) == 5
    eventually(caught_up(service.settings.data_dir, ("webhook", ALICE)), "all acked")
    assert webhooks.attempts["webhook", "delivered"] == 5
    assert webhooks.given_up["webhook"] == 0


def body_text(body: dict[str, Any]) -> str:
    text: str = body["params"]["envelope"]["dataMessage"]["message"]
    return text


def test_webhook_target_that_hangs_times_out_and_gets_the_message_again(
    start: Callable[..., RunningService], target: WebhookTarget
) -> None:
    service = start(receive_webhook_url=target.url, webhook_timeout_seconds=0.5)
    register(service.client, ALICE)
    webhooks = dispatcher(service)
    target.hold()
    ts = send_from_outside(service, ALICE, "patience")
    eventually(lambda: webhooks.attempts["webhook", "timeout"] >= 1, "a timed-out attempt")
    [polled] = receive_until(service.client, ALICE, 1, timeout=5)
    assert polled["envelope"]["timestamp"] == ts

    target.release()
    requests = target.wait_for(lambda rs: len(delivered(rs)) >= 1, "the delivery")
    assert {r.answered for r in requests} == {0, 200}
    assert texts(requests) == ["patience"] * len(requests)
    assert len({r.headers["webhook-id"] for r in requests}) == 1
    eventually(caught_up(service.settings.data_dir, ("webhook", ALICE)), "the ack")


def test_webhooks_get_only_their_accounts(
    start: Callable[..., RunningService], target: WebhookTarget
) -> None:
    with WebhookTarget() as alices, WebhookTarget() as bobs:
        hooks = [
            {"url": alices.url, "accounts": [ALICE], "name": "alice-bot"},
            {"url": bobs.url, "accounts": [BOB], "name": "bob-bot", "secret": SECRET},
        ]
        service = start(receive_webhook_url=target.url, webhooks=json.dumps(hooks))
        register(service.client, ALICE)
        register(service.client, BOB)
        send_from_outside(service, ALICE, "for alice")
        send_from_outside(service, BOB, "for bob")

        everything = target.wait_for(lambda rs: len(rs) >= 2, "both messages")
        assert sorted(texts(everything)) == ["for alice", "for bob"]
        assert texts(alices.wait_for(lambda rs: len(rs) >= 1, "alice's")) == ["for alice"]
        [bob] = bobs.wait_for(lambda rs: len(rs) >= 1, "bob's")
        assert verified(bob)["params"]["account"] == BOB
        assert "webhook-signature" not in alices.requests[0].headers
        every = [
            ("webhook", ALICE),
            ("webhook", BOB),
            ("webhook:alice-bot", ALICE),
            ("webhook:bob-bot", BOB),
        ]
        eventually(caught_up(service.settings.data_dir, *every), "all acked")
        listed = service.client.get("/v1/consumers").json()
        assert listed == [
            {
                "name": name,
                "account": account,
                "kind": "webhook",
                "position": row["position"],
                "lag": 0,
                "last_seen": row["last_seen"],
                "stale": False,
                "connected": True,
            }
            for (name, account), row in zip(every, listed, strict=True)
        ]
        assert texts(alices.requests) == ["for alice"]
        assert texts(bobs.requests) == ["for bob"]


def test_webhook_retries_continue_after_a_restart_and_deliver_once(
    start: Callable[..., RunningService], target: WebhookTarget, tmp_path: Path
) -> None:
    settings = {"receive_webhook_url": target.url, "webhook_secret": SECRET}
    first = start(**settings)
    register(first.client, ALICE)
    target.status = 500
    send_from_outside(first, ALICE, "before")
    target.wait_for(lambda rs: len(rs) >= 2, "two refused attempts")
    first.stop()
    [(name, account, behind, attempts, scheduled)] = webhook_rows(tmp_path / "data")
    assert (name, account, behind, scheduled) == ("webhook", ALICE, 1, 1)
    assert attempts >= 2

    target.status = 200
    second = start(**settings)
    target.wait_for(lambda rs: len(delivered(rs)) >= 1, "the delivery after the restart")
    send_from_outside(second, ALICE, "after")
    taken = delivered(target.wait_for(lambda rs: len(delivered(rs)) >= 2, "the next one"))
    assert texts(taken) == ["before", "after"]
    assert {r.headers["webhook-id"] for r in target.requests if texts([r]) == ["before"]} == {
        taken[0].headers["webhook-id"]
    }
    eventually(caught_up(tmp_path / "data", ("webhook", ALICE)), "all acked")


def test_webhook_starts_a_new_retry_schedule_for_each_message(
    start: Callable[..., RunningService], target: WebhookTarget, tmp_path: Path
) -> None:
    settings = {"receive_webhook_url": target.url, "webhook_max_backoff_seconds": 0.5}
    first = start(**settings)
    register(first.client, ALICE)
    target.status = 500
    send_from_outside(first, ALICE, "first")
    send_from_outside(first, ALICE, "second")
    target.wait_for(lambda rs: len(rs) >= 3, "three refused attempts")
    first.stop()

    # After the restart both are read at once: the first goes through, the second fails on.
    target.answer = lambda body: 500 if b'"second"' in body else 200
    second = start(**settings)
    target.wait_for(lambda rs: texts(rs).count("second") >= 1, "the second refused")
    eventually(lambda: webhook_rows(tmp_path / "data")[0][3] >= 1, "its failure stored")
    second.stop()
    # The second message's schedule started at its own first failure: the stored attempts are
    # its own (the last may have been cut short by the stop before it was stored).
    [(name, account, behind, attempts, scheduled)] = webhook_rows(tmp_path / "data")
    assert (name, account, behind, scheduled) == ("webhook", ALICE, 1, 1)
    tried = texts(target.requests).count("second")
    assert tried - 1 <= attempts <= tried
    assert texts(delivered(target.requests)) == ["first"]


def test_webhook_gives_up_a_message_after_the_retry_period_and_goes_on(
    start: Callable[..., RunningService], target: WebhookTarget
) -> None:
    service = start(
        receive_webhook_url=target.url,
        webhook_secret=SECRET,
        webhook_retry_period_hours=0.5 / 3600,  # half a second
    )
    register(service.client, ALICE)
    webhooks = dispatcher(service)
    before = scrape(service)
    target.status = 500
    send_from_outside(service, ALICE, "lost")
    eventually(lambda: webhooks.given_up["webhook"] == 1, "the message given up")
    refused = len(target.requests)
    assert refused >= 2
    assert texts(target.requests) == ["lost"] * refused

    target.status = 200
    send_from_outside(service, ALICE, "next")
    requests = target.wait_for(lambda rs: len(delivered(rs)) >= 1, "the next message")
    assert texts(delivered(requests)) == ["next"]
    eventually(caught_up(service.settings.data_dir, ("webhook", ALICE)), "all acked")
    assert webhooks.attempts["webhook", "rejected"] == refused
    assert webhooks.given_up["webhook"] == 1
    after = scrape(service)
    hook = ("webhook", target.url)
    assert grown(before, after, "signal_rest_webhook_attempts_total") == {
        (("outcome", "delivered"), hook): 1.0,
        (("outcome", "rejected"), hook): float(refused),
    }
    assert grown(before, after, "signal_rest_webhook_failures_total") == {(hook,): 1.0}


def test_webhook_redirect_is_a_failed_attempt_and_retry_after_is_honoured(
    start: Callable[..., RunningService], target: WebhookTarget
) -> None:
    # Without Retry-After the first retry comes within a second; the target asks for 2 s.
    service = start(receive_webhook_url=target.url, webhook_max_backoff_seconds=3.0)
    register(service.client, ALICE)
    webhooks = dispatcher(service)
    target.status = 307
    target.headers = {"Location": f"{target.url}/elsewhere", "Retry-After": "2"}
    send_from_outside(service, ALICE, "moved")
    target.wait_for(lambda rs: len(rs) >= 2, "two redirected attempts")
    target.status, target.headers = 200, {}
    requests = target.wait_for(lambda rs: len(delivered(rs)) >= 1, "the delivery")

    answered = [r.answered for r in requests]
    assert len(answered) >= 3 and answered == [307] * (len(answered) - 1) + [200]
    assert {r.path for r in requests} == {"/hook"}  # the redirect was never followed
    assert requests[1].at - requests[0].at >= 2.0
    assert texts(delivered(requests)) == ["moved"]
    assert webhooks.attempts["webhook", "rejected"] >= 2


def test_webhook_requests_go_through_the_proxy_the_environment_names(
    start: Callable[..., RunningService],
    target: WebhookTarget,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The recording server plays the proxy: a proxied request names the whole target URL.
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{target.port}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # the test's own client talks to the service
    service = start(receive_webhook_url="http://hooks.example:8123/api/webhook/signal")
    register(service.client, ALICE)
    send_from_outside(service, ALICE, "via the proxy")
    [request] = target.wait_for(lambda rs: len(delivered(rs)) >= 1, "the proxied request")
    assert request.path == "http://hooks.example:8123/api/webhook/signal"
    assert texts([request]) == ["via the proxy"]
