"""Handlers of unit commands and queries: one logic path behind the gRPC and HTTP doors.

Every change is one transaction that writes the unit rows, an audit row per unit and an event per unit on
d07.registry.units.v1 (through the outbox). Merges, splits and dissolutions are announced as UnitUpdated
with `status_change` set, so the services that follow units today see the new status without learning a
new event type.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import asyncpg

from d07.platform import audit
from d07.platform.auth import (
    ADMIN,
    PROVINCE_WIDE_READERS,
    UNIT_OFFICER,
    Principal,
    ensure_unit_access,
    require_roles,
)
from d07.platform.db import Conn
from d07.platform.errors import AlreadyExists, FieldProblem, InvalidArgument, NotFound, PermissionDenied
from d07.platform.events import outbox
from d07.platform.pagination import decode_cursor, encode_cursor, page_size
from d07.registry.v1 import registry_pb2 as pb
from registry.divisions import repository as divisions_repo
from registry.divisions.domain import place_problems
from registry.tabular import RowProblem, read_table, refuse
from registry.units import messages
from registry.units import repository as units_repo
from registry.units.domain import (
    FIELD_HEADERS,
    IMPORT_HEADERS,
    IMPORT_REQUIRED,
    STATUS_AFTER,
    ChangeStatus,
    CreateUnit,
    ScopeRule,
    StatusChange,
    SubKind,
    Unit,
    UnitFilter,
    UpdateUnit,
    apply_update,
    check_status_change,
    command_from_row,
    forbidden_fields,
    stale,
    validate,
)

SOURCE = "/d07/registry"
UNITS_TOPIC = "d07.registry.units.v1"
MAX_BATCH = 1000
# Problems listed in a refused import: enough to fix a file, small enough for a gRPC status trailer.
MAX_LISTED_PROBLEMS = 40
VIETNAM = timezone(timedelta(hours=7))


def today() -> date:
    """The date in the province (Vietnam keeps one zone, UTC+7)."""
    return datetime.now(UTC).astimezone(VIETNAM).date()


def parse_id(value: str, field: str = "id") -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise InvalidArgument(
            "not a unit id", code="invalid_id", fields=[FieldProblem(field, "a UUID is expected")]
        ) from None


def _not_found(uid: uuid.UUID) -> NotFound:
    return NotFound(f"no unit {uid}", code="unit_not_found", resource_type="unit", resource_id=str(uid))


def _place_problems(
    district_code: str, commune_code: str, *, districts: frozenset[str], district_of: dict[str, str]
) -> list[FieldProblem]:
    """The place's problems; a commune is not also blamed for lying outside an unknown district."""
    known = district_code if district_code in districts else ""
    return place_problems(district_code, "", district_of=district_of, districts=districts) + place_problems(
        known, commune_code, district_of=district_of, districts=districts
    )


async def _check_references(conn: Conn, cmd: CreateUnit, *, unit_id: uuid.UUID | None = None) -> None:
    """InvalidArgument when the place is not in the province or the parent unit does not exist (or would
    make the unit its own ancestor)."""
    districts, district_of = await divisions_repo.index(conn)
    problems = _place_problems(
        cmd.district_code, cmd.commune_code, district_of=district_of, districts=districts
    )
    if problems:
        raise InvalidArgument(
            "the unit's place is not in the province", code="unknown_place", fields=problems
        )
    if cmd.parent_unit_id:
        parent = uuid.UUID(cmd.parent_unit_id)
        if not await units_repo.exists(conn, unit_id=parent):
            raise InvalidArgument(
                "the parent unit is not registered", code="unknown_parent",
                fields=[FieldProblem("parent_unit_id", f"no unit {parent}")],
            )  # fmt: skip
        if unit_id is not None and await units_repo.is_ancestor(conn, ancestor=unit_id, of=parent):
            raise InvalidArgument(
                "a unit cannot be its own ancestor", code="parent_cycle",
                fields=[FieldProblem("parent_unit_id", "the parent lies under this unit")],
            )  # fmt: skip


async def _announce(
    conn: Conn,
    unit: Unit,
    *,
    principal: Principal,
    created: bool = False,
    change: StatusChange | None = None,
) -> None:
    message: pb.UnitCreated | pb.UnitUpdated
    if created:
        message = pb.UnitCreated(unit=messages.unit_to_pb(unit), actor=messages.actor(principal))
    else:
        message = pb.UnitUpdated(unit=messages.unit_to_pb(unit), actor=messages.actor(principal))
        if change is not None:
            message.status_change.CopyFrom(messages.change_to_pb(change))
    await outbox.add(
        conn, topic=UNITS_TOPIC, key=str(unit.id), source=SOURCE, subject=str(unit.id), message=message
    )


# --- commands ------------------------------------------------------------------------------------------


