"""Composition root of assessment: what the process is built from (no I/O at import time).

The aggregates (criteria, known_units, rounds, actions, derived) are wired here, in one place: their HTTP
routers, the one gRPC service their methods share (`assessment.grpc`), and the consumers of the units read
copy and of the derived criteria, each from its aggregate's handler table (events.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from assessment import grpc as grpc_door
from assessment.actions import http as actions_http
from assessment.config import AssessmentDeps, AssessmentSettings
from assessment.criteria import http as criteria_http
from assessment.derived import events as derived_events
from assessment.known_units import events as known_units_events
from assessment.known_units import http as known_units_http
from assessment.rounds import http as rounds_http
from d07.platform.runtime import ConsumerSpec, Deps, ServiceSpec

__all__ = ["SPEC", "AssessmentDeps", "build_deps"]

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


@asynccontextmanager
async def build_deps(base: Deps) -> AsyncIterator[AssessmentDeps]:
    """Assessment calls no peer: its dependencies are the process's, with its own settings."""
    yield base.extend(AssessmentDeps)


def consumers(deps: AssessmentDeps) -> list[ConsumerSpec]:
    # The units read copy (group `assessment.registry`); the derived criteria's read models and review flags
    # (group `assessment.derived`).
    return [known_units_events.CONSUMER, derived_events.CONSUMER]


SPEC = ServiceSpec(
    name="assessment",
    title="d07 assessment: the yearly 'Safe regarding security and order' standard",
    settings=AssessmentSettings,
    migrations_dir=MIGRATIONS,
    grpc_services=[grpc_door.SERVICE_NAME],
    register_grpc=grpc_door.register,
    routers=lambda deps: [
        criteria_http.router(deps),
        known_units_http.router(deps),
        rounds_http.router(deps),
        actions_http.router(deps),
    ],
    consumers=consumers,
    deps=build_deps,
    audit_api=True,
)
