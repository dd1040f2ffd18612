"""Log lines a person can use: `signal-rest serve` run as a user runs it, and the formats."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect

from signal_rest.edge.logs import REQUEST_ID, JsonFormatter, RequestIdFilter, TextFormatter
from tests.support.flows import ALICE, register
from tests.test_cli import SIGNAL_REST, _free_port, _wait_for

CAROL = "+4915100000003"  # an outside Signal user
SENT = "sent-text-that-must-stay-private"
RECEIVED = "received-text-that-must-stay-private"
TOKEN = "query-token-that-must-stay-private"
KEYS = {"time", "level", "logger", "message", "request_id"}


def _serve_and_log(
    tmp_path: Path, *flags: str, work: Any, access_log: str | None = "all"
) -> list[str]:
    """Run `signal-rest serve --sandbox` with `flags` (and SIGNAL_REST_ACCESS_LOG, unless
    None), do `work(client, port)`, stop it and return its stderr lines."""
    port = _free_port()
    command = ["serve", "--sandbox", "--port", str(port), "--data-dir", str(tmp_path), *flags]
    env = {k: v for k, v in os.environ.items() if k != "SIGNAL_REST_ACCESS_LOG"}
    if access_log is not None:
        env["SIGNAL_REST_ACCESS_LOG"] = access_log
    proc = subprocess.Popen(
        [*SIGNAL_REST, *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/v1/health", proc)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            work(client, port)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    return stderr.decode().splitlines()


def _round_trip(client: httpx.Client, port: int) -> None:
    register(client, ALICE)
    sent = client.post(
        "/v2/send",
        json={"number": ALICE, "recipients": [CAROL], "message": SENT},
        headers={"X-Request-Id": "send-1"},
    )
    assert sent.status_code == 201, sent.text
    assert (
        client.get(f"/v1/sandbox/received/{CAROL}").json()[0]["envelope"]["dataMessage"]["message"]
        == SENT
    )
    outside = {"from": CAROL, "recipients": [ALICE], "message": RECEIVED}
    assert client.post("/v1/sandbox/send", json=outside).status_code == 201
    url = f"ws://127.0.0.1:{port}/v1/receive/{ALICE}?token={TOKEN}"
    with connect(url, additional_headers={"X-Request-Id": "ws-1"}) as websocket:
        frames = [json.loads(websocket.recv(timeout=10))]
        while "dataMessage" not in frames[-1]["envelope"]:  # the receipt of SENT comes first
            frames.append(json.loads(websocket.recv(timeout=10)))
    assert frames[-1]["envelope"]["dataMessage"]["message"] == RECEIVED
    polled = client.get(f"/v1/receive/{ALICE}", params={"timeout": "0", "token": TOKEN})
    assert polled.status_code == 200, polled.text


def test_serve_logs_json_lines_without_message_texts(tmp_path: Path) -> None:
    lines = _serve_and_log(
        tmp_path, "--log-format", "json", "--log-level", "debug", work=_round_trip
    )

    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all(entry.keys() >= KEYS for entry in entries), entries
    assert all(datetime.fromisoformat(entry["time"]) for entry in entries)
    access = [e for e in entries if e["logger"] == "signal_rest.access"]
    send = next(e for e in access if e["request_id"] == "send-1")
    assert send == {
        "time": send["time"],
        "level": "INFO",
        "logger": "signal_rest.access",
        "message": f"POST /v2/send 201 {send['duration_ms']:.1f} ms",
        "request_id": "send-1",
        "method": "POST",
        "path": "/v2/send",
        "status": 201,
        "duration_ms": send["duration_ms"],
    }
    assert isinstance(send["duration_ms"], float) and send["duration_ms"] >= 0
    websocket = next(e for e in access if e["request_id"] == "ws-1")
    assert websocket == {
        "time": websocket["time"],
        "level": "INFO",
        "logger": "signal_rest.access",
        "message": (
            f"WEBSOCKET /v1/receive/{ALICE} 101 closed 1000 after {websocket['duration_ms']:.1f} ms"
        ),
        "request_id": "ws-1",
        "method": "WEBSOCKET",
        "path": f"/v1/receive/{ALICE}",
        "status": 101,
        "duration_ms": websocket["duration_ms"],
        "close_code": 1000,
    }
    poll = [e for e in access if e["method"] == "GET" and e["path"] == f"/v1/receive/{ALICE}"]
    assert [e["status"] for e in poll] == [200]
    # Nothing of the messages, nor the query string, in any line at debug level.
    text = "\n".join(lines)
    assert SENT not in text and RECEIVED not in text and TOKEN not in text


def test_serve_logs_text_lines_with_time_level_logger_and_request_id(tmp_path: Path) -> None:
    def about(client: httpx.Client, port: int) -> None:
        assert client.get("/v1/about", headers={"X-Request-Id": "about-1"}).status_code == 200

    lines = _serve_and_log(tmp_path, work=about)

    line = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR) \S+ ")
    assert all(line.match(each) for each in lines), lines
    assert [each.split(" ", 1)[1] for each in lines if "[about-1]" in each] == [
        f"INFO signal_rest.access [about-1] GET /v1/about 200 {_ms(lines, 'about-1')} ms"
    ]


def test_by_default_only_requests_answered_with_an_error_get_an_access_line(
    tmp_path: Path,
) -> None:
    def requests(client: httpx.Client, port: int) -> None:
        assert client.get("/v1/about", headers={"X-Request-Id": "about-1"}).status_code == 200
        assert client.get("/v1/nowhere", headers={"X-Request-Id": "lost-1"}).status_code == 404
        body = {"number": ALICE, "recipients": ["hello"], "message": "x"}
        sent = client.post("/v2/send", json=body, headers={"X-Request-Id": "bad-1"})
        assert sent.status_code == 400

    lines = _serve_and_log(tmp_path, work=requests, access_log=None)

    access = [each.split(" ", 1)[1] for each in lines if "signal_rest.access" in each]
    assert access == [
        f"INFO signal_rest.access [lost-1] GET /v1/nowhere 404 {_ms(lines, 'lost-1')} ms",
        f"INFO signal_rest.access [bad-1] POST /v2/send 400 {_ms(lines, 'bad-1')} ms",
    ]


def test_access_lines_can_be_turned_off(tmp_path: Path) -> None:
    def lost(client: httpx.Client, port: int) -> None:
        assert client.get("/v1/nowhere").status_code == 404

    lines = _serve_and_log(tmp_path, work=lost, access_log="off")

    assert [each for each in lines if "signal_rest.access" in each] == []


def _ms(lines: list[str], request_id: str) -> str:
    found = next(each for each in lines if f"[{request_id}]" in each)
    return found.rsplit(" ", 2)[1]


def _record(**extra: Any) -> logging.LogRecord:
    record = logging.LogRecord(
        "signal_rest.x", logging.WARNING, __file__, 1, "lost %s", ("it",), None
    )
    record.created = 1764400000.25
    for name, value in extra.items():
        setattr(record, name, value)
    return record


def test_log_records_take_the_current_request_id() -> None:
    inside, outside, own = _record(), _record(), _record(request_id="given")
    token = REQUEST_ID.set("current")
    try:
        RequestIdFilter().filter(inside)
        RequestIdFilter().filter(own)
    finally:
        REQUEST_ID.reset(token)
    RequestIdFilter().filter(outside)

    assert [inside.request_id, own.request_id, outside.request_id] == [  # type: ignore[attr-defined]
        "current",
        "given",
        None,
    ]


def test_formats_render_time_level_logger_and_request_id() -> None:
    record = _record(request_id="abc", status=503)

    assert TextFormatter().format(record) == (
        "2025-11-29T07:06:40.250Z WARNING signal_rest.x [abc] lost it"
    )
    assert json.loads(JsonFormatter().format(record)) == {
        "time": "2025-11-29T07:06:40.250Z",
        "level": "WARNING",
        "logger": "signal_rest.x",
        "message": "lost it",
        "request_id": "abc",
        "status": 503,
    }
