"""`GET /metrics`: the API's own request figures and the pipeline's, in Prometheus text.

The API counts its requests and times them by route template and status, in a registry of
its own. The pipeline's processors publish their figures on the `metrics` topic; the latest
value of every series seen there is exposed as it came, prefixed `fillstream_`, with its
labels and a `processor` label: counters as counters (`…_total`), gauges as gauges, and
histogram series (`…_bucket{le}`, `…_sum`, `…_count`) grouped into their histogram.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.metrics_core import Metric as Family
from prometheus_client.registry import Collector

from fillstream.schemas.models import Metric, MetricKind

__all__ = ["PREFIX", "ApiFigures", "PipelineCollector", "families"]

PREFIX = "fillstream_"
_NOT_NAME = re.compile(r"[^a-zA-Z0-9_:]")
_NOT_LABEL = re.compile(r"[^a-zA-Z0-9_]")
_HISTOGRAM_PARTS = ("_bucket", "_sum", "_count")


def _name(text: str) -> str:
    return _NOT_NAME.sub("_", text)


def _label(text: str) -> str:
    cleaned = _NOT_LABEL.sub("_", text)
    return f"_{cleaned}" if cleaned[:1].isdigit() or cleaned.startswith("__") else cleaned


def _family_of(metric: Metric) -> tuple[str, str]:
    """The family (name, type) a series belongs to."""
    name = PREFIX + _name(metric.name)
    if metric.kind is MetricKind.COUNTER and name.endswith("_total"):
        return name.removesuffix("_total"), "counter"
    if metric.kind is MetricKind.GAUGE:
        return name, "gauge"
    if metric.kind is MetricKind.HISTOGRAM:
        for part in _HISTOGRAM_PARTS:
            if name.endswith(part):
                return name.removesuffix(part), "histogram"
    return name, "untyped"


def families(series: Iterable[Metric]) -> list[Family]:
    """Prometheus families of the latest value of each series."""
    grouped: dict[tuple[str, str], Family] = {}
    for metric in sorted(series, key=lambda m: (m.name, m.processor, sorted(m.labels.items()))):
        name, kind = _family_of(metric)
        family = grouped.get((name, kind))
        if family is None:
            family = grouped[name, kind] = Family(name, f"{metric.name} from the pipeline", kind)
        labels = {_label(k): v for k, v in metric.labels.items()}
        labels["processor"] = metric.processor
        family.add_sample(PREFIX + _name(metric.name), labels, metric.value)
    return list(grouped.values())


class PipelineCollector(Collector):
    """Collects from `latest()`, the view's series at scrape time."""

    def __init__(self, latest: Callable[[], list[Metric]]) -> None:
        self.latest = latest

    def collect(self) -> Iterator[Family]:
        yield from families(self.latest())

    def describe(self) -> list[Any]:
        return []  # names are known only at scrape time


class ApiFigures:
    """The API's own request counter and latency histogram, in `registry`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "fillstream_api_requests",
            "HTTP requests answered, by method, route template and status.",
            ("method", "route", "status"),
            registry=registry,
        )
        self.latency = Histogram(
            "fillstream_api_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ("method", "route"),
            registry=registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)
