"""The service's own Prometheus text (signal_rest.promtext) is the text prometheus_client writes
for the same metrics and the same updates: byte for byte."""

from __future__ import annotations

from typing import Any

import prometheus_client
from prometheus_client import CollectorRegistry, disable_created_metrics, enable_created_metrics

from signal_rest import promtext

BUCKETS = (0.001, 0.01, 0.5, 1.0, 60.0)


def _build(lib: Any, registry: Any) -> list[Any]:
    counter = lib.Counter(
        "app_calls", "Calls, by method\nand \\ outcome", ["method", "outcome"], registry=registry
    )
    gauge = lib.Gauge("app_open", "Open now", ["route"], registry=registry)
    single = lib.Gauge("app_up", "1 while up", registry=registry)
    histogram = lib.Histogram(
        "app_seconds", "Durations", ["route", "method"], buckets=BUCKETS, registry=registry
    )
    unused = lib.Counter("app_never", "Never counted", ["kind"], registry=registry)
    return [counter, gauge, single, histogram, unused]


def _update(counter: Any, gauge: Any, single: Any, histogram: Any, unused: Any) -> None:
    counter.labels("send", "ok").inc()
    counter.labels('a "quoted"\\name\n', "ok").inc(2.5)
    counter.labels("send", "ok").inc()
    gauge.labels("/v1/receive/{number}").inc()
    gauge.labels("/v1/receive/{number}").dec()
    gauge.labels("/other").set(12345678.0)
    single.set(1)
    for seconds in (0.0005, 0.001, 0.2, 2.0, 100.0, 3e7):
        histogram.labels("/v2/send", "POST").observe(seconds)
    histogram.labels("/v1/about", "GET").observe(0.002)
    gauge.clear()
    gauge.labels("/v1/events").set(3)


def test_the_text_is_prometheus_clients() -> None:
    disable_created_metrics()  # type: ignore[no-untyped-call]  # as the service: no _created
    try:
        theirs = CollectorRegistry()
        ours = promtext.Registry()
        _update(*_build(prometheus_client, theirs))
        _update(*_build(promtext, ours))
        expected = prometheus_client.generate_latest(theirs).decode()
    finally:
        enable_created_metrics()  # type: ignore[no-untyped-call]
    assert ours.exposition().decode() == expected


def test_numbers_are_written_as_go_writes_them() -> None:
    written = [promtext.go_float(v) for v in (0.0, 1.0, 0.005, 1e6, 123456789.5, float("inf"))]
    assert written == ["0.0", "1.0", "0.005", "1e+06", "1.234567895e+08", "+Inf"]
