"""Periodic work of the camera network: the health worker (silent cameras go offline, the online and offline
gauges follow the database). It runs in the relay role (in-process by default)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import asyncpg
import structlog
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from cameras.config import CamerasSettings
from cameras.network import service
from cameras.network.domain import HealthCounts
from cameras.network.service import NetworkDeps, NetworkUnitOfWork
from d07.platform.runtime import Worker

log = structlog.get_logger()


class HealthGauges(Collector):
    """`d07_cameras_installed`, `d07_cameras_online` and `d07_cameras_offline` as last read from the database.
    Until a first reading, the process exports none: a process that does not run the health worker shows no
    number rather than a wrong zero."""

    def __init__(self) -> None:
        self.values: HealthCounts | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self.values is None:
            return
        yield GaugeMetricFamily(
            "d07_cameras_installed", "Cameras installed (in service)", self.values.installed
        )
        yield GaugeMetricFamily(
            "d07_cameras_online", "Cameras in service seen within the threshold", self.values.online
        )
        yield GaugeMetricFamily(
            "d07_cameras_offline",
            "Installed cameras silent past the threshold (or never seen)",
            self.values.offline,
        )


GAUGES = HealthGauges()
REGISTRY.register(GAUGES)


def check_interval(settings: CamerasSettings) -> float:
    if settings.camera_health_check_seconds > 0:
        return settings.camera_health_check_seconds
    return min(30.0, max(1.0, settings.camera_offline_after_seconds / 10))


async def health_round(uow: NetworkUnitOfWork, *, offline_after_seconds: float) -> int:
    """One pass: take silent cameras offline (a transaction per batch, each with its events), then refresh
    the gauges. The number of cameras taken offline."""
    gone = await service.take_offline(uow, offline_after_seconds=offline_after_seconds)
    GAUGES.values = await service.health_counts(uow)
    if gone:
        log.info("cameras_went_offline", count=len(gone))
    return len(gone)


def workers(deps: NetworkDeps) -> list[Worker]:
    settings = deps.settings
    every = check_interval(settings)

    async def health_worker(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await health_round(
                    deps.uow(NetworkUnitOfWork), offline_after_seconds=settings.camera_offline_after_seconds
                )
            except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError) as exc:
                # The database restarting is not a reason to stop the process: the next round tries again.
                log.warning("camera_health_round_failed", error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every)

    return [health_worker]
