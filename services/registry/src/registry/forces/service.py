"""Handlers of security force and guard commands and queries: one logic path behind the gRPC and HTTP doors.

Every change is one transaction: the rows, the audit row and the event (through the outbox). Who may do what:
`admin` writes everything; a `unit_officer` reads and writes its own unit's force and guards only; the
province-wide roles (auditor, police, ...) read.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import asyncpg

from d07.platform import audit, pagination
from d07.platform.auth import (
    ADMIN,
    PROVINCE_WIDE_READERS,
    UNIT_OFFICER,
    Principal,
    ensure_unit_access,
    require_roles,
)
from d07.platform.db import Conn
from d07.platform.errors import AlreadyExists, FieldProblem, InvalidArgument, NotFound
from d07.platform.events import outbox
from d07.platform.text import fold
from registry import tabular
from registry.forces import messages
from registry.forces import repository as repo
from registry.forces.domain import (
    GUARD_HEADERS,
    GUARD_REQUIRED,
    ForceDetails,
    ForceEvent,
    Guard,
    GuardDetails,
    GuardEvent,
    GuardLeft,
    GuardRegistered,
    GuardStatus,
    GuardUpdated,
    SecurityForce,
    SecurityForceEstablished,
    SecurityForceUpdated,
    check_leave,
    check_version,
    parse_guard_rows,
    validate_force,
    validate_guard,
)

SOURCE = "/d07/registry"
FORCES_TOPIC = "d07.registry.forces.v1"
MAX_BATCH = 1000
WRITERS = (ADMIN, UNIT_OFFICER)
READERS = (*PROVINCE_WIDE_READERS, UNIT_OFFICER)
PROVINCE = ZoneInfo("Asia/Ho_Chi_Minh")


def today() -> date:
    """The province's date: what "not in the future" means for the dates people write."""
    return datetime.now(PROVINCE).date()


