"""`GET /metrics`, scraped from the real service on the sandbox and parsed as Prometheus does.

The counters belong to the process (every service a test run starts adds to them), so the tests
compare two scrapes around what they do; the gauges are read from the scraped service itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from websockets.sync.client import connect

from signal_rest import __version__, metrics
from signal_rest.inbox.store import StoredMessage
from tests.support.flows import ALICE, BOB
from tests.support.service import RunningService, start_service
from tests.support.tokens import bearer, create_token
from tests.support.waiting import wait_until

CAROL = "+4915100000003"  # an outside Signal user
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Labels = tuple[tuple[str, str], ...]
Samples = dict[str, dict[Labels, float]]


def parse(text: str) -> Samples:
    """Every sample of an exposition: sample name -> {sorted labels: value}."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = tuple(sorted(sample.labels.items()))
            samples.setdefault(sample.name, {})[labels] = sample.value
    return samples


def scrape(service: RunningService) -> Samples:
    response = service.client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == CONTENT_TYPE
    return parse(response.text)


def grown(before: Samples, after: Samples, name: str) -> dict[Labels, float]:
    """How much each series of counter sample `name` grew between two scrapes."""
    old = before.get(name, {})
    return {
        labels: value - old.get(labels, 0.0)
        for labels, value in after.get(name, {}).items()
        if value != old.get(labels, 0.0)
    }


def request(route: str, method: str, status: int) -> Labels:
    return (("method", method), ("route", route), ("status", str(status)))


def pending(service: RunningService, number: str) -> list[StoredMessage]:
    result: list[StoredMessage] = service.run(service.backend.inbox.store.pending(number))
    return result


def send_from_carol(service: RunningService, to: str, text: str) -> None:
    body = {"from": CAROL, "recipients": [to], "message": text}
    response = service.client.post("/v1/sandbox/send", json=body)
    assert response.status_code == 201, response.text


def test_metrics_count_requests_by_route_template_method_and_status(
    accounts: RunningService,
) -> None:
    client = accounts.client
    before = scrape(accounts)
    for n in range(3):
        body = {"number": ALICE, "recipients": [BOB], "message": f"hi {n}"}
        assert client.post("/v2/send", json=body).status_code == 201
    assert client.get(f"/v1/groups/{ALICE}").status_code == 200
    assert client.get(f"/v1/groups/{BOB}").status_code == 200
    assert client.get("/no/such/path/4711").status_code == 404
    assert client.post("/v1/about").status_code == 404  # a wrong method: 404, as in Go
    # A method of no route (one both HTTP parsers know: httptools refuses made-up ones).
    assert client.request("PROPFIND", "/v1/about").status_code == 404
    after = scrape(accounts)

    assert grown(before, after, "signal_rest_http_requests_total") == {
        request("/v2/send", "POST", 201): 3,
        request("/v1/groups/{number}", "GET", 200): 2,
        request("other", "GET", 404): 1,
        request("/v1/about", "POST", 404): 1,
        request("/v1/about", "other", 404): 1,
        request("/metrics", "GET", 200): 1,  # the first scrape
    }
    assert grown(before, after, "signal_rest_http_request_duration_seconds_count") == {
        (("method", "POST"), ("route", "/v2/send")): 3,
        (("method", "GET"), ("route", "/v1/groups/{number}")): 2,
        (("method", "GET"), ("route", "other")): 1,
        (("method", "POST"), ("route", "/v1/about")): 1,
        (("method", "other"), ("route", "/v1/about")): 1,
        (("method", "GET"), ("route", "/metrics")): 1,
    }
    # Every request lands in the histogram's last bucket, and the sends in one below it.
    sends = (("le", "+Inf"), ("method", "POST"), ("route", "/v2/send"))
    assert grown(before, after, "signal_rest_http_request_duration_seconds_bucket")[sends] == 3


