"""Counters, gauges and histograms with labels, and the Prometheus text format (0.0.4): the
part of prometheus_client the service uses, without the rest of that library.

    registry = Registry()
    sends = Counter("app_sends", "Sends, by outcome", ["outcome"], registry=registry)
    sends.labels("ok").inc()
    body = registry.exposition()

prometheus_client's package loads its HTTP, WSGI, gzip and OpenMetrics servers and parsers on
any import, about 2 MiB of a service that needs none of them (the idle-memory figure in
docs/performance.md). The text is the one `prometheus_client.generate_latest` writes for the
same metrics (tests parse it with prometheus_client's own parser).

Updates take no lock: every update happens on the event loop's thread (requests, JSON-RPC
calls, webhook deliveries, scrapes).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Generic, TypeVar

__all__ = ["Counter", "Gauge", "Histogram", "Registry", "go_float"]

# One sample: its name, its labels (name, value), its value.
Sample = tuple[str, Sequence[tuple[str, str]], float]


def go_float(value: float) -> str:
    """A number as Prometheus (Go) writes it: 1.0, 0.005, 1e+06, +Inf, NaN."""
    if value == math.inf:
        return "+Inf"
    if value == -math.inf:
        return "-Inf"
    if math.isnan(value):
        return "NaN"
    text = repr(float(value))
    dot = text.find(".")
    if value > 0 and dot > 6:  # Go switches to exponents sooner than Python
        mantissa = f"{text[0]}.{text[1:dot]}{text[dot + 1 :]}".rstrip("0.")
        return f"{mantissa}e+{dot - 1:02d}"
    return text


def _label_value(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _line(name: str, labels: Sequence[tuple[str, str]], value: float) -> str:
    if not labels:
        return f"{name} {go_float(value)}\n"
    pairs = ",".join(f'{key}="{_label_value(text)}"' for key, text in sorted(labels))
    return f"{name}{{{pairs}}} {go_float(value)}\n"


class Registry:
    """The metrics of one scrape, in the order they were made."""

    def __init__(self) -> None:
        self._families: list[Callable[[], tuple[str, str, str, Iterable[Sample]]]] = []

    def register(self, family: Callable[[], tuple[str, str, str, Iterable[Sample]]]) -> None:
        """`family()` gives (name, type, help, samples) when scraped."""
        self._families.append(family)

    def exposition(self) -> bytes:
        out: list[str] = []
        for family in self._families:
            name, kind, documentation, samples = family()
            text = documentation.replace("\\", r"\\").replace("\n", r"\n")
            out.append(f"# HELP {name} {text}\n# TYPE {name} {kind}\n")
            out.extend(_line(*sample) for sample in samples)
        return "".join(out).encode()


class _Value:
    """One labelled series of a counter or gauge."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount

    def dec(self, amount: float = 1.0) -> None:
        self.value -= amount

    def set(self, value: float) -> None:
        self.value = float(value)


class _Buckets:
    """One labelled series of a histogram: counts per upper bound (not cumulative), and sum."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * len(bounds)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.sum += value
        for index, bound in enumerate(self.bounds):
            if value <= bound:
                self.counts[index] += 1
                return


S = TypeVar("S", "_Value", "_Buckets")


class _Metric(Generic[S]):
    kind = ""
    suffix = ""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        registry: Registry,
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self._series: dict[tuple[str, ...], S] = {}
        if not self.labelnames:
            self._series[()] = self._new()
        registry.register(self._family)

    def _new(self) -> S:
        raise NotImplementedError

    def labels(self, *values: str) -> S:
        """The series of these label values (made at first use)."""
        if len(values) != len(self.labelnames):
            raise ValueError(f"{self.name} takes the labels {self.labelnames}, not {values}")
        key = tuple(str(value) for value in values)
        found = self._series.get(key)
        if found is None:
            found = self._series[key] = self._new()
        return found

    def clear(self) -> None:
        """Forget every labelled series."""
        self._series.clear()

    def _family(self) -> tuple[str, str, str, Iterable[Sample]]:
        name = self.name + self.suffix
        samples = []
        for values, series in list(self._series.items()):
            labels = list(zip(self.labelnames, values, strict=True))
            samples.extend(self._samples(labels, series))
        return name, self.kind, self.documentation, samples

    def _samples(self, labels: list[tuple[str, str]], series: S) -> list[Sample]:
        raise NotImplementedError


class _Single(_Metric[_Value]):
    def _new(self) -> _Value:
        return _Value()

    def _samples(self, labels: list[tuple[str, str]], series: _Value) -> list[Sample]:
        return [(self.name + self.suffix, labels, series.value)]

    def _only(self) -> _Value:
        return self._series[()]


class Counter(_Single):
    """A count that only grows; exposed as NAME_total."""

    kind = "counter"
    suffix = "_total"

    def inc(self, amount: float = 1.0) -> None:
        self._only().inc(amount)


class Gauge(_Single):
    """A value that goes up and down."""

    kind = "gauge"

    def set(self, value: float) -> None:
        self._only().set(value)


class Histogram(_Metric[_Buckets]):
    """Observations counted into cumulative buckets (`le`), with their count and sum."""

    kind = "histogram"

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        buckets: Sequence[float],
        registry: Registry,
    ) -> None:
        self.bounds = (*sorted(float(bound) for bound in buckets), math.inf)
        super().__init__(name, documentation, labelnames, registry=registry)

    def _new(self) -> _Buckets:
        return _Buckets(self.bounds)

    def _samples(self, labels: list[tuple[str, str]], series: _Buckets) -> list[Sample]:
        samples: list[Sample] = []
        total = 0
        for bound, count in zip(series.bounds, series.counts, strict=True):
            total += count
            samples.append((self.name + "_bucket", [*labels, ("le", go_float(bound))], total))
        samples.append((self.name + "_count", labels, total))
        samples.append((self.name + "_sum", labels, series.sum))
        return samples