def parse_id(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise InvalidArgument(
            f"{field} is not an id", code="invalid_id", fields=[FieldProblem(field, "a UUID is expected")]
        ) from None


async def _publish(conn: Conn, event: ForceEvent | GuardEvent, principal: Principal) -> None:
    """The event on the topic: a force's keyed by its unit (one force per unit), a guard's by the guard."""
    if isinstance(event, SecurityForceEstablished | SecurityForceUpdated):
        key = str(event.force.unit_id)
    else:
        key = str(event.guard.id)
    message = messages.event_to_pb(event, principal)
    await outbox.add(conn, topic=FORCES_TOPIC, key=key, source=SOURCE, subject=key, message=message)


async def _require_unit(conn: Conn, unit_id: uuid.UUID) -> None:
    if not await repo.unit_exists(conn, unit_id=unit_id):
        raise InvalidArgument(
            f"no unit {unit_id}", code="unknown_unit", fields=[FieldProblem("unit_id", "no such unit")]
        )


def _force_not_found(unit_id: uuid.UUID) -> NotFound:
    return NotFound(
        f"unit {unit_id} has no security force", code="force_not_found",
        resource_type="security_force", resource_id=str(unit_id),
    )  # fmt: skip


def _guard_not_found(guard_id: uuid.UUID) -> NotFound:
    return NotFound(
        f"no guard {guard_id}", code="guard_not_found", resource_type="guard", resource_id=str(guard_id)
    )


# --- security forces --------------------------------------------------------------------------------


async def establish_force(
    pool: asyncpg.Pool, *, unit_id: str, details: ForceDetails, principal: Principal
) -> SecurityForce:
    uid = parse_id(unit_id, "unit_id")
    require_roles(principal, *WRITERS)
    ensure_unit_access(principal, str(uid), write=True)
    details = validate_force(details, today=today())
    async with pool.acquire() as conn, conn.transaction():
        await _require_unit(conn, uid)
        force = await repo.add_force(conn, force_id=uuid.uuid4(), unit_id=uid, details=details)
        if force is None:
            raise AlreadyExists(
                f"unit {uid} has a security force already", code="force_exists",
                resource_type="security_force", resource_id=str(uid),
                fields=[FieldProblem("unit_id", "the unit's force is established: update it")],
            )  # fmt: skip
        await audit.record(
            conn, action="security_force.establish", object_type="security_force", object_id=str(force.id),
            unit_id=str(uid),
            details={"planned_size": force.planned_size, "established_on": str(force.established_on)},
        )  # fmt: skip
        await _publish(conn, SecurityForceEstablished(force), principal)
    return force


async def get_force(pool: asyncpg.Pool, *, unit_id: str, principal: Principal) -> SecurityForce:
    uid = parse_id(unit_id, "unit_id")
    ensure_unit_access(principal, str(uid))
    async with pool.acquire() as conn:
        force = await repo.get_force(conn, unit_id=uid)
    if force is None:
        raise _force_not_found(uid)
    return force


async def update_force(
    pool: asyncpg.Pool, *, unit_id: str, version: int, details: ForceDetails, principal: Principal
) -> SecurityForce:
    uid = parse_id(unit_id, "unit_id")
    require_roles(principal, *WRITERS)
    ensure_unit_access(principal, str(uid), write=True)
    details = validate_force(details, today=today())
    async with pool.acquire() as conn, conn.transaction():
        current = await repo.get_force(conn, unit_id=uid, for_update=True)
        if current is None:
            raise _force_not_found(uid)
        check_version(version, current.version, what="security_force", object_id=current.id)
        force = await repo.update_force(conn, unit_id=uid, details=details)
        await audit.record(
            conn, action="security_force.update", object_type="security_force", object_id=str(force.id),
            unit_id=str(uid), details={"version": force.version, "planned_size": force.planned_size},
        )  # fmt: skip
        await _publish(conn, SecurityForceUpdated(force), principal)
    return force


# --- guards -----------------------------------------------------------------------------------------


async def register_guard(
    pool: asyncpg.Pool, *, unit_id: str, details: GuardDetails, principal: Principal
) -> Guard:
    uid = parse_id(unit_id, "unit_id")
    require_roles(principal, *WRITERS)
    ensure_unit_access(principal, str(uid), write=True)
    details = validate_guard(details, today=today())
    async with pool.acquire() as conn, conn.transaction():
        await _require_unit(conn, uid)
        [guard] = await repo.add_guards(conn, guards=[(uuid.uuid4(), uid, details)])
        await audit.record(
            conn, action="guard.register", object_type="guard", object_id=str(guard.id), unit_id=str(uid),
            details={"full_name": guard.full_name},
        )  # fmt: skip
        await _publish(conn, GuardRegistered(guard), principal)
    return guard


async def get_guard(pool: asyncpg.Pool, *, guard_id: str, principal: Principal) -> Guard:
    gid = parse_id(guard_id, "id")
    async with pool.acquire() as conn:
        guard = await repo.get_guard(conn, guard_id=gid)
    if guard is None:
        raise _guard_not_found(gid)
    ensure_unit_access(principal, str(guard.unit_id))
    return guard


async def update_guard(
    pool: asyncpg.Pool, *, guard_id: str, version: int, details: GuardDetails, principal: Principal
) -> Guard:
    gid = parse_id(guard_id, "id")
    require_roles(principal, *WRITERS)
    details = validate_guard(details, today=today())
    async with pool.acquire() as conn, conn.transaction():
        current = await repo.get_guard(conn, guard_id=gid, for_update=True)
        if current is None:
            raise _guard_not_found(gid)
        ensure_unit_access(principal, str(current.unit_id), write=True)
        check_version(version, current.version, what="guard", object_id=gid)
        guard = await repo.update_guard(conn, guard_id=gid, details=details)
        await audit.record(
            conn, action="guard.update", object_type="guard", object_id=str(gid), unit_id=str(guard.unit_id),
            details={"version": guard.version, "full_name": guard.full_name},
        )  # fmt: skip
        await _publish(conn, GuardUpdated(guard), principal)
    return guard


async def mark_guard_left(
    pool: asyncpg.Pool, *, guard_id: str, version: int, left_on: date | None, principal: Principal
) -> Guard:
    gid = parse_id(guard_id, "id")
    require_roles(principal, *WRITERS)
    async with pool.acquire() as conn, conn.transaction():
        current = await repo.get_guard(conn, guard_id=gid, for_update=True)
        if current is None:
            raise _guard_not_found(gid)
        ensure_unit_access(principal, str(current.unit_id), write=True)
        check_version(version, current.version, what="guard", object_id=gid)
        day = check_leave(current, left_on, today=today())
        guard = await repo.mark_left(conn, guard_id=gid, left_on=day)
        await audit.record(
            conn, action="guard.leave", object_type="guard", object_id=str(gid), unit_id=str(guard.unit_id),
            details={"left_on": str(day)},
        )  # fmt: skip
        await _publish(conn, GuardLeft(guard), principal)
    return guard


async def list_guards(
    pool: asyncpg.Pool,
    *,
    unit_id: str,
    status: GuardStatus | None,
    q: str,
    page_size: int | None,
    page_token: str,
    principal: Principal,
) -> tuple[list[Guard], str]:
    """A page of guards by name and the token of the next page ('' at the end). A unit officer who names
    no unit lists its own; naming another unit is refused."""
    require_roles(principal, *READERS)
    if not unit_id and principal.is_unit_officer_only:
        unit_id = principal.unit_id or ""
    uid = parse_id(unit_id, "unit_id") if unit_id else None
    ensure_unit_access(principal, str(uid) if uid else None)
    limit = pagination.page_size(page_size)
    name = fold(q)
    filters = {"unit_id": str(uid or ""), "status": status.value if status else "", "q": name}
    position = pagination.decode_cursor(page_token, filters=filters)
    after = None
    if position is not None:
        try:
            after = (str(position[0]), uuid.UUID(str(position[1])))
        except (IndexError, ValueError):
            raise InvalidArgument(
                "page_token is not a token this API gave", code="invalid_page_token"
            ) from None
    async with pool.acquire() as conn:
        rows = await repo.list_guards(
            conn, unit_id=uid, status=status, name_contains=name, after=after, limit=limit + 1
        )
    page, more = rows[:limit], len(rows) > limit
    token = ""
    if more:
        last = page[-1]
        token = pagination.encode_cursor([fold(last.full_name), str(last.id)], filters=filters)
    return page, token


async def batch_get_guards(
    pool: asyncpg.Pool, *, ids: list[str], principal: Principal
) -> tuple[list[Guard], list[str]]:
    """The guards that exist and the ids that do not (for other aggregates and services checking ids).
    A unit officer may look up its own unit's guards only."""
    require_roles(principal, *READERS)
    if len(ids) > MAX_BATCH:
        raise InvalidArgument(
            f"at most {MAX_BATCH} ids per call", code="batch_too_large",
            fields=[FieldProblem("ids", f"{len(ids)} given")],
        )  # fmt: skip
    parsed = [parse_id(i, f"ids[{n}]") for n, i in enumerate(ids)]
    async with pool.acquire() as conn:
        guards = await repo.get_guards(conn, guard_ids=list(dict.fromkeys(parsed)))
    for unit in {str(g.unit_id) for g in guards}:
        ensure_unit_access(principal, unit)
    found = {g.id for g in guards}
    return guards, [str(i) for i in parsed if i not in found]


async def import_guards(
    pool: asyncpg.Pool, *, filename: str, content: bytes, principal: Principal
) -> list[Guard]:
    """All the guards of an XLSX or CSV file, or none: every row is checked first and every problem is
    reported by line and header; a clean file is written in one transaction (one statement for the guards,
    one for their audit rows, one for their events). A unit officer imports its own unit's guards only."""
    require_roles(principal, *WRITERS)
    allowed_unit = None if ADMIN in principal.roles else parse_id(principal.unit_id or "", "unit_id")
    rows = tabular.read_table(filename, content, GUARD_HEADERS, required=GUARD_REQUIRED)
    if not rows:
        raise InvalidArgument("the file has no guards", code="no_rows")
    codes = sorted({r.values.get("unit_code", "").strip().upper() for r in rows})
    async with pool.acquire() as conn, conn.transaction():
        units = await repo.units_by_code(conn, codes=codes)
        registered = await repo.registered_keys(conn, unit_ids=list(units.values()))
        parsed, problems = parse_guard_rows(
            rows, units_by_code=units, allowed_unit=allowed_unit, registered=registered, today=today()
        )
        if problems:
            raise tabular.refuse(problems, what=f"the guards file {filename}")
        guards = await repo.add_guards(conn, guards=[(uuid.uuid4(), g.unit_id, g.details) for g in parsed])
        await audit.record_many(
            conn, action="guard.register", object_type="guard",
            entries=[
                (str(g.id), str(g.unit_id), {"full_name": g.full_name, "file": filename, "line": row.line})
                for g, row in zip(guards, parsed, strict=True)
            ],
        )  # fmt: skip
        await outbox.add_many(
            conn, topic=FORCES_TOPIC, source=SOURCE,
            events=[(str(g.id), messages.event_to_pb(GuardRegistered(g), principal)) for g in guards],
        )  # fmt: skip
    return guards
