"""Training classes for guards and their attendance. Pure rules, no I/O.

One guard in one class is one attendance. The figures the province publishes (classes held, attendances,
completions) are counted from these records by the repository, so nothing here keeps a number by hand.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum

from d07.platform.errors import AlreadyExists, Conflict, FieldProblem, InvalidArgument, ensure_version

MAX_TITLE = 300
MAX_TEXT = 300
MAX_RESULT = 1000
MAX_CAPACITY = 10_000
MAX_BATCH = 1000


class ClassStatus(StrEnum):
    SCHEDULED = "scheduled"
    HELD = "held"
    CANCELLED = "cancelled"


class Outcome(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    NOT_COMPLETED = "not_completed"


# The classes a published figure counts: every class of the period that was not cancelled.
COUNTED_STATUSES = (ClassStatus.SCHEDULED, ClassStatus.HELD)


# --- commands -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleClass:
    """Command: schedule a class."""

    title: str
    organiser: str
    starts_on: date | None
    ends_on: date | None
    place: str
    capacity: int
    district_code: str


@dataclass(frozen=True)
class UpdateClass:
    """Command: change the fields given (None keeps a field) of the class read at `version`."""

    class_id: uuid.UUID
    version: int
    title: str | None = None
    organiser: str | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    place: str | None = None
    capacity: int | None = None
    district_code: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class RecordCompletion:
    """Command: record whether a guard completed a class (the attendance read at `version`)."""

    class_id: uuid.UUID
    guard_id: uuid.UUID
    version: int
    completed: bool
    result: str = ""


# --- records --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingClass:
    id: uuid.UUID
    title: str
    organiser: str
    starts_on: date
    ends_on: date
    place: str
    capacity: int
    district_code: str
    status: ClassStatus
    enrolled: int
    cancel_reason: str
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Attendance:
    id: uuid.UUID
    class_id: uuid.UUID
    guard_id: uuid.UUID
    unit_id: uuid.UUID
    guard_full_name: str
    outcome: Outcome
    result: str
    version: int
    enrolled_at: datetime
    completion_recorded_at: datetime | None


@dataclass(frozen=True)
class GuardRef:
    """What enrolment needs to know of a guard (the guard itself belongs to the forces aggregate)."""

    id: uuid.UUID
    unit_id: uuid.UUID
    full_name: str
    status: str


@dataclass(frozen=True)
class ClassFilter:
    """Classes that start in [from_date, to_date] (open where None), in a district, of some statuses."""

    from_date: date | None = None
    to_date: date | None = None
    district_code: str = ""
    statuses: tuple[ClassStatus, ...] = ()
    q: str = ""


@dataclass(frozen=True)
class AttendanceFilter:
    """Attendances; the period, district and class statuses apply to the attendance's class."""

    class_id: uuid.UUID | None = None
    guard_id: uuid.UUID | None = None
    unit_id: uuid.UUID | None = None
    from_date: date | None = None
    to_date: date | None = None
    district_code: str = ""
    class_statuses: tuple[ClassStatus, ...] = ()
    outcome: Outcome | None = None


@dataclass(frozen=True)
class TrainingFigures:
    classes: int
    attendances: int
    completed_attendances: int
    guards_attended: int
    guards_completed: int


# --- events ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassScheduled:
    training_class: TrainingClass


@dataclass(frozen=True)
class ClassUpdated:
    training_class: TrainingClass


@dataclass(frozen=True)
class ClassCancelled:
    training_class: TrainingClass


@dataclass(frozen=True)
class AttendanceEnrolled:
    attendance: Attendance


@dataclass(frozen=True)
class AttendanceCompletionRecorded:
    attendance: Attendance


Event = ClassScheduled | ClassUpdated | ClassCancelled | AttendanceEnrolled | AttendanceCompletionRecorded


# --- rules ----------------------------------------------------------------------------------------------


def _text(value: str) -> str:
    return " ".join(value.split())


