"""Handlers of training classes and attendance: one logic path behind the gRPC and HTTP doors.

Who may do what: admin and police organise classes (schedule, update, cancel, enrol, record completion); a
unit officer enrols only its own unit's guards and reads the classes and its own guards' attendances; the
province-wide readers (auditor, dic_operator, chairman_office, service) read. Each change is one transaction
that writes the rows, the audit row and the outbox event together.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from d07.platform import audit
from d07.platform.auth import (
    ADMIN,
    POLICE,
    PROVINCE_WIDE_READERS,
    UNIT_OFFICER,
    Principal,
    ensure_unit_access,
    require_roles,
)
from d07.platform.convert import parse_uuid
from d07.platform.db import Conn
from d07.platform.errors import FieldProblem, InvalidArgument, NotFound
from d07.platform.pagination import decode_cursor, encode_cursor, page_size
from d07.platform.uow import UnitOfWork
from registry.divisions import service as divisions
from registry.divisions.repository import DivisionRepository
from registry.training import messages
from registry.training.domain import (
    COUNTED_STATUSES,
    Attendance,
    AttendanceCompletionRecorded,
    AttendanceEnrolled,
    AttendanceFilter,
    ClassCancelled,
    ClassFilter,
    ClassScheduled,
    ClassStatus,
    ClassUpdated,
    Event,
    RecordCompletion,
    ScheduleClass,
    TrainingClass,
    TrainingFigures,
    UpdateClass,
    apply_update,
    check_cancel,
    check_completion,
    check_enrolment,
    check_period,
    requested_guards,
    validate_schedule,
)
from registry.training.repository import TrainingRepository

TRAINING_TOPIC = "d07.registry.training.v1"
ORGANISERS = (ADMIN, POLICE)
READERS = (*PROVINCE_WIDE_READERS, UNIT_OFFICER)


class TrainingUnitOfWork(UnitOfWork):
    training: TrainingRepository
    divisions: DivisionRepository

    def bind(self, conn: Conn) -> None:
        self.training = TrainingRepository(conn)
        self.divisions = DivisionRepository(conn)


# --- commands and queries the doors build (ScheduleClass, UpdateClass, RecordCompletion: the domain's) ------


@dataclass(frozen=True)
class GetClass:
    class_id: str


@dataclass(frozen=True)
class CancelClass:
    class_id: str
    version: int
    reason: str


@dataclass(frozen=True)
class ListClasses:
    filter: ClassFilter
    size: int | None = None
    page_token: str = ""


@dataclass(frozen=True)
class EnrolGuards:
    class_id: str
    guard_ids: Sequence[str]


@dataclass(frozen=True)
class ListAttendances:
    filter: AttendanceFilter
    size: int | None = None
    page_token: str = ""


@dataclass(frozen=True)
class GetFigures:
    from_date: date | None
    to_date: date | None
    district_code: str = ""


def _class_not_found(class_id: uuid.UUID) -> NotFound:
    return NotFound(
        f"no training class {class_id}", code="class_not_found", resource_type="training_class",
        resource_id=str(class_id),
    )  # fmt: skip


async def _publish(
    uow: TrainingUnitOfWork, events: Sequence[tuple[uuid.UUID, Event]], principal: Principal
) -> None:
    """Every event of the change, keyed by its class id, in the change's transaction."""
    await uow.publish_many(
        TRAINING_TOPIC, [(str(key), messages.event_to_pb(event, principal)) for key, event in events]
    )


async def _check_district(uow: TrainingUnitOfWork, district_code: str) -> None:
    problems = await divisions.check_place(uow.divisions, district_code=district_code, commune_code="")
    if problems:
        raise InvalidArgument(
            "the class's district is not in the province", code="unknown_place", fields=problems
        )


# --- classes --------------------------------------------------------------------------------------------


async def schedule_class(uow: TrainingUnitOfWork, cmd: ScheduleClass, principal: Principal) -> TrainingClass:
    require_roles(principal, *ORGANISERS)
    cmd = validate_schedule(cmd)
    async with uow:
        await _check_district(uow, cmd.district_code)
        cls = await uow.training.add_class(class_id=uuid.uuid4(), cmd=cmd)
        await uow.audit(
            action="training_class.schedule", object_type="training_class", object_id=str(cls.id),
            details={"title": cls.title, "starts_on": cls.starts_on.isoformat(), "capacity": cls.capacity},
        )  # fmt: skip
        await _publish(uow, [(cls.id, ClassScheduled(cls))], principal)
    return cls


