"""Composition root of assessment."""

from __future__ import annotations

from pathlib import Path

from assessment.config import AssessmentSettings
from assessment.entrypoints import grpc as grpc_door
from assessment.entrypoints import http as http_door
from assessment.service import handlers
from d07.platform.runtime import ConsumerSpec, ServiceSpec

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

SPEC = ServiceSpec(
    name="assessment",
    title="d07 assessment: the yearly 'Safe regarding security and order' standard",
    settings=AssessmentSettings,
    migrations_dir=MIGRATIONS,
    grpc_services=["d07.assessment.v1.AssessmentService"],
    register_grpc=lambda server, deps: grpc_door.register(server, deps.pool),
    routers=lambda deps: [http_door.router(deps.pool)],
    consumers=lambda deps: [
        ConsumerSpec(
            name="registry",
            topics=handlers.EVENT_TOPICS,
            messages=handlers.EVENT_MESSAGES,
            handlers=handlers.EVENT_HANDLERS,
        )
    ],
)
