"""Composition root of awards."""

from __future__ import annotations

from pathlib import Path

from awards.config import AwardsSettings
from awards.entrypoints import grpc as grpc_door
from awards.entrypoints import http as http_door
from d07.platform.runtime import ServiceSpec

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

SPEC = ServiceSpec(
    name="awards",
    title="d07 awards: certificates of merit and commendation",
    settings=AwardsSettings,
    migrations_dir=MIGRATIONS,
    grpc_services=["d07.awards.v1.AwardsService"],
    register_grpc=lambda server, deps: grpc_door.register(server, deps.pool),
    routers=lambda deps: [http_door.router(deps.pool)],
)
