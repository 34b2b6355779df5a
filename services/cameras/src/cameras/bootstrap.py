"""Composition root of cameras: the registry client is built here, at start, never at import.

Each aggregate is a subpackage with the same files (domain, service, repository, messages, grpc, http,
workers); the table below is the one place that wires their doors and background work into the process.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
from fastapi import APIRouter

from cameras.config import CamerasSettings
from cameras.detections import grpc as detections_grpc
from cameras.detections import http as detections_http
from cameras.detections import workers as detections_workers
from cameras.network import grpc as network_grpc
from cameras.network import http as network_http
from cameras.network import workers as network_workers
from cameras.network.registry_client import RegistryClient
from cameras.violations import grpc as violations_grpc
from cameras.violations import http as violations_http
from cameras.violations import workers as violations_workers
from d07.platform.grpc import client_channel
from d07.platform.runtime import ConsumerSpec, Deps, ServiceSpec, Worker, service_token_provider

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

# Per aggregate: (gRPC door, HTTP door, background work).
AGGREGATES = [
    (network_grpc, network_http, network_workers),
    (detections_grpc, detections_http, detections_workers),
    (violations_grpc, violations_http, violations_workers),
]
GRPC_SERVICES = [g.SERVICE_NAME for g, _, _ in AGGREGATES if g.SERVICE_NAME]


async def setup(deps: Deps) -> Callable[[], Awaitable[None]]:
    settings = deps.settings
    assert isinstance(settings, CamerasSettings)
    channel = client_channel(
        settings.registry_grpc,
        token=service_token_provider(settings),
        default_timeout=settings.registry_timeout_seconds,
    )
    deps.extra["registry"] = RegistryClient(channel, timeout=settings.registry_timeout_seconds)

    async def close() -> None:
        await channel.close(grace=None)

    return close


def register_grpc(server: grpc.aio.Server, deps: Deps) -> None:
    for grpc_door, _, _ in AGGREGATES:
        grpc_door.register(server, deps)


def routers(deps: Deps) -> list[APIRouter]:
    return [http_door.router(deps) for _, http_door, _ in AGGREGATES]


def workers(deps: Deps) -> list[Worker]:
    return [w for _, _, work in AGGREGATES for w in work.workers(deps)]


def consumers(deps: Deps) -> list[ConsumerSpec]:
    return [c for _, _, work in AGGREGATES for c in work.consumers(deps)]


SPEC = ServiceSpec(
    name="cameras",
    title="d07 cameras: the camera network, health, detections and violations",
    settings=CamerasSettings,
    migrations_dir=MIGRATIONS,
    grpc_services=GRPC_SERVICES,
    register_grpc=register_grpc,
    routers=routers,
    consumers=consumers,
    setup=setup,
    workers=workers,
)
