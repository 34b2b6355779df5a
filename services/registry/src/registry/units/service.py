"""Handlers of unit commands and queries: one logic path behind the gRPC and HTTP doors.

Every change is one transaction (the aggregate's unit of work) that writes the unit rows, an audit row per
unit and an event per unit on d07.registry.units.v1 (through the outbox). Merges, splits and dissolutions are
announced as UnitUpdated with `status_change` set, so the services that follow units today see the new
status without learning a new event type.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass

from d07.platform import audit
from d07.platform.auth import (
    ADMIN,
    PROVINCE_WIDE_READERS,
    UNIT_OFFICER,
    Principal,
    ensure_unit_access,
    require_roles,
)
from d07.platform.convert import actor, parse_uuid
from d07.platform.db import Conn
from d07.platform.errors import (
    AlreadyExists,
    FieldProblem,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ensure_version,
)
from d07.platform.pagination import decode_cursor, encode_cursor, page_size
from d07.platform.uow import UnitOfWork
from d07.registry.v1 import registry_pb2 as pb
from registry.divisions.domain import place_problems
from registry.divisions.repository import DivisionRepository
from registry.tabular import RowProblem, read_upload, refuse
from registry.units import messages
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
    validate,
)
from registry.units.repository import UnitRepository

UNITS_TOPIC = "d07.registry.units.v1"
MAX_BATCH = 1000
# Who calls what (the HTTP doors repeat these lists in a route dependency, so a forbidden caller gets 403
# before its body is validated; the handlers' checks stay the authority).
READERS = (*sorted(PROVINCE_WIDE_READERS), UNIT_OFFICER)  # a unit officer its own unit only
CREATORS = (ADMIN,)  # create, import, change of status
EDITORS = (ADMIN, UNIT_OFFICER)  # update: a unit officer its own unit
# Problems listed in a refused import: enough to fix a file, small enough for a gRPC status trailer.
MAX_LISTED_PROBLEMS = 40


class UnitsUnitOfWork(UnitOfWork):
    units: UnitRepository
    divisions: DivisionRepository

    def bind(self, conn: Conn) -> None:
        self.units = UnitRepository(conn)
        self.divisions = DivisionRepository(conn)


# --- commands and queries the doors build ----------------------------------------------------------------


@dataclass(frozen=True)
class ImportUnits:
    filename: str
    content: bytes


@dataclass(frozen=True)
class GetUnit:
    unit_id: str


@dataclass(frozen=True)
class BatchGetUnits:
    ids: list[str]


@dataclass(frozen=True)
class ListUnits:
    where: UnitFilter
    size: int | None = None
    token: str = ""


@dataclass(frozen=True)
class ListStatusChanges:
    unit_id: str


@dataclass(frozen=True)
class ListSubKinds:
    pass


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


async def _check_references(
    uow: UnitsUnitOfWork, cmd: CreateUnit, *, unit_id: uuid.UUID | None = None
) -> None:
    """InvalidArgument when the place is not in the province or the parent unit does not exist (or would
    make the unit its own ancestor)."""
    districts, district_of = await uow.divisions.index()
    problems = _place_problems(
        cmd.district_code, cmd.commune_code, district_of=district_of, districts=districts
    )
    if problems:
        raise InvalidArgument(
            "the unit's place is not in the province", code="unknown_place", fields=problems
        )
    if cmd.parent_unit_id:
        parent = uuid.UUID(cmd.parent_unit_id)
        if not await uow.units.exists(unit_id=parent):
            raise InvalidArgument(
                "the parent unit is not registered", code="unknown_parent",
                fields=[FieldProblem("parent_unit_id", f"no unit {parent}")],
            )  # fmt: skip
        if unit_id is not None and await uow.units.is_ancestor(ancestor=unit_id, of=parent):
            raise InvalidArgument(
                "a unit cannot be its own ancestor", code="parent_cycle",
                fields=[FieldProblem("parent_unit_id", "the parent lies under this unit")],
            )  # fmt: skip


async def _announce(
    uow: UnitsUnitOfWork,
    unit: Unit,
    *,
    principal: Principal,
    created: bool = False,
    change: StatusChange | None = None,
) -> None:
    message: pb.UnitCreated | pb.UnitUpdated
    if created:
        message = pb.UnitCreated(unit=messages.unit_to_pb(unit), actor=actor(principal))
    else:
        message = pb.UnitUpdated(unit=messages.unit_to_pb(unit), actor=actor(principal))
        if change is not None:
            message.status_change.CopyFrom(messages.change_to_pb(change))
    await uow.publish(UNITS_TOPIC, key=str(unit.id), subject=str(unit.id), message=message)


# --- commands ------------------------------------------------------------------------------------------


async def create_unit(uow: UnitsUnitOfWork, cmd: CreateUnit, principal: Principal) -> Unit:
    require_roles(principal, *CREATORS)
    async with uow:
        cmd = validate(cmd, sub_kinds=await uow.units.sub_kinds())
        await _check_references(uow, cmd)
        unit = await uow.units.add(unit_id=uuid.uuid4(), cmd=cmd)
        if unit is None:
            raise AlreadyExists(
                f"a unit with code {cmd.code} exists",
                code="unit_code_taken",
                resource_type="unit",
                resource_id=cmd.code,
                fields=[FieldProblem("code", "already used by another unit")],
            )
        await uow.audit(
            action="unit.create",
            object_type="unit",
            object_id=str(unit.id),
            unit_id=str(unit.id),
            details={"code": unit.code, "name": unit.name},
        )
        await _announce(uow, unit, principal=principal, created=True)
    return unit


async def update_unit(uow: UnitsUnitOfWork, cmd: UpdateUnit, principal: Principal) -> Unit:
    """Change details of a unit read at `cmd.expected_version`. The admin changes any field; a unit officer
    only the contact details of its own unit (address, head, contact)."""
    require_roles(principal, *EDITORS)
    ensure_unit_access(principal, str(cmd.unit_id), write=True)
    async with uow:
        unit = await uow.units.get(unit_id=cmd.unit_id)
        if unit is None:
            raise _not_found(cmd.unit_id)
        details, changed = apply_update(unit, cmd, sub_kinds=await uow.units.sub_kinds())
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
        await _check_references(uow, details, unit_id=unit.id)
        updated = await uow.units.update(unit=unit, details=details)
        if updated is None:
            now = await uow.units.get(unit_id=unit.id)
            current = now or unit
            ensure_version(
                cmd.expected_version,
                current.version,
                what="unit",
                object_id=unit.id,
                field="expected_version",
            )
            raise _not_found(unit.id)
        await uow.audit(
            action="unit.update",
            object_type="unit",
            object_id=str(unit.id),
            unit_id=str(unit.id),
            details={"changes": audit.changes(unit, updated), "version": updated.version},
        )
        await _announce(uow, updated, principal=principal)
    return updated


async def change_status(
    uow: UnitsUnitOfWork, cmd: ChangeStatus, principal: Principal
) -> tuple[StatusChange, list[Unit]]:
    """Merge, split or dissolve: the history entry and the units that ended, in the order given."""
    require_roles(principal, *CREATORS)
    async with uow:
        found = await uow.units.get_many(unit_ids=cmd.unit_ids, for_update=True)
        change = check_status_change(cmd, {u.id: u for u in found}, today=uow.today())
        change = await uow.units.add_status_change(change)
        await uow.units.set_status(unit_ids=change.from_ids, status=STATUS_AFTER[change.kind])
        by_id = {u.id: u for u in await uow.units.get_many(unit_ids=change.from_ids)}
        ended = [by_id[uid] for uid in change.from_ids]
        details = {
            "change_id": str(change.id),
            "from": [str(u) for u in change.from_ids],
            "to": [str(u) for u in change.to_ids],
            "effective_on": change.effective_on.isoformat(),
            "decision": change.decision,
        }
        for uid in change.from_ids + change.to_ids:
            await uow.audit(
                action=f"unit.{change.kind.value}",
                object_type="unit",
                object_id=str(uid),
                unit_id=str(uid),
                details=details,
            )
        for unit in ended:
            await _announce(uow, unit, principal=principal, change=change)
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


def _code_taken(line: int, cmd: CreateUnit) -> RowProblem:
    return RowProblem(line, FIELD_HEADERS["code"], f"a unit with code {cmd.code} is already registered")


async def import_units(uow: UnitsUnitOfWork, cmd: ImportUnits, principal: Principal) -> list[Unit]:
    """Register every unit of an XLSX or CSV file in one transaction, or none: every row is validated first
    (fields, place, codes repeated in the file or already registered) and any problem refuses the file."""
    require_roles(principal, *CREATORS)
    filename = cmd.filename
    rows = await read_upload(filename, cmd.content, IMPORT_HEADERS, required=IMPORT_REQUIRED)
    if not rows:
        raise InvalidArgument("the file holds no units", code="empty_file")
    problems: list[RowProblem] = []
    commands: list[tuple[int, CreateUnit]] = []
    first_line: dict[str, int] = {}
    async with uow:
        sub_kinds = await uow.units.sub_kinds()
        districts, district_of = await uow.divisions.index()
        for row in rows:
            try:
                unit_cmd = command_from_row(row.values, sub_kinds=sub_kinds)
            except InvalidArgument as exc:
                problems += _row_problems(row.line, exc)
                continue
            place = _place_problems(
                unit_cmd.district_code, unit_cmd.commune_code, district_of=district_of, districts=districts
            )
            problems += [RowProblem(row.line, FIELD_HEADERS[p.field], p.reason) for p in place]
            if unit_cmd.code in first_line:
                also = f"{unit_cmd.code} is also on line {first_line[unit_cmd.code]}"
                problems.append(RowProblem(row.line, FIELD_HEADERS["code"], also))
            else:
                first_line[unit_cmd.code] = row.line
                commands.append((row.line, unit_cmd))
        taken = await uow.units.existing_codes(codes=list(first_line))
        problems += [_code_taken(line, c) for line, c in commands if c.code in taken]
        if problems:
            raise _refuse(problems, filename)
        ids = [uuid.uuid4() for _ in commands]
        inserted = set(await uow.units.add_many(units=list(zip(ids, (c for _, c in commands), strict=True))))
        if len(inserted) != len(commands):  # registered by someone else since the check above
            raise _refuse([_code_taken(line, c) for line, c in commands if c.code not in inserted], filename)
        by_id = {u.id: u for u in await uow.units.get_many(unit_ids=ids)}
        units = [by_id[uid] for uid in ids]
        who = actor(principal)
        await uow.publish_many(
            UNITS_TOPIC, [(str(u.id), pb.UnitCreated(unit=messages.unit_to_pb(u), actor=who)) for u in units]
        )
        await uow.audit_many(
            action="unit.import",
            object_type="unit",
            entries=[
                (str(u.id), str(u.id), {"code": u.code, "name": u.name, "file": filename, "line": line})
                for u, (line, _) in zip(units, commands, strict=True)
            ],
        )
    return units


# --- queries -------------------------------------------------------------------------------------------


async def get_unit(uow: UnitsUnitOfWork, query: GetUnit, principal: Principal) -> Unit:
    uid = parse_uuid(query.unit_id, "id", what="unit id")
    ensure_unit_access(principal, str(uid))
    async with uow:
        unit = await uow.units.get(unit_id=uid)
    if unit is None:
        raise _not_found(uid)
    return unit


async def batch_get_units(
    uow: UnitsUnitOfWork, query: BatchGetUnits, principal: Principal
) -> tuple[list[Unit], list[str]]:
    """The units that exist and the ids that do not. For services and province-wide readers; a unit officer
    its own unit only; no other caller (a camera gateway reads no unit's head and contacts)."""
    require_roles(principal, *READERS)
    ids = query.ids
    if len(ids) > MAX_BATCH:
        raise InvalidArgument(
            f"at most {MAX_BATCH} ids per call",
            code="batch_too_large",
            fields=[FieldProblem("ids", f"{len(ids)} given")],
        )
    parsed = [parse_uuid(i, f"ids[{n}]", what="unit id") for n, i in enumerate(ids)]
    if principal.is_unit_officer_only:
        for uid in parsed:
            ensure_unit_access(principal, str(uid))
    async with uow:
        units = await uow.units.get_many(unit_ids=parsed)
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


async def list_units(uow: UnitsUnitOfWork, query: ListUnits, principal: Principal) -> tuple[list[Unit], str]:
    """A page of units ordered by folded name then id, and the token of the next page ('' at the end).
    A unit officer's list holds its own unit only."""
    require_roles(principal, *READERS)
    where = query.where
    if principal.is_unit_officer_only:
        where = dataclasses.replace(
            where, only_unit_id=parse_uuid(principal.unit_id or "", "unit_id", what="unit id")
        )
    limit = page_size(query.size)
    after = _position(query.token, where)
    async with uow:
        units = await uow.units.page(where=where, after=after, limit=limit + 1)
    if len(units) <= limit:
        return units, ""
    last = units[limit - 1]
    return units[:limit], encode_cursor([last.search_name, str(last.id)], filters=where.fingerprint())


async def list_status_changes(
    uow: UnitsUnitOfWork, query: ListStatusChanges, principal: Principal
) -> list[StatusChange]:
    uid = parse_uuid(query.unit_id, "id", what="unit id")
    ensure_unit_access(principal, str(uid))
    async with uow:
        if not await uow.units.exists(unit_id=uid):
            raise _not_found(uid)
        return await uow.units.status_changes(unit_id=uid)


async def list_sub_kinds(
    uow: UnitsUnitOfWork, query: ListSubKinds, principal: Principal
) -> tuple[list[SubKind], list[ScopeRule]]:
    """Reference data: every authenticated caller may read it."""
    async with uow:
        return list((await uow.units.sub_kinds()).values()), await uow.units.scope_rules()
