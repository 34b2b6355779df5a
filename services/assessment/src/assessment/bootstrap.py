"""Composition root of assessment: what the process is built from (no I/O at import time).

The criteria and the units read copy (`service.handlers`), rounds and assessments (`rounds`) and the derived
criteria (`derived`, with its own consumers) are wired here, in one place.
"""

from __future__ import annotations

from pathlib import Path

from assessment.config import AssessmentSettings
from assessment.derived import workers as derived_workers
from assessment.entrypoints import grpc as grpc_door
from assessment.entrypoints import http as http_door
from assessment.rounds import http as rounds_http
from assessment.service import handlers
from d07.platform.runtime import ConsumerSpec, Deps, ServiceSpec

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def consumers(deps: Deps) -> list[ConsumerSpec]:
    registry = ConsumerSpec(
        name="registry",
        topics=handlers.EVENT_TOPICS,
        messages=handlers.EVENT_MESSAGES,
        handlers=handlers.EVENT_HANDLERS,
    )
    return [registry, *derived_workers.consumers(deps)]


SPEC = ServiceSpec(
    name="assessment",
    title="d07 assessment: the yearly 'Safe regarding security and order' standard",
    settings=AssessmentSettings,
    migrations_dir=MIGRATIONS,
    grpc_services=["d07.assessment.v1.AssessmentService"],
    register_grpc=lambda server, deps: grpc_door.register(server, deps.pool),
    routers=lambda deps: [http_door.router(deps.pool), rounds_http.router(deps.pool)],
    consumers=consumers,
)
