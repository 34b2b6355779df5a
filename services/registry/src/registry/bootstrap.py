"""Composition root of the registry: what the process is built from (no I/O at import time)."""

from __future__ import annotations

from pathlib import Path

from d07.platform.runtime import Deps, ServiceSpec
from registry.config import RegistrySettings
from registry.entrypoints import grpc as grpc_door
from registry.entrypoints import http as http_door

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

SPEC = ServiceSpec(
    name="registry",
    title="d07 registry: units, security forces, guards, models, training",
    settings=RegistrySettings,
    migrations_dir=MIGRATIONS,
    grpc_services=["d07.registry.v1.RegistryService"],
    register_grpc=lambda server, deps: grpc_door.register(server, deps.pool),
    routers=lambda deps: [http_door.router(deps.pool)],
)


def spec() -> ServiceSpec:
    return SPEC


__all__ = ["SPEC", "Deps", "spec"]