def validate_schedule(cmd: ScheduleClass) -> ScheduleClass:
    """The command with whitespace tidied, or InvalidArgument naming every wrong field.

    Whether the district exists is the service's question (it reads the divisions); here only its presence.
    """
    title, organiser, place = _text(cmd.title), _text(cmd.organiser), _text(cmd.place)
    district = cmd.district_code.strip()
    problems: list[FieldProblem] = []
    if not title:
        problems.append(FieldProblem("title", "the class's title is required"))
    elif len(title) > MAX_TITLE:
        problems.append(FieldProblem("title", f"at most {MAX_TITLE} characters"))
    if not organiser:
        problems.append(FieldProblem("organiser", "the organiser is required"))
    elif len(organiser) > MAX_TEXT:
        problems.append(FieldProblem("organiser", f"at most {MAX_TEXT} characters"))
    if len(place) > MAX_TEXT:
        problems.append(FieldProblem("place", f"at most {MAX_TEXT} characters"))
    if cmd.starts_on is None:
        problems.append(FieldProblem("starts_on", "the first day of the class is required"))
    if cmd.ends_on is None:
        problems.append(FieldProblem("ends_on", "the last day of the class is required"))
    if cmd.starts_on and cmd.ends_on and cmd.ends_on < cmd.starts_on:
        problems.append(FieldProblem("ends_on", "must not be before starts_on"))
    if not 1 <= cmd.capacity <= MAX_CAPACITY:
        problems.append(FieldProblem("capacity", f"between 1 and {MAX_CAPACITY} guards"))
    if not district:
        problems.append(FieldProblem("district_code", "the district where the class is held is required"))
    if problems:
        raise InvalidArgument("the class is not valid", code="invalid_class", fields=problems)
    return ScheduleClass(
        title=title,
        organiser=organiser,
        starts_on=cmd.starts_on,
        ends_on=cmd.ends_on,
        place=place,
        capacity=cmd.capacity,
        district_code=district,
    )


def _refuse_cancelled(cls: TrainingClass) -> None:
    if cls.status is ClassStatus.CANCELLED:
        raise Conflict(
            "the class is cancelled", code="class_cancelled", resource_type="training_class",
            resource_id=str(cls.id),
        )  # fmt: skip


def apply_update(current: TrainingClass, cmd: UpdateClass) -> TrainingClass:
    """The class as the command leaves it, after every rule: version, state, fields, capacity."""
    ensure_version(cmd.version, current.version, what="training class", object_id=current.id)
    _refuse_cancelled(current)
    merged = validate_schedule(
        ScheduleClass(
            title=current.title if cmd.title is None else cmd.title,
            organiser=current.organiser if cmd.organiser is None else cmd.organiser,
            starts_on=cmd.starts_on or current.starts_on,
            ends_on=cmd.ends_on or current.ends_on,
            place=current.place if cmd.place is None else cmd.place,
            capacity=current.capacity if cmd.capacity is None else cmd.capacity,
            district_code=current.district_code if cmd.district_code is None else cmd.district_code,
        )
    )
    status = current.status
    if cmd.status is not None:
        if cmd.status not in (ClassStatus.SCHEDULED, ClassStatus.HELD):
            raise InvalidArgument(
                "a class's status changes to scheduled or held here; cancelling is its own action",
                code="invalid_status", fields=[FieldProblem("status", "scheduled or held")],
            )  # fmt: skip
        status = ClassStatus(cmd.status)
    if merged.capacity < current.enrolled:
        raise Conflict(
            f"{current.enrolled} guards are enrolled: the capacity cannot go below that",
            code="capacity_below_enrolled",
            fields=[FieldProblem("capacity", f"at least {current.enrolled}")],
        )
    # validate_schedule refused missing dates
    assert merged.starts_on is not None
    assert merged.ends_on is not None
    return replace(
        current,
        title=merged.title,
        organiser=merged.organiser,
        starts_on=merged.starts_on,
        ends_on=merged.ends_on,
        place=merged.place,
        capacity=merged.capacity,
        district_code=merged.district_code,
        status=status,
    )


