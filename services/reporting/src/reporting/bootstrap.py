"""Composition root of reporting."""

from __future__ import annotations

from pathlib import Path

from d07.platform.runtime import ConsumerSpec, ServiceSpec
from reporting.config import ReportingSettings
from reporting.entrypoints import grpc as grpc_door
from reporting.entrypoints import http as http_door
from reporting.service import projections
from reporting.service.status import PROJECTIONS

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

SPEC = ServiceSpec(
    name="reporting",
    title="d07 reporting: read models and review reports",
    settings=ReportingSettings,
    migrations_dir=MIGRATIONS,
    grpc_services=["d07.reporting.v1.ReportingService"],
    register_grpc=lambda server, deps: grpc_door.register(server, deps.pool),
    routers=lambda deps: [http_door.router(deps.pool)],
    read_models=projections.READ_MODELS,
    consumers=lambda deps: [
        ConsumerSpec(
            name=PROJECTIONS,
            topics=projections.TOPICS,
            messages=projections.MESSAGES,
            batch_handler=projections.project,
        )
    ],
)
