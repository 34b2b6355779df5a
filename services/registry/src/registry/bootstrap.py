"""Composition root of the registry: what the process is built from (no I/O at import time).

Each aggregate is a subpackage with the same files (domain, service, repository, messages, grpc, http); the
table below is the one place that wires their doors into the process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
from fastapi import APIRouter

from d07.platform.runtime import Deps, ServiceSpec
from registry.config import RegistrySettings
from registry.directives import grpc as directives_grpc
from registry.directives import http as directives_http
from registry.divisions import http as divisions_http
from registry.divisions import service as divisions
from registry.forces import grpc as forces_grpc
from registry.forces import http as forces_http
from registry.models import grpc as models_grpc
from registry.models import http as models_http
from registry.training import grpc as training_grpc
from registry.training import http as training_http
from registry.units import grpc as units_grpc
from registry.units import http as units_http

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

# The doors of every aggregate: (gRPC module, HTTP module). Divisions are served by RegistryService (units).
DOORS = [
    (units_grpc, units_http),
    (forces_grpc, forces_http),
    (models_grpc, models_http),
    (training_grpc, training_http),
    (directives_grpc, directives_http),
]
GRPC_SERVICES = ["d07.registry.v1.RegistryService"] + [g.SERVICE_NAME for g, _ in DOORS[1:] if g.SERVICE_NAME]


def register_grpc(server: grpc.aio.Server, deps: Deps) -> None:
    for grpc_door, _ in DOORS:
        grpc_door.register(server, deps.pool)


def routers(deps: Deps) -> list[APIRouter]:
    return [http_door.router(deps.pool) for _, http_door in DOORS] + [divisions_http.router(deps.pool)]


async def setup(deps: Deps) -> Callable[[], Awaitable[None]] | None:
    await divisions.ensure_loaded(deps.pool)
    return None


SPEC = ServiceSpec(
    name="registry",
    title="d07 registry: units, divisions, security forces, guards, models, training, directives",
    settings=RegistrySettings,
    migrations_dir=MIGRATIONS,
    grpc_services=GRPC_SERVICES,
    register_grpc=register_grpc,
    routers=routers,
    setup=setup,
)