async def get_class(uow: TrainingUnitOfWork, query: GetClass, principal: Principal) -> TrainingClass:
    require_roles(principal, *READERS)
    cid = parse_uuid(query.class_id, "id")
    async with uow:
        cls = await uow.training.get_class(class_id=cid)
    if cls is None:
        raise _class_not_found(cid)
    return cls


async def update_class(uow: TrainingUnitOfWork, cmd: UpdateClass, principal: Principal) -> TrainingClass:
    require_roles(principal, *ORGANISERS)
    async with uow:
        current = await uow.training.get_class(class_id=cmd.class_id, lock="UPDATE")
        if current is None:
            raise _class_not_found(cmd.class_id)
        changed = apply_update(current, cmd)
        if changed.district_code != current.district_code:
            await _check_district(uow, changed.district_code)
        cls = await uow.training.save_class(changed)
        await uow.audit(
            action="training_class.update", object_type="training_class", object_id=str(cls.id),
            details={"changes": audit.changes(current, cls), "version": cls.version},
        )  # fmt: skip
        await _publish(uow, [(cls.id, ClassUpdated(cls))], principal)
    return cls


async def cancel_class(uow: TrainingUnitOfWork, cmd: CancelClass, principal: Principal) -> TrainingClass:
    require_roles(principal, *ORGANISERS)
    cid = parse_uuid(cmd.class_id, "id")
    async with uow:
        current = await uow.training.get_class(class_id=cid, lock="UPDATE")
        if current is None:
            raise _class_not_found(cid)
        completions = await uow.training.has_completions(class_id=cid)
        why = check_cancel(current, version=cmd.version, reason=cmd.reason, has_completions=completions)
        cls = await uow.training.save_class(replace(current, status=ClassStatus.CANCELLED, cancel_reason=why))
        await uow.audit(
            action="training_class.cancel", object_type="training_class", object_id=str(cls.id),
            details={"reason": why, "changes": audit.changes(current, cls)},
        )  # fmt: skip
        await _publish(uow, [(cls.id, ClassCancelled(cls))], principal)
    return cls


def _class_filters(flt: ClassFilter) -> dict[str, object]:
    return {
        "from": flt.from_date, "to": flt.to_date, "district": flt.district_code,
        "statuses": sorted(s.value for s in flt.statuses), "q": flt.q,
    }  # fmt: skip


async def list_classes(
    uow: TrainingUnitOfWork, query: ListClasses, principal: Principal
) -> tuple[list[TrainingClass], str]:
    """A page of classes and the token of the next page ('' after the last)."""
    require_roles(principal, *READERS)
    flt = query.filter
    check_period(flt.from_date, flt.to_date)
    limit = page_size(query.size)
    filters = _class_filters(flt)
    position = decode_cursor(query.page_token, filters=filters)
    after = None
    if position is not None:
        try:
            after = (date.fromisoformat(position[0]), uuid.UUID(position[1]))
        except (ValueError, TypeError, IndexError):
            raise InvalidArgument(
                "page_token is not a token this API gave", code="invalid_page_token",
                fields=[FieldProblem("page_token", "use next_page_token from the previous page")],
            ) from None  # fmt: skip
    async with uow:
        rows = await uow.training.list_classes(flt, after=after, limit=limit + 1)
    page, more = rows[:limit], len(rows) > limit
    token = encode_cursor([page[-1].starts_on.isoformat(), str(page[-1].id)], filters=filters) if more else ""
    return page, token


# --- attendance -----------------------------------------------------------------------------------------


async def enrol_guards(uow: TrainingUnitOfWork, cmd: EnrolGuards, principal: Principal) -> list[Attendance]:
    """Enrol every guard given in the class, or none of them (one transaction)."""
    require_roles(principal, ADMIN, POLICE, UNIT_OFFICER)
    cid = parse_uuid(cmd.class_id, "class_id")
    wanted = requested_guards([parse_uuid(g, f"guard_ids[{n}]") for n, g in enumerate(cmd.guard_ids)])
    async with uow:
        cls = await uow.training.get_class(class_id=cid, lock="UPDATE")
        if cls is None:
            raise _class_not_found(cid)
        found = {g.id: g for g in await uow.training.guards_for_enrolment(guard_ids=wanted)}
        missing = [
            FieldProblem(f"guard_ids[{n}]", "no such guard") for n, g in enumerate(wanted) if g not in found
        ]
        if missing:
            raise NotFound(
                "a guard does not exist", code="guard_not_found", resource_type="guard",
                resource_id=missing[0].field, fields=missing,
            )  # fmt: skip
        guards = [found[g] for g in wanted]
        for guard in guards:
            ensure_unit_access(principal, str(guard.unit_id), write=True)
        check_enrolment(
            cls, guards, already_enrolled=await uow.training.enrolled_among(class_id=cid, guard_ids=wanted)
        )
        attendances = await uow.training.add_attendances(class_id=cid, guards=guards)
        for att in attendances:
            await uow.audit(
                action="training_attendance.enrol", object_type="training_attendance",
                object_id=str(att.id), unit_id=str(att.unit_id),
                details={"class_id": str(cid), "guard_id": str(att.guard_id)},
            )  # fmt: skip
        await _publish(uow, [(cid, AttendanceEnrolled(a)) for a in attendances], principal)
    return attendances


