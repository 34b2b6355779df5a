"""Handlers of assessment: queries, and the events it consumes from the registry."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from assessment.adapters import criteria_repo
from assessment.domain.criteria import CriteriaSet
from d07.platform.auth import Principal, ensure_unit_access
from d07.platform.errors import FieldProblem, InvalidArgument, NotFound
from d07.platform.events.consumer import InvalidEvent
from d07.platform.events.envelope import ConsumedEvent
from d07.registry.v1 import registry_pb2

UNIT_KINDS = {1: "agency", 2: "enterprise", 3: "school"}
UNIT_STATUSES = {1: "active", 2: "merged", 3: "dissolved"}


@dataclass(frozen=True)
class KnownUnit:
    unit_id: uuid.UUID
    code: str
    name: str
    kind: str
    district_code: str


async def list_criteria_sets(pool: asyncpg.Pool, *, principal: Principal) -> list[CriteriaSet]:
    # Criteria are public rules of the standard: every authenticated caller may read them.
    async with pool.acquire() as conn:
        return await criteria_repo.list_sets(conn)


async def get_known_unit(pool: asyncpg.Pool, unit_id: str, *, principal: Principal) -> KnownUnit:
    try:
        uid = uuid.UUID(unit_id)
    except ValueError:
        raise InvalidArgument(
            "not a unit id", code="invalid_id", fields=[FieldProblem("unit_id", "a UUID is expected")]
        ) from None
    ensure_unit_access(principal, str(uid))
    async with pool.acquire() as conn:
        row = await criteria_repo.get_unit(conn, uid)
    if row is None:
        raise NotFound(
            f"no unit {uid} known to assessment",
            code="unit_not_found",
            resource_type="unit",
            resource_id=str(uid),
        )
    return KnownUnit(row["unit_id"], row["code"], row["name"], row["kind"], row["district_code"])


async def on_unit(conn: asyncpg.Connection, event: ConsumedEvent) -> None:
    msg = event.message
    assert isinstance(msg, registry_pb2.UnitCreated | registry_pb2.UnitUpdated)
    u = msg.unit
    try:
        uuid.UUID(u.id)
    except ValueError:
        raise InvalidEvent(f"unit id {u.id!r} is not a UUID") from None
    await criteria_repo.upsert_unit(
        conn,
        unit_id=u.id,
        code=u.code,
        name=u.name,
        kind=UNIT_KINDS.get(u.kind, "unspecified"),
        district_code=u.district_code,
        version=u.version,
        status=UNIT_STATUSES.get(u.status, "active"),
        in_scope=u.in_scope,
    )


EVENT_HANDLERS = {
    "d07.registry.v1.UnitCreated": on_unit,
    "d07.registry.v1.UnitUpdated": on_unit,
}
EVENT_MESSAGES = [registry_pb2.UnitCreated, registry_pb2.UnitUpdated]
EVENT_TOPICS = ["d07.registry.units.v1"]
