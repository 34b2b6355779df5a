"""Queries of the read models (reads skip the domain)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from d07.platform.auth import ADMIN, AUDITOR, CHAIRMAN_OFFICE, POLICE, SERVICE, Principal, require_roles


@dataclass(frozen=True)
class StreamStatus:
    topic: str
    events_applied: int
    last_event_at: datetime | None


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
        units = await conn.fetchval("SELECT count(*) FROM units")
        cameras = await conn.fetchval("SELECT count(*) FROM cameras")
        violations = await conn.fetchval("SELECT count(*) FROM violations")
    return ProjectionStatus(
        streams=[StreamStatus(r["topic"], r["events_applied"], r["last_event_at"]) for r in rows],
        units=units,
        cameras=cameras,
        violations=violations,
    )
