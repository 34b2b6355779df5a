"""Composition root of cameras: the registry client is built here, at start, never at import."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from cameras.adapters.registry_client import RegistryClient
from cameras.config import CamerasSettings
from cameras.entrypoints import grpc as grpc_door
from cameras.entrypoints import http as http_door
from d07.platform.grpc import client_channel
from d07.platform.runtime import Deps, ServiceSpec, service_token_provider

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


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


SPEC = ServiceSpec(
    name="cameras",
    title="d07 cameras: the camera network, health, detections and violations",
    settings=CamerasSettings,
    migrations_dir=MIGRATIONS,
    grpc_services=["d07.cameras.v1.CamerasService"],
    register_grpc=lambda server, deps: grpc_door.register(server, deps.pool, deps.extra["registry"]),
    routers=lambda deps: [http_door.router(deps.pool, deps.extra["registry"])],
    setup=setup,
)
