"""Composition root of awards: what the process is built from (no I/O at import time).

Award forms (`forms`), rounds, nominations and decisions (`nominations`, with its consumer of the registry's,
assessment's and cameras' events) and the certificates of decided awards (`certificates`) are wired here, in
one place. The doors take `AwardsDeps` (config.py), built once at start by `build_deps`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter

from awards import grpc as grpc_door
from awards.certificates import http as certificates_http
from awards.config import AwardsDeps, AwardsSettings
from awards.forms import http as forms_http
from awards.nominations import events as nomination_events
from awards.nominations import http as nominations_http
from d07.platform.runtime import ConsumerSpec, Deps, ServiceSpec

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"

__all__ = ["SPEC", "AwardsDeps", "build_deps"]


@asynccontextmanager
async def build_deps(base: Deps) -> AsyncIterator[AwardsDeps]:
    """The service's dependencies: the process's with the awards settings (awards calls no peer)."""
    yield base.extend(AwardsDeps)


def consumers(deps: AwardsDeps) -> list[ConsumerSpec]:
    """One consumer group (`awards.records`) over every stream the eligibility rules read: one group join
    instead of five, and each stream keeps its own key order."""
    return [ConsumerSpec(name="records", table=nomination_events.TABLE)]


def routers(deps: AwardsDeps) -> list[APIRouter]:
    return [forms_http.router(deps), nominations_http.router(deps), certificates_http.router(deps)]


SPEC = ServiceSpec(
    name="awards",
    title="d07 awards: certificates of merit and commendation",
    settings=AwardsSettings,
    migrations_dir=MIGRATIONS,
    grpc_services=grpc_door.SERVICE_NAMES,
    register_grpc=grpc_door.register,
    routers=routers,
    # Anyone holding a certificate may check it: the verification route needs no token.
    public_routers=lambda deps: [certificates_http.public_router(deps)],
    consumers=consumers,
    deps=build_deps,
    audit_api=True,
)
