"""The events the derived criteria read: topics, and their decoding into the read models' rows.

A field that cannot be what the producer promises (an id that is no UUID, a missing date, an unknown
enum value) raises `InvalidEvent`: such an event is dead-lettered instead of being retried for ever.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import TypeVar

from google.protobuf.timestamp_pb2 import Timestamp

from assessment.derived.domain import (
    AttendanceOutcome,
    AttendanceRow,
    ClassRow,
    ClassStatus,
    ModelRow,
    ModelStatus,
    ViolationPriority,
    ViolationRow,
    ViolationStatus,
)
from d07.cameras.v1 import violation_events_pb2 as violations_pb
from d07.common.v1 import common_pb2
from d07.platform.convert import EnumMap, from_timestamp
from d07.platform.events.consumer import InvalidEvent
from d07.registry.v1 import models_pb2, training_pb2

MODELS_TOPIC = "d07.registry.models.v1"
TRAINING_TOPIC = "d07.registry.training.v1"
VIOLATIONS_TOPIC = "d07.cameras.violations.v1"

E = TypeVar("E", bound=StrEnum)

MODEL_STATUSES = EnumMap(
    {
        ModelStatus.BUILT: models_pb2.MODEL_STATUS_BUILT,
        ModelStatus.CONSOLIDATED: models_pb2.MODEL_STATUS_CONSOLIDATED,
        ModelStatus.EFFECTIVE: models_pb2.MODEL_STATUS_EFFECTIVE,
        ModelStatus.INACTIVE: models_pb2.MODEL_STATUS_INACTIVE,
    },
    field="model status",
)
CLASS_STATUSES = EnumMap(
    {
        ClassStatus.SCHEDULED: training_pb2.CLASS_STATUS_SCHEDULED,
        ClassStatus.HELD: training_pb2.CLASS_STATUS_HELD,
        ClassStatus.CANCELLED: training_pb2.CLASS_STATUS_CANCELLED,
    },
    field="class status",
)
OUTCOMES = EnumMap(
    {
        AttendanceOutcome.PENDING: training_pb2.ATTENDANCE_OUTCOME_PENDING,
        AttendanceOutcome.COMPLETED: training_pb2.ATTENDANCE_OUTCOME_COMPLETED,
        AttendanceOutcome.NOT_COMPLETED: training_pb2.ATTENDANCE_OUTCOME_NOT_COMPLETED,
    },
    field="attendance outcome",
)
VIOLATION_STATUSES = EnumMap(
    {
        ViolationStatus.NEW: violations_pb.VIOLATION_STATUS_NEW,
        ViolationStatus.ACKNOWLEDGED: violations_pb.VIOLATION_STATUS_ACKNOWLEDGED,
        ViolationStatus.IN_PROGRESS: violations_pb.VIOLATION_STATUS_IN_PROGRESS,
        ViolationStatus.RESOLVED: violations_pb.VIOLATION_STATUS_RESOLVED,
        ViolationStatus.DISMISSED: violations_pb.VIOLATION_STATUS_DISMISSED,
    },
    field="violation status",
)
VIOLATION_PRIORITIES = EnumMap(
    {
        ViolationPriority.CRITICAL: violations_pb.VIOLATION_PRIORITY_CRITICAL,
        ViolationPriority.HIGH: violations_pb.VIOLATION_PRIORITY_HIGH,
        ViolationPriority.MEDIUM: violations_pb.VIOLATION_PRIORITY_MEDIUM,
        ViolationPriority.LOW: violations_pb.VIOLATION_PRIORITY_LOW,
    },
    field="violation priority",
)


def _uuid(value: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidEvent(f"{what} {value!r} is not a UUID") from None


def _date(value: common_pb2.Date, what: str) -> date:
    try:
        return date(value.year, value.month, value.day)
    except ValueError:
        raise InvalidEvent(f"{what} is not a date") from None


def _moment(value: Timestamp, what: str) -> datetime:
    moment = from_timestamp(value)
    if moment is None:
        raise InvalidEvent(f"{what} is missing")
    return moment


def _enum(mapping: EnumMap[E], value: int) -> str:
    """The value's name; the unspecified value or one this version does not know makes the event invalid."""
    found = mapping.from_pb_table.get(value)
    if found is None:
        raise InvalidEvent(f"{mapping.field} {value} is not known")
    return found.value


def model_row(m: models_pb2.Model) -> ModelRow:
    host = m.unit.unit_id if m.WhichOneof("host") == "unit" else ""
    return ModelRow(
        model_id=_uuid(m.id, "model id"),
        unit_id=_uuid(host, "host unit id") if host else None,
        name=m.name,
        kind_label=m.kind_label or m.kind,
        status=_enum(MODEL_STATUSES, m.status),
        status_on=_date(m.status_on, "status_on"),
        version=m.version,
    )


def class_row(c: training_pb2.TrainingClass) -> ClassRow:
    return ClassRow(
        class_id=_uuid(c.id, "class id"),
        title=c.title,
        starts_on=_date(c.starts_on, "starts_on"),
        ends_on=_date(c.ends_on, "ends_on"),
        status=_enum(CLASS_STATUSES, c.status),
        version=c.version,
    )


def attendance_row(a: training_pb2.Attendance) -> AttendanceRow:
    return AttendanceRow(
        attendance_id=_uuid(a.id, "attendance id"),
        class_id=_uuid(a.class_id, "class id"),
        guard_id=_uuid(a.guard_id, "guard id"),
        unit_id=_uuid(a.unit_id, "unit id"),
        guard_full_name=a.guard_full_name,
        outcome=_enum(OUTCOMES, a.outcome),
        version=a.version,
    )


def violation_row(v: violations_pb.Violation) -> ViolationRow:
    return ViolationRow(
        violation_id=_uuid(v.id, "violation id"),
        unit_id=_uuid(v.unit_id, "unit id") if v.unit_id else None,
        camera_code=v.camera_code,
        kind=v.kind,
        priority=_enum(VIOLATION_PRIORITIES, v.priority),
        status=_enum(VIOLATION_STATUSES, v.status),
        opened_at=_moment(v.opened_at, "opened_at"),
        version=v.version,
    )