def test_metrics_count_json_rpc_calls_and_errors_by_method(accounts: RunningService) -> None:
    client = accounts.client
    before = scrape(accounts)
    for n in range(2):
        body = {"number": ALICE, "recipients": [BOB], "message": f"hi {n}"}
        assert client.post("/v2/send", json=body).status_code == 201
    # signal-cli refuses a send from a number that is no account (REST routes refuse it before).
    stranger = {"account": "+4915100000007", "recipient": [BOB], "message": "who?"}
    refused = client.post(
        "/api/v1/rpc", json={"jsonrpc": "2.0", "id": 2, "method": "send", "params": stranger}
    )
    assert refused.json()["error"]["message"] == "Specified account does not exist"
    # A method the daemon does not know, through the passthrough: counted as `other`, so the
    # names callers make up never become series.
    unknown = client.post("/api/v1/rpc", json={"jsonrpc": "2.0", "id": 1, "method": "noSuch4711"})
    assert unknown.json()["error"]["code"] == -32601
    after = scrape(accounts)

    assert grown(before, after, "signal_rest_rpc_calls_total") == {
        (("method", "send"),): 3,
        (("method", "other"),): 1,
    }
    assert grown(before, after, "signal_rest_rpc_errors_total") == {
        (("code", "-32602"), ("method", "send")): 1,
        (("code", "-32601"), ("method", "other")): 1,
    }
    assert grown(before, after, "signal_rest_rpc_duration_seconds_count") == {
        (("method", "send"),): 3,
        (("method", "other"),): 1,
    }


def test_metrics_show_inbox_depth_and_oldest_age_until_a_poll_takes_the_messages(
    accounts: RunningService,
) -> None:
    for n in range(3):
        send_from_carol(accounts, ALICE, f"from outside {n}")
    wait_until(lambda: len(pending(accounts, ALICE)) == 3, "the messages to be stored", 10)
    waiting = scrape(accounts)
    assert waiting["signal_rest_inbox_depth"][(("account", ALICE),)] == 3
    assert waiting["signal_rest_inbox_oldest_age_seconds"][(("account", ALICE),)] > 0

    polled = accounts.client.get(f"/v1/receive/{ALICE}", params={"timeout": "1"})
    assert [m["envelope"]["dataMessage"]["message"] for m in polled.json()] == [
        "from outside 0",
        "from outside 1",
        "from outside 2",
    ]
    # A poll's messages count as delivered once its answer was handed over.
    wait_until(lambda: pending(accounts, ALICE) == [], "the poll's messages to count as taken", 10)
    taken = scrape(accounts)
    assert taken["signal_rest_inbox_depth"][(("account", ALICE),)] == 0
    assert taken["signal_rest_inbox_oldest_age_seconds"][(("account", ALICE),)] == 0


def test_metrics_show_each_named_consumers_position_and_lag(accounts: RunningService) -> None:
    def poll(**params: str) -> list[object]:
        response = accounts.client.get(
            f"/v1/receive/{ALICE}", params={"timeout": "0", "consumer": "cron", **params}
        )
        assert response.status_code == 200, response.text
        found: list[object] = response.json()
        return found

    assert poll() == []
    start = accounts.run(accounts.backend.inbox.store.newest())
    for n in range(2):
        send_from_carol(accounts, ALICE, f"for cron {n}")
    wait_until(lambda: len(pending(accounts, ALICE)) == 2, "the messages to be stored", 10)
    labels = (("account", ALICE), ("consumer", "cron"))
    behind = scrape(accounts)
    assert {name: behind[name][labels] for name in CONSUMER_SERIES} == {
        "signal_rest_consumer_position": start,
        "signal_rest_consumer_lag": 2,
        "signal_rest_consumer_stale": 0,
    }

    assert len(poll()) == 2
    caught_up = scrape(accounts)
    assert {name: caught_up[name][labels] for name in CONSUMER_SERIES} == {
        "signal_rest_consumer_position": start + 2,
        "signal_rest_consumer_lag": 0,
        "signal_rest_consumer_stale": 0,
    }


CONSUMER_SERIES = (
    "signal_rest_consumer_position",
    "signal_rest_consumer_lag",
    "signal_rest_consumer_stale",
)


def test_metrics_show_the_daemon_and_the_build(service: RunningService) -> None:
    samples = scrape(service)
    assert samples["signal_rest_daemon_connected"] == {(): 1}
    assert samples["signal_rest_daemon_restarts_total"] == {(): 0}
    assert samples["signal_rest_build_info"] == {
        (("backend", "sandbox"), ("version", __version__)): 1
    }


