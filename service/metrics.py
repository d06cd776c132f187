"""Prometheus metrics: requests by route and status, latencies, query timeouts, result sizes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

_EXTENSION = "careerkg.metrics"


class Metrics:
    """One registry per app, so several apps (tests) never share counters."""

    def __init__(self, timeouts: Callable[[], int]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "careerkg_http_requests", "HTTP requests answered", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "careerkg_http_request_duration_seconds",
            "Time to the first byte of the answer",
            ["method", "route"],
            registry=self.registry,
        )
        self.result_bytes = Histogram(
            "careerkg_query_result_bytes",
            "Size of SPARQL query results sent",
            buckets=(1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8),
            registry=self.registry,
        )
        self.registry.register(_Timeouts(timeouts))
        self._counters: dict[tuple[str, str, int], Counter] = {}
        self._histograms: dict[tuple[str, str], Histogram] = {}

    def count(self, method: str, route: str, status: int) -> None:
        """One more request answered."""
        counter = self._counters.get((method, route, status))
        if counter is None:  # (labels() checks and joins its labels at each call: a tenth of a request to /health)
            counter = self._counters[method, route, status] = self.requests.labels(method, route, str(status))
        counter.inc()

    def time(self, method: str, route: str, seconds: float) -> None:
        """How long a request took to its answer."""
        histogram = self._histograms.get((method, route))
        if histogram is None:
            histogram = self._histograms[method, route] = self.latency.labels(method, route)
        histogram.observe(seconds)

    def exposition(self) -> Response:
        """The metrics in the Prometheus text format."""
        return Response(generate_latest(self.registry), content_type=CONTENT_TYPE_LATEST)


class _Timeouts(Collector):
    def __init__(self, read: Callable[[], int]) -> None:
        self._read = read

    def collect(self) -> Iterable[CounterMetricFamily]:
        yield CounterMetricFamily("careerkg_query_timeouts", "Queries stopped at the query timeout", value=self._read())


_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))


def init_app(app: Flask, timeouts: Callable[[], int]) -> Metrics:
    """Count every request; keep the metrics on the app."""
    metrics = Metrics(timeouts)
    app.extensions[_EXTENSION] = metrics

    @app.before_request
    def _start() -> None:
        g.careerkg_started = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        # A label per method a client made up would grow /metrics without end: those count as "other".
        method = request.method if request.method in _METHODS else "other"
        metrics.count(method, route, response.status_code)
        started = g.get("careerkg_started")
        if started is not None:
            metrics.time(method, route, time.perf_counter() - started)
        return response

    return metrics


def get_metrics(app: Flask) -> Metrics:
    """The metrics of an app."""
    metrics: Metrics = app.extensions[_EXTENSION]
    return metrics