async def create_unit(pool: asyncpg.Pool, cmd: CreateUnit, *, principal: Principal) -> Unit:
    require_roles(principal, ADMIN)
    async with pool.acquire() as conn, conn.transaction():
        cmd = validate(cmd, sub_kinds=await units_repo.sub_kinds(conn))
        await _check_references(conn, cmd)
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
        await _announce(conn, unit, principal=principal, created=True)
    return unit


async def update_unit(pool: asyncpg.Pool, cmd: UpdateUnit, *, principal: Principal) -> Unit:
    """Change details of a unit read at `cmd.expected_version`. The admin changes any field; a unit officer
    only the contact details of its own unit (address, head, contact)."""
    require_roles(principal, ADMIN, UNIT_OFFICER)
    ensure_unit_access(principal, str(cmd.unit_id), write=True)
    async with pool.acquire() as conn, conn.transaction():
        unit = await units_repo.get(conn, unit_id=cmd.unit_id)
        if unit is None:
            raise _not_found(cmd.unit_id)
        details, changed = apply_update(unit, cmd, sub_kinds=await units_repo.sub_kinds(conn))
        if not principal.has_any(ADMIN):
            forbidden = forbidden_fields(changed)
            if forbidden:
                raise PermissionDenied(
                    "a unit officer changes only the address, head and contact of its unit",
                    code="field_not_yours", resource_type="unit", resource_id=str(unit.id),
                    fields=[FieldProblem(f, "changed by the admin only") for f in forbidden],
                )  # fmt: skip
        if not changed:
            return unit
        await _check_references(conn, details, unit_id=unit.id)
        updated = await units_repo.update(conn, unit=unit, details=details)
        if updated is None:
            now = await units_repo.get(conn, unit_id=unit.id)
            raise stale(now or unit)
        await audit.record(
            conn,
            action="unit.update",
            object_type="unit",
            object_id=str(unit.id),
            unit_id=str(unit.id),
            details={"changed": changed, "version": updated.version},
        )
        await _announce(conn, updated, principal=principal)
    return updated


async def change_status(
    pool: asyncpg.Pool, cmd: ChangeStatus, *, principal: Principal
) -> tuple[StatusChange, list[Unit]]:
    """Merge, split or dissolve: the history entry and the units that ended, in the order given."""
    require_roles(principal, ADMIN)
    async with pool.acquire() as conn, conn.transaction():
        found = await units_repo.get_many(conn, unit_ids=cmd.unit_ids, for_update=True)
        change = check_status_change(cmd, {u.id: u for u in found}, today=today())
        change = await units_repo.add_status_change(conn, change)
        await units_repo.set_status(conn, unit_ids=change.from_ids, status=STATUS_AFTER[change.kind])
        by_id = {u.id: u for u in await units_repo.get_many(conn, unit_ids=change.from_ids)}
        ended = [by_id[uid] for uid in change.from_ids]
        details = {
            "change_id": str(change.id),
            "from": [str(u) for u in change.from_ids],
            "to": [str(u) for u in change.to_ids],
            "effective_on": change.effective_on.isoformat(),
            "decision": change.decision,
        }
        for uid in change.from_ids + change.to_ids:
            await audit.record(
                conn,
                action=f"unit.{change.kind.value}",
                object_type="unit",
                object_id=str(uid),
                unit_id=str(uid),
                details=details,
            )
        for unit in ended:
            await _announce(conn, unit, principal=principal, change=change)
    return change, ended


# --- import --------------------------------------------------------------------------------------------


def _row_problems(line: int, error: InvalidArgument) -> list[RowProblem]:
    return [RowProblem(line, FIELD_HEADERS.get(p.field, p.field), p.reason) for p in error.fields]


def _refuse(problems: list[RowProblem], filename: str) -> InvalidArgument:
    """Every problem by line and field (the first MAX_LISTED_PROBLEMS of a file with very many)."""
    listed = sorted(problems, key=lambda p: (p.line, p.field))[:MAX_LISTED_PROBLEMS]
    what = (
        filename if len(listed) == len(problems) else f"{filename} ({len(problems)} problems, first listed)"
    )
    return refuse(listed, what=what)


