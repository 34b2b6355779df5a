"""Queries of the read models (reads skip the domain): how far each stream has been applied, and up to which
offset of each partition."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from d07.platform.auth import ADMIN, AUDITOR, CHAIRMAN_OFFICE, POLICE, SERVICE, Principal, require_roles

# The projections' consumer (its ConsumerSpec name, the `consumer` of its inbox rows).
PROJECTIONS = "projections"


@dataclass(frozen=True)
class PartitionOffset:
    partition: int
    offset: int


@dataclass(frozen=True)
class StreamStatus:
    topic: str
    events_applied: int
    last_event_at: datetime | None
    consumed: list[PartitionOffset] = field(default_factory=list)


@dataclass(frozen=True)
class ProjectionStatus:
    streams: list[StreamStatus]
    units: int
    cameras: int
    violations: int


async def projection_status(pool: asyncpg.Pool, *, principal: Principal) -> ProjectionStatus:
    require_roles(principal, ADMIN, POLICE, CHAIRMAN_OFFICE, AUDITOR, SERVICE)
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT topic, events_applied, last_event_at FROM stream_status ORDER BY topic"
        )
        offsets = await conn.fetch(
            """SELECT topic, partition, max("offset") AS "offset" FROM inbox WHERE consumer = $1
                GROUP BY topic, partition ORDER BY topic, partition""",
            PROJECTIONS,
        )
        units = await conn.fetchval("SELECT count(*) FROM units")
        cameras = await conn.fetchval("SELECT count(*) FROM cameras")
        violations = await conn.fetchval("SELECT count(*) FROM violations")
    consumed: dict[str, list[PartitionOffset]] = {}
    for o in offsets:
        consumed.setdefault(o["topic"], []).append(PartitionOffset(o["partition"], o["offset"]))
    return ProjectionStatus(
        streams=[
            StreamStatus(r["topic"], r["events_applied"], r["last_event_at"], consumed.get(r["topic"], []))
            for r in rows
        ],
        units=units,
        cameras=cameras,
        violations=violations,
    )
