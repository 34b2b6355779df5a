"""A tiny service for the rebuild tests: one consumer over one topic into one read-model table (`applied`).

`python -m tests.platform.events_rebuild_service <role>` runs it through the platform's runtime like any
service's `python -m <service> <role>`, configured by the environment: D07_SERVICE (the schema),
D07_DATABASE_URL, D07_KAFKA_BOOTSTRAP, D07_TEST_TOPIC, and D07_TEST_READ_MODELS (comma-separated tables;
empty: a service without read models).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from d07.platform.runtime import ConsumerSpec, ServiceSpec, main
from d07.platform.settings import ServiceSettings
from d07.registry.v1 import registry_pb2
from tests.platform.events_support import record_applied

MIGRATIONS = Path(__file__).resolve().parent / "rebuild_migrations"
CONSUMER = "projections"


def make_spec(
    schema: str, topic: str, read_models: Sequence[str], settings: ServiceSettings | None = None
) -> ServiceSpec:
    return ServiceSpec(
        name=schema,
        title="d07 rebuild test service",
        settings=(lambda: settings) if settings is not None else ServiceSettings,
        migrations_dir=MIGRATIONS,
        grpc_services=[],
        register_grpc=lambda server, deps: None,
        routers=lambda deps: [],
        consumers=lambda deps: [
            ConsumerSpec(name=CONSUMER, table={topic: {registry_pb2.UnitCreated: record_applied}})
        ],
        read_models=tuple(read_models),
    )


if __name__ == "__main__":
    models = [t for t in os.environ.get("D07_TEST_READ_MODELS", "").split(",") if t]
    main(make_spec(os.environ["D07_SERVICE"], os.environ["D07_TEST_TOPIC"], models))