async def import_units(
    pool: asyncpg.Pool, filename: str, content: bytes, *, principal: Principal
) -> list[Unit]:
    """Register every unit of an XLSX or CSV file in one transaction, or none: every row is validated first
    (fields, place, codes repeated in the file or already registered) and any problem refuses the file."""
    require_roles(principal, ADMIN)
    rows = await asyncio.to_thread(read_table, filename, content, IMPORT_HEADERS, required=IMPORT_REQUIRED)
    if not rows:
        raise InvalidArgument("the file holds no units", code="empty_file")
    problems: list[RowProblem] = []
    commands: list[tuple[int, CreateUnit]] = []
    first_line: dict[str, int] = {}
    async with pool.acquire() as conn:
        sub_kinds = await units_repo.sub_kinds(conn)
        districts, district_of = await divisions_repo.index(conn)
        for row in rows:
            try:
                cmd = command_from_row(row.values, sub_kinds=sub_kinds)
            except InvalidArgument as exc:
                problems += _row_problems(row.line, exc)
                continue
            place = _place_problems(
                cmd.district_code, cmd.commune_code, district_of=district_of, districts=districts
            )
            problems += [RowProblem(row.line, FIELD_HEADERS[p.field], p.reason) for p in place]
            if cmd.code in first_line:
                problems.append(
                    RowProblem(
                        row.line, FIELD_HEADERS["code"], f"{cmd.code} is also on line {first_line[cmd.code]}"
                    )
                )
            else:
                first_line[cmd.code] = row.line
                commands.append((row.line, cmd))
        taken = await units_repo.existing_codes(conn, codes=list(first_line))
        problems += [
            RowProblem(line, FIELD_HEADERS["code"], f"a unit with code {cmd.code} is already registered")
            for line, cmd in commands
            if cmd.code in taken
        ]
        if problems:
            raise _refuse(problems, filename)
        ids = [uuid.uuid4() for _ in commands]
        async with conn.transaction():
            inserted = set(
                await units_repo.add_many(conn, units=list(zip(ids, (c for _, c in commands), strict=True)))
            )
            if len(inserted) != len(commands):  # registered by someone else since the check above
                raise _refuse(
                    [
                        RowProblem(
                            line, FIELD_HEADERS["code"], f"a unit with code {cmd.code} is already registered"
                        )
                        for line, cmd in commands
                        if cmd.code not in inserted
                    ],
                    filename,
                )
            by_id = {u.id: u for u in await units_repo.get_many(conn, unit_ids=ids)}
            units = [by_id[uid] for uid in ids]
            actor = messages.actor(principal)
            await outbox.add_many(
                conn,
                topic=UNITS_TOPIC,
                source=SOURCE,
                events=[(str(u.id), pb.UnitCreated(unit=messages.unit_to_pb(u), actor=actor)) for u in units],
            )
            await audit.record_many(
                conn,
                action="unit.import",
                object_type="unit",
                entries=[
                    (str(u.id), str(u.id), {"code": u.code, "name": u.name, "file": filename, "line": line})
                    for u, (line, _) in zip(units, commands, strict=True)
                ],
            )
    return units


# --- queries -------------------------------------------------------------------------------------------


async def get_unit(pool: asyncpg.Pool, unit_id: str, *, principal: Principal) -> Unit:
    uid = parse_id(unit_id)
    ensure_unit_access(principal, str(uid))
    async with pool.acquire() as conn:
        unit = await units_repo.get(conn, unit_id=uid)
    if unit is None:
        raise _not_found(uid)
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


def _position(token: str, where: UnitFilter) -> tuple[str, uuid.UUID] | None:
    position = decode_cursor(token, filters=where.fingerprint())
    if position is None:
        return None
    try:
        name, uid = position
        return str(name), uuid.UUID(str(uid))
    except (ValueError, TypeError):
        raise InvalidArgument(
            "page_token is not a token this API gave", code="invalid_page_token",
            fields=[FieldProblem("page_token", "use next_page_token from the previous page")],
        ) from None  # fmt: skip


async def list_units(
    pool: asyncpg.Pool, where: UnitFilter, *, size: int | None, token: str, principal: Principal
) -> tuple[list[Unit], str]:
    """A page of units ordered by folded name then id, and the token of the next page ('' at the end).
    A unit officer's list holds its own unit only."""
    require_roles(principal, *PROVINCE_WIDE_READERS, UNIT_OFFICER)
    if principal.is_unit_officer_only:
        where = dataclasses.replace(where, only_unit_id=parse_id(principal.unit_id or "", "unit_id"))
    limit = page_size(size)
    after = _position(token, where)
    async with pool.acquire() as conn:
        units = await units_repo.page(conn, where=where, after=after, limit=limit + 1)
    if len(units) <= limit:
        return units, ""
    last = units[limit - 1]
    return units[:limit], encode_cursor([last.search_name, str(last.id)], filters=where.fingerprint())


async def list_status_changes(
    pool: asyncpg.Pool, unit_id: str, *, principal: Principal
) -> list[StatusChange]:
    uid = parse_id(unit_id)
    ensure_unit_access(principal, str(uid))
    async with pool.acquire() as conn:
        if not await units_repo.exists(conn, unit_id=uid):
            raise _not_found(uid)
        return await units_repo.status_changes(conn, unit_id=uid)


async def list_sub_kinds(
    pool: asyncpg.Pool, *, principal: Principal
) -> tuple[list[SubKind], list[ScopeRule]]:
    """Reference data: every authenticated caller may read it."""
    async with pool.acquire() as conn:
        return list((await units_repo.sub_kinds(conn)).values()), await units_repo.scope_rules(conn)
