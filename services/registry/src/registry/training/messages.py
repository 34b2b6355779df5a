"""Translation between training records and the protobuf messages of d07.registry.v1 (training.proto)."""

from __future__ import annotations

from datetime import date

from google.protobuf.message import Message

from d07.common.v1 import common_pb2
from d07.platform.auth import Principal
from d07.platform.errors import FieldProblem, InvalidArgument
from d07.registry.v1 import training_pb2 as pb
from registry.training.domain import (
    Attendance,
    AttendanceCompletionRecorded,
    AttendanceEnrolled,
    ClassCancelled,
    ClassScheduled,
    ClassStatus,
    ClassUpdated,
    Event,
    Outcome,
    TrainingClass,
    TrainingFigures,
)
from registry.units.messages import actor, timestamp

STATUS_TO_PB = {
    ClassStatus.SCHEDULED: pb.CLASS_STATUS_SCHEDULED,
    ClassStatus.HELD: pb.CLASS_STATUS_HELD,
    ClassStatus.CANCELLED: pb.CLASS_STATUS_CANCELLED,
}
STATUS_FROM_PB: dict[int, ClassStatus] = {int(v): k for k, v in STATUS_TO_PB.items()}
OUTCOME_TO_PB = {
    Outcome.PENDING: pb.ATTENDANCE_OUTCOME_PENDING,
    Outcome.COMPLETED: pb.ATTENDANCE_OUTCOME_COMPLETED,
    Outcome.NOT_COMPLETED: pb.ATTENDANCE_OUTCOME_NOT_COMPLETED,
}
OUTCOME_FROM_PB: dict[int, Outcome] = {int(v): k for k, v in OUTCOME_TO_PB.items()}


def date_to_pb(value: date) -> common_pb2.Date:
    return common_pb2.Date(year=value.year, month=value.month, day=value.day)


def date_from_pb(value: common_pb2.Date, field: str) -> date | None:
    """None for an unset (all zero) date; InvalidArgument naming the field for an impossible one."""
    if not (value.year or value.month or value.day):
        return None
    try:
        return date(value.year, value.month, value.day)
    except ValueError:
        raise InvalidArgument(
            f"{field} is not a calendar date", code="invalid_date",
            fields=[FieldProblem(field, "a real year, month and day")],
        ) from None  # fmt: skip


def statuses_from_pb(values: list[int], field: str) -> tuple[ClassStatus, ...]:
    unknown = [v for v in values if v not in STATUS_FROM_PB]
    if unknown:
        raise InvalidArgument(
            "unknown class status", code="invalid_status",
            fields=[FieldProblem(field, "SCHEDULED, HELD or CANCELLED")],
        )  # fmt: skip
    return tuple(STATUS_FROM_PB[v] for v in values)


def outcome_from_pb(value: int) -> Outcome | None:
    """None for UNSPECIFIED (every outcome)."""
    if value == pb.ATTENDANCE_OUTCOME_UNSPECIFIED:
        return None
    if value not in OUTCOME_FROM_PB:
        raise InvalidArgument(
            "unknown attendance outcome", code="invalid_outcome",
            fields=[FieldProblem("outcome", "PENDING, COMPLETED or NOT_COMPLETED")],
        )  # fmt: skip
    return OUTCOME_FROM_PB[value]


def class_to_pb(cls: TrainingClass) -> pb.TrainingClass:
    return pb.TrainingClass(
        id=str(cls.id),
        title=cls.title,
        organiser=cls.organiser,
        starts_on=date_to_pb(cls.starts_on),
        ends_on=date_to_pb(cls.ends_on),
        place=cls.place,
        capacity=cls.capacity,
        district_code=cls.district_code,
        status=STATUS_TO_PB[cls.status],
        enrolled=cls.enrolled,
        cancel_reason=cls.cancel_reason,
        version=cls.version,
        created_at=timestamp(cls.created_at),
        updated_at=timestamp(cls.updated_at),
    )


def attendance_to_pb(att: Attendance) -> pb.Attendance:
    msg = pb.Attendance(
        id=str(att.id),
        class_id=str(att.class_id),
        guard_id=str(att.guard_id),
        unit_id=str(att.unit_id),
        guard_full_name=att.guard_full_name,
        outcome=OUTCOME_TO_PB[att.outcome],
        result=att.result,
        version=att.version,
        enrolled_at=timestamp(att.enrolled_at),
    )
    if att.completion_recorded_at is not None:
        msg.completion_recorded_at.CopyFrom(timestamp(att.completion_recorded_at))
    return msg


def figures_to_pb(figures: TrainingFigures) -> pb.GetTrainingFiguresResponse:
    return pb.GetTrainingFiguresResponse(
        classes=figures.classes,
        attendances=figures.attendances,
        completed_attendances=figures.completed_attendances,
        guards_attended=figures.guards_attended,
        guards_completed=figures.guards_completed,
    )


def event_to_pb(event: Event, principal: Principal | None) -> Message:
    """The message published on d07.registry.training.v1 for a domain event."""
    who = actor(principal)
    match event:
        case ClassScheduled(training_class=cls):
            return pb.ClassScheduled(training_class=class_to_pb(cls), actor=who)
        case ClassUpdated(training_class=cls):
            return pb.ClassUpdated(training_class=class_to_pb(cls), actor=who)
        case ClassCancelled(training_class=cls):
            return pb.ClassCancelled(training_class=class_to_pb(cls), actor=who)
        case AttendanceEnrolled(attendance=att):
            return pb.AttendanceEnrolled(attendance=attendance_to_pb(att), actor=who)
        case AttendanceCompletionRecorded(attendance=att):
            return pb.AttendanceCompletionRecorded(attendance=attendance_to_pb(att), actor=who)
    raise TypeError(f"not a training event: {event!r}")
