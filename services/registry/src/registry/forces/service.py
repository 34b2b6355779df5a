"""Handlers of security force and guard commands and queries: one logic path behind the gRPC and HTTP doors.

Every change is one transaction: the rows, the audit row and the event (through the outbox). Who may do what:
`admin` writes everything; a `unit_officer` reads and writes its own unit's force and guards only; the
province-wide roles (auditor, police, ...) read.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from d07.platform import audit, pagination
from d07.platform.auth import (
    ADMIN,
    PROVINCE_WIDE_READERS,
    UNIT_OFFICER,
    Principal,
    ensure_unit_access,
    require_roles,
)
from d07.platform.convert import parse_uuid
from d07.platform.db import Conn
from d07.platform.errors import AlreadyExists, FieldProblem, InvalidArgument, NotFound, ensure_version
from d07.platform.text import fold
from d07.platform.uow import UnitOfWork
from registry import tabular
from registry.forces import messages
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
    parse_guard_rows,
    validate_force,
    validate_guard,
)
from registry.forces.repository import ForceRepository

FORCES_TOPIC = "d07.registry.forces.v1"
MAX_BATCH = 1000
WRITERS = (ADMIN, UNIT_OFFICER)
READERS = (*PROVINCE_WIDE_READERS, UNIT_OFFICER)


class ForcesUnitOfWork(UnitOfWork):
    forces: ForceRepository

    def bind(self, conn: Conn) -> None:
        self.forces = ForceRepository(conn)


# --- commands and queries the doors build ----------------------------------------------------------------


@dataclass(frozen=True)
class EstablishForce:
    unit_id: str
    details: ForceDetails


@dataclass(frozen=True)
class GetForce:
    unit_id: str


@dataclass(frozen=True)
class UpdateForce:
    unit_id: str
    version: int
    details: ForceDetails


@dataclass(frozen=True)
class RegisterGuard:
    unit_id: str
    details: GuardDetails


@dataclass(frozen=True)
class GetGuard:
    guard_id: str


@dataclass(frozen=True)
class UpdateGuard:
    guard_id: str
    version: int
    details: GuardDetails


@dataclass(frozen=True)
class MarkGuardLeft:
    guard_id: str
    version: int
    left_on: date | None


@dataclass(frozen=True)
class ListGuards:
    unit_id: str = ""
    status: GuardStatus | None = None
    q: str = ""
    page_size: int | None = None
    page_token: str = ""


@dataclass(frozen=True)
class BatchGetGuards:
    ids: list[str]


@dataclass(frozen=True)
class ImportGuards:
    filename: str
    content: bytes


async def _publish(uow: ForcesUnitOfWork, event: ForceEvent | GuardEvent, principal: Principal) -> None:
    """The event on the topic: a force's keyed by its unit (one force per unit), a guard's by the guard."""
    if isinstance(event, SecurityForceEstablished | SecurityForceUpdated):
        key = str(event.force.unit_id)
    else:
        key = str(event.guard.id)
    await uow.publish(FORCES_TOPIC, key=key, subject=key, message=messages.event_to_pb(event, principal))


async def _require_unit(uow: ForcesUnitOfWork, unit_id: uuid.UUID) -> None:
    if not await uow.forces.unit_exists(unit_id=unit_id):
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


async def establish_force(uow: ForcesUnitOfWork, cmd: EstablishForce, principal: Principal) -> SecurityForce:
    require_roles(principal, *WRITERS)
    uid = parse_uuid(cmd.unit_id, "unit_id")
    ensure_unit_access(principal, str(uid), write=True)
    details = validate_force(cmd.details, today=uow.today())
    async with uow:
        await _require_unit(uow, uid)
        force = await uow.forces.add_force(force_id=uuid.uuid4(), unit_id=uid, details=details)
        if force is None:
            raise AlreadyExists(
                f"unit {uid} has a security force already", code="force_exists",
                resource_type="security_force", resource_id=str(uid),
                fields=[FieldProblem("unit_id", "the unit's force is established: update it")],
            )  # fmt: skip
        await uow.audit(
            action="security_force.establish", object_type="security_force", object_id=str(force.id),
            unit_id=str(uid),
            details={"planned_size": force.planned_size, "established_on": str(force.established_on)},
        )  # fmt: skip
        await _publish(uow, SecurityForceEstablished(force), principal)
    return force


async def get_force(uow: ForcesUnitOfWork, query: GetForce, principal: Principal) -> SecurityForce:
    uid = parse_uuid(query.unit_id, "unit_id")
    ensure_unit_access(principal, str(uid))
    async with uow:
        force = await uow.forces.get_force(unit_id=uid)
    if force is None:
        raise _force_not_found(uid)
    return force


async def update_force(uow: ForcesUnitOfWork, cmd: UpdateForce, principal: Principal) -> SecurityForce:
    require_roles(principal, *WRITERS)
    uid = parse_uuid(cmd.unit_id, "unit_id")
    ensure_unit_access(principal, str(uid), write=True)
    details = validate_force(cmd.details, today=uow.today())
    async with uow:
        current = await uow.forces.get_force(unit_id=uid, for_update=True)
        if current is None:
            raise _force_not_found(uid)
        ensure_version(cmd.version, current.version, what="security_force", object_id=current.id)
        force = await uow.forces.update_force(unit_id=uid, details=details)
        await uow.audit(
            action="security_force.update", object_type="security_force", object_id=str(force.id),
            unit_id=str(uid), details={"changes": audit.changes(current, force), "version": force.version},
        )  # fmt: skip
        await _publish(uow, SecurityForceUpdated(force), principal)
    return force


# --- guards -----------------------------------------------------------------------------------------


async def register_guard(uow: ForcesUnitOfWork, cmd: RegisterGuard, principal: Principal) -> Guard:
    require_roles(principal, *WRITERS)
    uid = parse_uuid(cmd.unit_id, "unit_id")
    ensure_unit_access(principal, str(uid), write=True)
    details = validate_guard(cmd.details, today=uow.today())
    async with uow:
        await _require_unit(uow, uid)
        [guard] = await uow.forces.add_guards(guards=[(uuid.uuid4(), uid, details)])
        await uow.audit(
            action="guard.register", object_type="guard", object_id=str(guard.id), unit_id=str(uid),
            details={"full_name": guard.full_name},
        )  # fmt: skip
        await _publish(uow, GuardRegistered(guard), principal)
    return guard


async def get_guard(uow: ForcesUnitOfWork, query: GetGuard, principal: Principal) -> Guard:
    gid = parse_uuid(query.guard_id, "id")
    async with uow:
        guard = await uow.forces.get_guard(guard_id=gid)
    if guard is None:
        raise _guard_not_found(gid)
    ensure_unit_access(principal, str(guard.unit_id))
    return guard


async def update_guard(uow: ForcesUnitOfWork, cmd: UpdateGuard, principal: Principal) -> Guard:
    require_roles(principal, *WRITERS)
    gid = parse_uuid(cmd.guard_id, "id")
    details = validate_guard(cmd.details, today=uow.today())
    async with uow:
        current = await uow.forces.get_guard(guard_id=gid, for_update=True)
        if current is None:
            raise _guard_not_found(gid)
        ensure_unit_access(principal, str(current.unit_id), write=True)
        ensure_version(cmd.version, current.version, what="guard", object_id=gid)
        guard = await uow.forces.update_guard(guard_id=gid, details=details)
        await uow.audit(
            action="guard.update", object_type="guard", object_id=str(gid), unit_id=str(guard.unit_id),
            details={"changes": audit.changes(current, guard), "version": guard.version},
        )  # fmt: skip
        await _publish(uow, GuardUpdated(guard), principal)
    return guard


async def mark_guard_left(uow: ForcesUnitOfWork, cmd: MarkGuardLeft, principal: Principal) -> Guard:
    require_roles(principal, *WRITERS)
    gid = parse_uuid(cmd.guard_id, "id")
    async with uow:
        current = await uow.forces.get_guard(guard_id=gid, for_update=True)
        if current is None:
            raise _guard_not_found(gid)
        ensure_unit_access(principal, str(current.unit_id), write=True)
        ensure_version(cmd.version, current.version, what="guard", object_id=gid)
        day = check_leave(current, cmd.left_on, today=uow.today())
        guard = await uow.forces.mark_left(guard_id=gid, left_on=day)
        await uow.audit(
            action="guard.leave", object_type="guard", object_id=str(gid), unit_id=str(guard.unit_id),
            details={"left_on": str(day), "changes": audit.changes(current, guard)},
        )  # fmt: skip
        await _publish(uow, GuardLeft(guard), principal)
    return guard


async def list_guards(
    uow: ForcesUnitOfWork, query: ListGuards, principal: Principal
) -> tuple[list[Guard], str]:
    """A page of guards by name and the token of the next page ('' at the end). A unit officer who names
    no unit lists its own; naming another unit is refused."""
    require_roles(principal, *READERS)
    unit_id, status, page_token = query.unit_id, query.status, query.page_token
    if not unit_id and principal.is_unit_officer_only:
        unit_id = principal.unit_id or ""
    uid = parse_uuid(unit_id, "unit_id") if unit_id else None
    ensure_unit_access(principal, str(uid) if uid else None)
    limit = pagination.page_size(query.page_size)
    name = fold(query.q)
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
    async with uow:
        rows = await uow.forces.list_guards(
            unit_id=uid, status=status, name_contains=name, after=after, limit=limit + 1
        )
    page, more = rows[:limit], len(rows) > limit
    token = ""
    if more:
        last = page[-1]
        token = pagination.encode_cursor([fold(last.full_name), str(last.id)], filters=filters)
    return page, token


async def batch_get_guards(
    uow: ForcesUnitOfWork, query: BatchGetGuards, principal: Principal
) -> tuple[list[Guard], list[str]]:
    """The guards that exist and the ids that do not (for other aggregates and services checking ids).
    A unit officer may look up its own unit's guards only."""
    require_roles(principal, *READERS)
    ids = query.ids
    if len(ids) > MAX_BATCH:
        raise InvalidArgument(
            f"at most {MAX_BATCH} ids per call", code="batch_too_large",
            fields=[FieldProblem("ids", f"{len(ids)} given")],
        )  # fmt: skip
    parsed = [parse_uuid(i, f"ids[{n}]") for n, i in enumerate(ids)]
    async with uow:
        guards = await uow.forces.get_guards(guard_ids=list(dict.fromkeys(parsed)))
    for unit in {str(g.unit_id) for g in guards}:
        ensure_unit_access(principal, unit)
    found = {g.id for g in guards}
    return guards, [str(i) for i in parsed if i not in found]


