"""Composition root of the registry: what the process is built from (no I/O at import time).

Each aggregate is a subpackage with the same files (domain, service, repository, messages, grpc, http); the
tables below are the one place that wires their doors into the process. RegistryService spans two aggregates
(units and divisions): registry.grpc composes their parts, so it is one gRPC door like the others.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
from fastapi import APIRouter

from d07.platform.runtime import Deps, ServiceSpec
from registry import grpc as registry_grpc
from registry.config import RegistryDeps, RegistrySettings
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
from registry.units import http as units_http

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

# The gRPC doors (one per proto service) and the HTTP doors (one per aggregate).
GRPC_DOORS = [registry_grpc, forces_grpc, models_grpc, training_grpc, directives_grpc]
HTTP_DOORS = [units_http, divisions_http, forces_http, models_http, training_http, directives_http]


@asynccontextmanager
async def build_deps(base: Deps) -> AsyncIterator[RegistryDeps]:
    """The registry's dependencies; at start, the divisions of the data file are loaded (once per version)."""
    deps = base.extend(RegistryDeps)
    await divisions.ensure_loaded(deps.uow(divisions.DivisionsUnitOfWork))
    yield deps


def register_grpc(server: grpc.aio.Server, deps: RegistryDeps) -> None:
    for door in GRPC_DOORS:
        door.register(server, deps)


def routers(deps: RegistryDeps) -> list[APIRouter]:
    return [door.router(deps) for door in HTTP_DOORS]


SPEC = ServiceSpec(
    name="registry",
    title="d07 registry: units, divisions, security forces, guards, models, training, directives",
    settings=RegistrySettings,
    migrations_dir=MIGRATIONS,
    grpc_services=[door.SERVICE_NAME for door in GRPC_DOORS],
    register_grpc=register_grpc,
    routers=routers,
    deps=build_deps,
    audit_api=True,
)
