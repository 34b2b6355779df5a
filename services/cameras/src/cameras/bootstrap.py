"""Composition root of cameras: its dependencies are built here, at start, never at import.

Each aggregate is a subpackage with the same files (domain, service, repository, messages, grpc, http,
events, workers); this module is the one place that wires their doors, consumers and periodic work into
the process. `CamerasDeps` lives here, with what the doors share: the registry client (its gRPC channel
closed at stop), the detections' camera directory and the violations' activity signal. The aggregates'
doors and workers type their argument with their own protocol of what they read of it (`NetworkDeps`,
`DetectionsDeps`, `ViolationsDeps` in each service.py): they cannot import this module, which imports them.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import grpc
from fastapi import APIRouter

from cameras.config import CamerasSettings
from cameras.detections import events as detections_events
from cameras.detections import grpc as detections_grpc
from cameras.detections import http as detections_http
from cameras.detections import service as detections_service
from cameras.detections.domain import Directory
from cameras.network import grpc as network_grpc
from cameras.network import http as network_http
from cameras.network import workers as network_workers
from cameras.network.registry_client import RegistryClient
from cameras.violations import grpc as violations_grpc
from cameras.violations import http as violations_http
from cameras.violations import workers as violations_workers
from cameras.violations.repository import ActivitySignal
from d07.platform.grpc import client_channel
from d07.platform.runtime import ConsumerSpec, Deps, ServiceSpec, Worker, service_token_provider

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
GRPC_SERVICES = [network_grpc.SERVICE_NAME, detections_grpc.SERVICE_NAME, violations_grpc.SERVICE_NAME]


@dataclass(kw_only=True)
class CamerasDeps(Deps):
    settings: CamerasSettings
    # The registry, asked whether a unit exists and which divisions there are (gRPC, with a deadline).
    registry: RegistryClient
    # The detections' in-memory camera directory, shared by the three doors of detections.
    directory: Directory
    # Wakes the readers of the violations' activity feed (one LISTEN connection while somebody reads).
    signal: ActivitySignal


@contextlib.asynccontextmanager
async def build_deps(base: Deps) -> AsyncIterator[CamerasDeps]:
    settings = cast(CamerasSettings, base.settings)  # `extend` checks the type
    channel = client_channel(
        settings.registry_grpc,
        token=service_token_provider(settings),
        default_timeout=settings.registry_timeout_seconds,
    )
    try:
        yield base.extend(
            CamerasDeps,
            registry=RegistryClient(channel, timeout=settings.registry_timeout_seconds),
            directory=detections_service.new_directory(settings),
            signal=ActivitySignal(settings.resolved_database_url(), settings.db_schema),
        )
    finally:
        await channel.close(grace=None)


def register_grpc(server: grpc.aio.Server, deps: CamerasDeps) -> None:
    network_grpc.register(server, deps)
    detections_grpc.register(server, deps)
    violations_grpc.register(server, deps)


def routers(deps: CamerasDeps) -> list[APIRouter]:
    return [network_http.router(deps), detections_http.router(deps), violations_http.router(deps)]


def workers(deps: CamerasDeps) -> list[Worker]:
    return [*network_workers.workers(deps), *violations_workers.workers(deps)]


def consumers(deps: CamerasDeps) -> list[ConsumerSpec]:
    return [detections_events.consumer(deps)]


SPEC = ServiceSpec(
    name="cameras",
    title="d07 cameras: the camera network, health, detections and violations",
    settings=CamerasSettings,
    migrations_dir=MIGRATIONS,
    grpc_services=GRPC_SERVICES,
    register_grpc=register_grpc,
    routers=routers,
    consumers=consumers,
    deps=build_deps,
    workers=workers,
    audit_api=True,
    # A detections batch refuses a bad item by its index and stores the good ones (detections.domain).
    per_item_bodies=("/v1/detections:batch",),
)