async def import_guards(uow: ForcesUnitOfWork, cmd: ImportGuards, principal: Principal) -> list[Guard]:
    """All the guards of an XLSX or CSV file, or none: every row is checked first and every problem is
    reported by line and header; a clean file is written in one transaction (one statement for the guards,
    one for their audit rows, one for their events). A unit officer imports its own unit's guards only."""
    require_roles(principal, *WRITERS)
    allowed_unit = None if ADMIN in principal.roles else parse_uuid(principal.unit_id or "", "unit_id")
    filename = cmd.filename
    rows = await tabular.read_upload(filename, cmd.content, GUARD_HEADERS, required=GUARD_REQUIRED)
    if not rows:
        raise InvalidArgument("the file has no guards", code="no_rows")
    codes = sorted({r.values.get("unit_code", "").strip().upper() for r in rows})
    async with uow:
        units = await uow.forces.units_by_code(codes=codes)
        registered = await uow.forces.registered_keys(unit_ids=list(units.values()))
        parsed, problems = parse_guard_rows(
            rows, units_by_code=units, allowed_unit=allowed_unit, registered=registered, today=uow.today()
        )
        if problems:
            raise tabular.refuse(problems, what=f"the guards file {filename}")
        guards = await uow.forces.add_guards(guards=[(uuid.uuid4(), g.unit_id, g.details) for g in parsed])
        await uow.audit_many(
            action="guard.register", object_type="guard",
            entries=[
                (str(g.id), str(g.unit_id), {"full_name": g.full_name, "file": filename, "line": row.line})
                for g, row in zip(guards, parsed, strict=True)
            ],
        )  # fmt: skip
        await uow.publish_many(
            FORCES_TOPIC, [(str(g.id), messages.event_to_pb(GuardRegistered(g), principal)) for g in guards]
        )
    return guards