async def record_completion(
    uow: TrainingUnitOfWork, cmd: RecordCompletion, principal: Principal
) -> Attendance:
    require_roles(principal, *ORGANISERS)
    async with uow:
        cls = await uow.training.get_class(class_id=cmd.class_id, lock="SHARE")
        if cls is None:
            raise _class_not_found(cmd.class_id)
        current = await uow.training.get_attendance(
            class_id=cmd.class_id, guard_id=cmd.guard_id, for_update=True
        )
        if current is None:
            raise NotFound(
                "the guard is not enrolled in this class", code="attendance_not_found",
                resource_type="training_attendance", resource_id=f"{cmd.class_id}/{cmd.guard_id}",
            )  # fmt: skip
        outcome, result = check_completion(cls, current, cmd)
        att = await uow.training.save_completion(attendance_id=current.id, outcome=outcome, result=result)
        await uow.audit(
            action="training_attendance.complete", object_type="training_attendance",
            object_id=str(att.id), unit_id=str(att.unit_id),
            details={"class_id": str(att.class_id), "outcome": outcome.value, "result": result},
        )  # fmt: skip
        await _publish(uow, [(cmd.class_id, AttendanceCompletionRecorded(att))], principal)
    return att


def _attendance_filters(flt: AttendanceFilter) -> dict[str, object]:
    return {
        "class": flt.class_id, "guard": flt.guard_id, "unit": flt.unit_id, "from": flt.from_date,
        "to": flt.to_date, "district": flt.district_code,
        "statuses": sorted(s.value for s in flt.class_statuses),
        "outcome": flt.outcome.value if flt.outcome else "",
    }  # fmt: skip


async def _scope_attendances(
    uow: TrainingUnitOfWork, flt: AttendanceFilter, principal: Principal
) -> AttendanceFilter:
    """The filter a caller may use: a unit officer sees only its own unit's attendances."""
    if not principal.is_unit_officer_only:
        return flt
    if flt.unit_id is not None:
        ensure_unit_access(principal, str(flt.unit_id))
    if flt.guard_id is not None:
        unit = await uow.training.guard_unit(guard_id=flt.guard_id)
        ensure_unit_access(principal, str(unit) if unit else None)
    return replace(flt, unit_id=parse_uuid(principal.unit_id or "", "unit_id"))


async def list_attendances(
    uow: TrainingUnitOfWork, query: ListAttendances, principal: Principal
) -> tuple[list[Attendance], str]:
    require_roles(principal, *READERS)
    flt = query.filter
    check_period(flt.from_date, flt.to_date)
    limit = page_size(query.size)
    async with uow:
        flt = await _scope_attendances(uow, flt, principal)
        filters = _attendance_filters(flt)
        position = decode_cursor(query.page_token, filters=filters)
        after = position[0] if position and isinstance(position[0], int) else None
        if position is not None and after is None:
            raise InvalidArgument(
                "page_token is not a token this API gave", code="invalid_page_token",
                fields=[FieldProblem("page_token", "use next_page_token from the previous page")],
            )  # fmt: skip
        rows = await uow.training.list_attendances(flt, after=after, limit=limit + 1)
    page = [att for _, att in rows[:limit]]
    token = encode_cursor([rows[limit - 1][0]], filters=filters) if len(rows) > limit else ""
    return page, token


async def training_figures(
    uow: TrainingUnitOfWork, query: GetFigures, principal: Principal
) -> TrainingFigures:
    """Classes of the period that were not cancelled, their attendances, completions and distinct guards."""
    require_roles(principal, *PROVINCE_WIDE_READERS)
    check_period(query.from_date, query.to_date)
    flt = AttendanceFilter(
        from_date=query.from_date,
        to_date=query.to_date,
        district_code=query.district_code.strip(),
        class_statuses=COUNTED_STATUSES,
    )
    async with uow:
        return await uow.training.figures(flt=flt)
