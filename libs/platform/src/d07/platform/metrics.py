"""Every metric the platform's mechanism exposes, defined once (prometheus-client, default registry).

Names follow Prometheus conventions with units as suffixes. A service's own domain metrics live in the
service (for example `d07_cameras_online`), registered the same way.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

GRPC_HANDLED = Counter(
    "grpc_server_handled_total",
    "gRPC calls completed on the server, by service, method and status code.",
    ["grpc_service", "grpc_method", "grpc_code"],
)
GRPC_SECONDS = Histogram(
    "grpc_server_handling_seconds",
    "Time to handle a gRPC call on the server, in seconds.",
    ["grpc_service", "grpc_method"],
    buckets=LATENCY_BUCKETS,
)
HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests completed, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request, in seconds, by method and route template.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
EVENTS_PUBLISHED = Counter(
    "d07_events_published_total",
    "Events the outbox relay published and the broker acknowledged, by topic.",
    ["topic"],
)
EVENTS_CONSUMED = Counter(
    "d07_events_consumed_total",
    "Events a consumer handled (committed), by consumer, topic and outcome (applied, duplicate).",
    ["consumer", "topic", "outcome"],
)
EVENTS_DEAD_LETTERED = Counter(
    "d07_events_dead_lettered_total",
    "Messages sent to a dead-letter topic, by consumer, source topic and reason.",
    ["consumer", "topic", "reason"],
)
OUTBOX_PENDING = Gauge(
    "d07_outbox_pending",
    "Outbox rows written but not yet acknowledged by the broker, by schema.",
    ["schema"],
)
CONSUMER_LAG = Gauge(
    "d07_consumer_lag",
    "Messages between a consumer's position and the partition's high watermark.",
    ["consumer", "topic", "partition"],
)
CONSUMER_RETRIES = Counter(
    "d07_consumer_retries_total",
    "Batches a consumer retried after a transient error (database or broker unavailable).",
    ["consumer"],
)
AUDIT_WRITTEN = Counter(
    "d07_audit_records_total",
    "Audit records written, by action.",
    ["action"],
)