def check_cancel(current: TrainingClass, *, version: int, reason: str, has_completions: bool) -> str:
    """The tidied reason, if the class may be cancelled: a class whose completions are recorded was held."""
    ensure_version(version, current.version, what="training class", object_id=current.id)
    _refuse_cancelled(current)
    reason = _text(reason)
    if not reason:
        raise InvalidArgument(
            "say why the class is cancelled", code="invalid_cancel",
            fields=[FieldProblem("reason", "required")],
        )  # fmt: skip
    if len(reason) > MAX_RESULT:
        raise InvalidArgument(
            "the reason is too long", code="invalid_cancel",
            fields=[FieldProblem("reason", f"at most {MAX_RESULT} characters")],
        )  # fmt: skip
    if has_completions:
        raise Conflict(
            "completions are recorded for this class: it was held and cannot be cancelled",
            code="class_has_completions", resource_type="training_class", resource_id=str(current.id),
        )  # fmt: skip
    return reason


def requested_guards(guard_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """The guard ids of an enrolment, each once: a repeated id is a mistake of the caller, not a no-op."""
    problems: list[FieldProblem] = []
    if not guard_ids:
        problems.append(FieldProblem("guard_ids", "at least one guard"))
    if len(guard_ids) > MAX_BATCH:
        problems.append(FieldProblem("guard_ids", f"at most {MAX_BATCH} guards per call"))
    seen: set[uuid.UUID] = set()
    for n, gid in enumerate(guard_ids):
        if gid in seen:
            problems.append(FieldProblem(f"guard_ids[{n}]", "this guard is already in the request"))
        seen.add(gid)
    if problems:
        raise InvalidArgument("the enrolment is not valid", code="invalid_enrolment", fields=problems)
    return list(guard_ids)


def check_enrolment(
    cls: TrainingClass,
    guards: Sequence[GuardRef],
    *,
    already_enrolled: Iterable[uuid.UUID],
) -> None:
    """All or nothing: every guard may join the class, and all of them fit in it.

    Checked in this order, each naming every guard it refuses: the class is not cancelled, the guards still
    serve, none is enrolled already (ALREADY_EXISTS), and the class has room for all (FAILED_PRECONDITION).
    """
    _refuse_cancelled(cls)
    position = {g.id: n for n, g in enumerate(guards)}
    left = [g for g in guards if g.status != "active"]
    if left:
        raise Conflict(
            "a guard who has left the force cannot be enrolled",
            code="guard_left",
            fields=[FieldProblem(f"guard_ids[{position[g.id]}]", f"{g.full_name} has left") for g in left],
        )
    enrolled = set(already_enrolled)
    twice = [g for g in guards if g.id in enrolled]
    if twice:
        raise AlreadyExists(
            "a guard is already enrolled in this class",
            code="already_enrolled",
            resource_type="training_attendance",
            resource_id=str(twice[0].id),
            fields=[
                FieldProblem(f"guard_ids[{position[g.id]}]", f"{g.full_name} is already enrolled")
                for g in twice
            ],
        )
    room = cls.capacity - cls.enrolled
    if len(guards) > room:
        raise Conflict(
            f"the class holds {cls.capacity}, {cls.enrolled} are enrolled: {len(guards)} more do not fit",
            code="class_full",
            resource_type="training_class",
            resource_id=str(cls.id),
            fields=[FieldProblem("guard_ids", f"room for {room} more")],
        )


def check_completion(cls: TrainingClass, current: Attendance, cmd: RecordCompletion) -> tuple[Outcome, str]:
    """The outcome and tidied result to store for a completion of `current` in `cls`."""
    ensure_version(cmd.version, current.version, what="training attendance", object_id=current.id)
    _refuse_cancelled(cls)
    result = " ".join(cmd.result.split())
    if len(result) > MAX_RESULT:
        raise InvalidArgument(
            "the result is too long", code="invalid_completion",
            fields=[FieldProblem("result", f"at most {MAX_RESULT} characters")],
        )  # fmt: skip
    return (Outcome.COMPLETED if cmd.completed else Outcome.NOT_COMPLETED), result


def check_period(from_date: date | None, to_date: date | None) -> None:
    if from_date and to_date and to_date < from_date:
        raise InvalidArgument(
            "the period ends before it starts", code="invalid_period",
            fields=[FieldProblem("to_date", "must not be before from_date")],
        )  # fmt: skip
