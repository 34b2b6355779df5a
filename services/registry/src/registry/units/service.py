"""Handlers of unit commands and queries: one logic path behind the gRPC and HTTP doors."""

from __future__ import annotations

import uuid

import asyncpg

from d07.platform import audit
from d07.platform.auth import ADMIN, Principal, ensure_unit_access, require_roles
from d07.platform.errors import AlreadyExists, FieldProblem, InvalidArgument, NotFound
from d07.platform.events import outbox
from d07.registry.v1 import registry_pb2 as pb
from registry.divisions import service as divisions
from registry.units import messages
from registry.units import repository as units_repo
from registry.units.domain import CreateUnit, Unit, validate

SOURCE = "/d07/registry"
UNITS_TOPIC = "d07.registry.units.v1"
MAX_BATCH = 1000


def parse_id(value: str, field: str = "id") -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise InvalidArgument(
            "not a unit id", code="invalid_id", fields=[FieldProblem(field, "a UUID is expected")]
        ) from None


async def create_unit(pool: asyncpg.Pool, cmd: CreateUnit, *, principal: Principal) -> Unit:
    require_roles(principal, ADMIN)
    cmd = validate(cmd)
    async with pool.acquire() as conn, conn.transaction():
        problems = await divisions.check_place(
            conn, district_code=cmd.district_code, commune_code=cmd.commune_code
        )
        if problems:
            raise InvalidArgument(
                "the unit's place is not in the province", code="unknown_place", fields=problems
            )
        unit = await units_repo.add(conn, unit_id=uuid.uuid4(), cmd=cmd)
        if unit is None:
            raise AlreadyExists(
                f"a unit with code {cmd.code} exists",
                code="unit_code_taken",
                resource_type="unit",
                resource_id=cmd.code,
                fields=[FieldProblem("code", "already used by another unit")],
            )
        await audit.record(
            conn,
            action="unit.create",
            object_type="unit",
            object_id=str(unit.id),
            unit_id=str(unit.id),
            details={"code": unit.code, "name": unit.name},
        )
        await outbox.add(
            conn,
            topic=UNITS_TOPIC,
            key=str(unit.id),
            source=SOURCE,
            subject=str(unit.id),
            message=pb.UnitCreated(unit=messages.unit_to_pb(unit), actor=messages.actor(principal)),
        )
    return unit


async def get_unit(pool: asyncpg.Pool, unit_id: str, *, principal: Principal) -> Unit:
    uid = parse_id(unit_id)
    ensure_unit_access(principal, str(uid))
    async with pool.acquire() as conn:
        unit = await units_repo.get(conn, unit_id=uid)
    if unit is None:
        raise NotFound(f"no unit {uid}", code="unit_not_found", resource_type="unit", resource_id=str(uid))
    return unit


async def batch_get_units(
    pool: asyncpg.Pool, ids: list[str], *, principal: Principal
) -> tuple[list[Unit], list[str]]:
    """The units that exist and the ids that do not. For services and province-wide readers."""
    if len(ids) > MAX_BATCH:
        raise InvalidArgument(
            f"at most {MAX_BATCH} ids per call",
            code="batch_too_large",
            fields=[FieldProblem("ids", f"{len(ids)} given")],
        )
    parsed = [parse_id(i, f"ids[{n}]") for n, i in enumerate(ids)]
    if principal.is_unit_officer_only:
        for uid in parsed:
            ensure_unit_access(principal, str(uid))
    async with pool.acquire() as conn:
        units = await units_repo.get_many(conn, unit_ids=parsed)
    found = {u.id for u in units}
    return units, [str(u) for u in parsed if u not in found]
