"""Every metric the platform's mechanism exposes, defined once (prometheus-client, default registry).

Names follow Prometheus conventions with units as suffixes. A service's own domain metrics live in the
service (for example `d07_cameras_online`), registered the same way.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator

import asyncpg
from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

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
EVENTS_PUBLISH_ERRORS = Counter(
    "d07_events_publish_errors_total",
    "Record batches the outbox relay failed to publish (broker error, timeout; sent again later), by topic.",
    ["topic"],
)
OUTBOX_OLDEST_AGE = Gauge(
    "d07_outbox_oldest_age_seconds",
    "Age of the oldest unsent outbox row at the relay's last round (0 when none), by schema; exported by the"
    " leading relay only.",
    ["schema"],
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
BUILD_INFO = Gauge(
    "d07_build_info",
    "Always 1: the service a process runs and its package version.",
    ["service", "version"],
)


def record_build_info(service: str) -> None:
    """Set `d07_build_info{service, version}` from the installed package of `service`."""
    try:
        version = importlib.metadata.version(service)
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    BUILD_INFO.labels(service=service, version=version).set(1)


class PoolCollector(Collector):
    """The asyncpg pools of this process, read at scrape time, by `pool` (the service owning it):
    `d07_db_pool_connections` (open), `d07_db_pool_connections_in_use`, `d07_db_pool_connections_idle`,
    `d07_db_pool_connections_max` and `d07_db_pool_acquires_waiting` (acquisitions waiting for a connection).
    A pool leaves the metrics (and this collector) once it is closed."""

    def __init__(self) -> None:
        self._pools: dict[str, asyncpg.Pool] = {}

    def watch(self, name: str, pool: asyncpg.Pool) -> None:
        """Export `pool` as `pool=name` (a later pool of the same name replaces it)."""
        self._pools[name] = pool

    def collect(self) -> Iterator[GaugeMetricFamily]:
        families = {
            "size": GaugeMetricFamily(
                "d07_db_pool_connections", "Open connections of the database pool.", labels=["pool"]
            ),
            "in_use": GaugeMetricFamily(
                "d07_db_pool_connections_in_use",
                "Connections of the database pool acquired and not yet released.",
                labels=["pool"],
            ),
            "idle": GaugeMetricFamily(
                "d07_db_pool_connections_idle",
                "Open connections of the pool waiting to be used.",
                labels=["pool"],
            ),
            "max": GaugeMetricFamily(
                "d07_db_pool_connections_max", "The most connections the pool opens.", labels=["pool"]
            ),
            "waiting": GaugeMetricFamily(
                "d07_db_pool_acquires_waiting",
                "Acquisitions waiting for a connection of the pool (all are in use).",
                labels=["pool"],
            ),
        }
        for name, pool in sorted(self._pools.items()):
            if pool.is_closing():
                self._pools.pop(name, None)
                continue
            size, idle = pool.get_size(), pool.get_idle_size()
            families["size"].add_metric([name], size)
            families["in_use"].add_metric([name], max(0, size - idle))
            families["idle"].add_metric([name], idle)
            families["max"].add_metric([name], pool.get_max_size())
            families["waiting"].add_metric([name], _waiting(pool))
        yield from families.values()


def _waiting(pool: asyncpg.Pool) -> int:
    """Acquisitions blocked on the pool's queue of free connections. asyncpg keeps its free connections in
    an asyncio.Queue (`_queue`) and gives no public count of the waiters: the queue's pending getters."""
    queue = getattr(pool, "_queue", None)
    getters = getattr(queue, "_getters", None) or ()
    return sum(1 for g in getters if not g.done())


POOLS = PoolCollector()
REGISTRY.register(POOLS)