def test_metrics_count_websockets_apart_from_request_latency(accounts: RunningService) -> None:
    route = (("route", "/v1/receive/{number}"),)
    before = scrape(accounts)
    with connect(f"{accounts.ws_url}/v1/receive/{ALICE}", open_timeout=10):
        during = scrape(accounts)
    wait_until(
        lambda: scrape(accounts)["signal_rest_websockets_open"][route] == 0,
        "the websocket to be counted closed",
        10,
    )
    after = scrape(accounts)

    assert during["signal_rest_websockets_open"][route] == 1
    assert grown(before, after, "signal_rest_websockets_total") == {
        (("route", "/v1/receive/{number}"), ("status", "101")): 1
    }
    timed = grown(before, after, "signal_rest_http_request_duration_seconds_count")
    assert [labels for labels in timed if ("route", "/v1/receive/{number}") in labels] == []


def test_metrics_need_an_admin_token_and_count_refusals_under_their_route(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    admin = create_token(data_dir, "prometheus", "--scope", "admin")
    sender = create_token(data_dir, "bot", "--scope", "send")
    service = start_service(data_dir)
    try:
        client = service.client
        first = client.get("/metrics", headers=bearer(admin))
        assert first.status_code == 200, first.text
        denied = client.get("/metrics", headers=bearer(sender))
        assert denied.status_code == 403
        assert denied.json() == {
            "error": "This API token may not use this route: it needs the 'admin' scope "
            "(the token has send)"
        }
        anonymous = client.post("/v2/send", json={"number": ALICE, "recipients": [BOB]})
        assert anonymous.status_code == 401
        second = client.get("/metrics", headers=bearer(admin))
        assert second.status_code == 200, second.text
    finally:
        service.stop()

    assert grown(parse(first.text), parse(second.text), "signal_rest_http_requests_total") == {
        request("/metrics", "GET", 200): 1,
        request("/metrics", "GET", 403): 1,
        request("/v2/send", "POST", 401): 1,
    }


@dataclass(frozen=True)
class Consumer:
    """A consumer's state as signal_rest.inbox.consumers reports it."""

    name: str
    account: str
    kind: str
    position: int
    lag: int
    seen_at: float | None
    stale: bool


def test_metrics_show_exactly_the_named_consumers_observed_last() -> None:
    now = time.time()
    metrics.observe_consumers(
        [
            Consumer("ha", ALICE, "websocket", 7, 2, now - 30, False),
            Consumer("old", ALICE, "poll", 1, 8, now - 90_000, True),
        ],
        now=now,
    )
    metrics.observe_consumers([Consumer("ha", ALICE, "websocket", 9, 0, now, False)], now=now)
    samples = parse(metrics.exposition().decode())
    ha = (("account", ALICE), ("consumer", "ha"))
    assert {
        name: samples[name]
        for name in (
            "signal_rest_consumer_position",
            "signal_rest_consumer_lag",
            "signal_rest_consumer_stale",
            "signal_rest_consumer_idle_seconds",
        )
    } == {
        "signal_rest_consumer_position": {ha: 9},
        "signal_rest_consumer_lag": {ha: 0},
        "signal_rest_consumer_stale": {ha: 0},
        "signal_rest_consumer_idle_seconds": {ha: 0},
    }
    metrics.observe_consumers([])


@pytest.mark.parametrize(
    ("url", "label"),
    [
        pytest.param(
            "https://hooks.example/in?token=s3cret", "https://hooks.example/in", id="query"
        ),
        pytest.param("http://user:pw@10.0.0.2:8080/hook", "http://10.0.0.2:8080/hook", id="creds"),
    ],
)
def test_webhook_label_leaves_credentials_out(url: str, label: str) -> None:
    assert metrics.webhook_label(url) == label


def test_metrics_register_no_series_twice_for_a_second_app(tmp_path: Path) -> None:
    # Every metric is defined once, on import: apps built after it share them.
    first = start_service(tmp_path / "one")
    second = start_service(tmp_path / "two")
    try:
        assert scrape(first)["signal_rest_daemon_connected"] == {(): 1}
        assert scrape(second)["signal_rest_daemon_connected"] == {(): 1}
    finally:
        first.stop()
        second.stop()
