"""Prometheus metrics of one app instance.

Each app owns its own `CollectorRegistry` so several apps (tests, benchmarks) can live in
one process without "duplicated timeseries" errors. Routes are labelled by their
template (`/api/v1/releases/{ref}`), never by the raw path, to keep cardinality bounded.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest

UNMATCHED_ROUTE = "<unmatched>"


class ApiMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "shiplane_http_requests_total",
            "HTTP requests served, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "shiplane_http_request_duration_seconds",
            "HTTP request latency, by method and route template.",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=self.registry,
        )
        self.releases_created = Counter(
            "shiplane_releases_created_total",
            "Releases newly created (re-posting an existing release does not count).",
            registry=self.registry,
        )
        self.audit_events = Counter(
            "shiplane_audit_events_total",
            "Audit events written through the API, by action.",
            ["action"],
            registry=self.registry,
        )

        self.hook_deliveries = Counter(
            "shiplane_hook_deliveries_total",
            "Webhook deliveries by receiver (`<unknown>` for names not configured) and "
            "outcome: accepted (sources refreshed), ignored (nothing matched), or the "
            "refusal reason.",
            ["receiver", "outcome"],
            registry=self.registry,
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
