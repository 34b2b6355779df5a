"""Composition root of awards: what the process is built from (no I/O at import time).

Award forms (`service.forms`), rounds, nominations and decisions (`nominations`, with its consumer of the
registry's, assessment's and cameras' events) and the certificates of decided awards (`certificates`) are
wired here, in one place.
"""

from __future__ import annotations

from pathlib import Path

import grpc

from awards.certificates import grpc as certificates_grpc
from awards.certificates import http as certificates_http
from awards.config import AwardsSettings
from awards.entrypoints import grpc as grpc_door
from awards.entrypoints import http as http_door
from awards.nominations import events as nomination_events
from awards.nominations import http as nominations_http
from d07.platform.runtime import ConsumerSpec, Deps, ServiceSpec

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def consumers(deps: Deps) -> list[ConsumerSpec]:
    """One consumer group (`awards.records`) over every stream the eligibility rules read: one group join
    instead of five, and each stream keeps its own key order."""
    return [
        ConsumerSpec(
            name="records",
            topics=nomination_events.EVENT_TOPICS,
            messages=nomination_events.EVENT_MESSAGES,
            handlers=nomination_events.EVENT_HANDLERS,
        )
    ]


def register_grpc(server: grpc.aio.Server, deps: Deps) -> None:
    grpc_door.register(server, deps.pool)
    certificates_grpc.register(server, deps)


SPEC = ServiceSpec(
    name="awards",
    title="d07 awards: certificates of merit and commendation",
    settings=AwardsSettings,
    migrations_dir=MIGRATIONS,
    grpc_services=["d07.awards.v1.AwardsService", certificates_grpc.SERVICE_NAME],
    register_grpc=register_grpc,
    routers=lambda deps: [
        http_door.router(deps.pool),
        nominations_http.router(deps.pool),
        certificates_http.router(deps),
    ],
    # Anyone holding a certificate may check it: the verification route needs no token.
    public_routers=lambda deps: [certificates_http.public_router(deps)],
    consumers=consumers,
)
