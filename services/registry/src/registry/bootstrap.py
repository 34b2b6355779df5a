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
from registry.divisions import http as divisions_http
from registry.divisions import service as divisions
from registry.units import grpc as units_grpc
from registry.units import http as units_http

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

GRPC_SERVICES = ["d07.registry.v1.RegistryService"]


def register_grpc(server: grpc.aio.Server, deps: Deps) -> None:
    units_grpc.register(server, deps.pool)


def routers(deps: Deps) -> list[APIRouter]:
    return [units_http.router(deps.pool), divisions_http.router(deps.pool)]


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
