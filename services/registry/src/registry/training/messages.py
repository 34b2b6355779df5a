"""Translation between training records and the protobuf messages of d07.registry.v1 (training.proto)."""

from __future__ import annotations

from typing import cast

from google.protobuf.message import Message

from d07.platform.auth import Principal
from d07.platform.convert import EnumMap, actor, date_to_pb, timestamp
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

STATUS = EnumMap(
    {
        ClassStatus.SCHEDULED: pb.CLASS_STATUS_SCHEDULED,
        ClassStatus.HELD: pb.CLASS_STATUS_HELD,
        ClassStatus.CANCELLED: pb.CLASS_STATUS_CANCELLED,
    },
    field="status",
)
OUTCOME = EnumMap(
    {
        Outcome.PENDING: pb.ATTENDANCE_OUTCOME_PENDING,
        Outcome.COMPLETED: pb.ATTENDANCE_OUTCOME_COMPLETED,
        Outcome.NOT_COMPLETED: pb.ATTENDANCE_OUTCOME_NOT_COMPLETED,
    },
    field="outcome",
)


def statuses_from_pb(values: list[int], field: str) -> tuple[ClassStatus, ...]:
    unknown = [v for v in values if v not in STATUS.from_pb_table]
    if unknown:
        raise InvalidArgument(
            "unknown class status", code="invalid_status",
            fields=[FieldProblem(field, "SCHEDULED, HELD or CANCELLED")],
        )  # fmt: skip
    return tuple(STATUS.from_pb_table[v] for v in values)


def outcome_from_pb(value: int) -> Outcome | None:
    """None for UNSPECIFIED (every outcome)."""
    if value == pb.ATTENDANCE_OUTCOME_UNSPECIFIED:
        return None
    if value not in OUTCOME.from_pb_table:
        raise InvalidArgument(
            "unknown attendance outcome", code="invalid_outcome",
            fields=[FieldProblem("outcome", "PENDING, COMPLETED or NOT_COMPLETED")],
        )  # fmt: skip
    return OUTCOME.from_pb_table[value]


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
        status=cast("pb.ClassStatus", STATUS.to_pb(cls.status)),
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
        outcome=cast("pb.AttendanceOutcome", OUTCOME.to_pb(att.outcome)),
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
