"""The events the derived criteria read: topics, message types, and their decoding into plain rows.

A field that cannot be what the producer promises (an id that is no UUID, a missing date) raises
`InvalidEvent`: such an event is dead-lettered instead of being retried for ever.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from d07.cameras.v1 import violation_events_pb2 as violations_pb
from d07.common.v1 import common_pb2
from d07.platform.events.consumer import InvalidEvent
from d07.registry.v1 import models_pb2, training_pb2

MODELS_TOPIC = "d07.registry.models.v1"
TRAINING_TOPIC = "d07.registry.training.v1"
VIOLATIONS_TOPIC = "d07.cameras.violations.v1"
TOPICS = [MODELS_TOPIC, TRAINING_TOPIC, VIOLATIONS_TOPIC]

MODEL_STATUSES: dict[int, str] = {
    models_pb2.MODEL_STATUS_BUILT: "built",
    models_pb2.MODEL_STATUS_CONSOLIDATED: "consolidated",
    models_pb2.MODEL_STATUS_EFFECTIVE: "effective",
    models_pb2.MODEL_STATUS_INACTIVE: "inactive",
}
CLASS_STATUSES: dict[int, str] = {
    training_pb2.CLASS_STATUS_SCHEDULED: "scheduled",
    training_pb2.CLASS_STATUS_HELD: "held",
    training_pb2.CLASS_STATUS_CANCELLED: "cancelled",
}
OUTCOMES: dict[int, str] = {
    training_pb2.ATTENDANCE_OUTCOME_PENDING: "pending",
    training_pb2.ATTENDANCE_OUTCOME_COMPLETED: "completed",
    training_pb2.ATTENDANCE_OUTCOME_NOT_COMPLETED: "not_completed",
}
VIOLATION_STATUSES: dict[int, str] = {
    violations_pb.VIOLATION_STATUS_NEW: "new",
    violations_pb.VIOLATION_STATUS_ACKNOWLEDGED: "acknowledged",
    violations_pb.VIOLATION_STATUS_IN_PROGRESS: "in_progress",
    violations_pb.VIOLATION_STATUS_RESOLVED: "resolved",
    violations_pb.VIOLATION_STATUS_DISMISSED: "dismissed",
}
VIOLATION_PRIORITIES: dict[int, str] = {
    violations_pb.VIOLATION_PRIORITY_CRITICAL: "critical",
    violations_pb.VIOLATION_PRIORITY_HIGH: "high",
    violations_pb.VIOLATION_PRIORITY_MEDIUM: "medium",
    violations_pb.VIOLATION_PRIORITY_LOW: "low",
}


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
    if not (value.seconds or value.nanos):
        raise InvalidEvent(f"{what} is missing")
    return value.ToDatetime(tzinfo=UTC)


def _enum(mapping: dict[int, str], value: int, what: str) -> str:
    if value not in mapping:
        raise InvalidEvent(f"{what} {value} is not known")
    return mapping[value]


@dataclass(frozen=True)
class ModelRow:
    model_id: uuid.UUID
    unit_id: uuid.UUID | None
    name: str
    kind_label: str
    status: str
    status_on: date
    version: int


@dataclass(frozen=True)
class ClassRow:
    class_id: uuid.UUID
    title: str
    starts_on: date
    ends_on: date
    status: str
    version: int


@dataclass(frozen=True)
class AttendanceRow:
    attendance_id: uuid.UUID
    class_id: uuid.UUID
    guard_id: uuid.UUID
    unit_id: uuid.UUID
    guard_full_name: str
    outcome: str
    version: int


@dataclass(frozen=True)
class ViolationRow:
    violation_id: uuid.UUID
    unit_id: uuid.UUID | None
    camera_code: str
    kind: str
    priority: str
    status: str
    opened_at: datetime
    version: int


def model_row(m: models_pb2.Model) -> ModelRow:
    host = m.unit.unit_id if m.WhichOneof("host") == "unit" else ""
    return ModelRow(
        model_id=_uuid(m.id, "model id"),
        unit_id=_uuid(host, "host unit id") if host else None,
        name=m.name,
        kind_label=m.kind_label or m.kind,
        status=_enum(MODEL_STATUSES, m.status, "model status"),
        status_on=_date(m.status_on, "status_on"),
        version=m.version,
    )


def class_row(c: training_pb2.TrainingClass) -> ClassRow:
    return ClassRow(
        class_id=_uuid(c.id, "class id"),
        title=c.title,
        starts_on=_date(c.starts_on, "starts_on"),
        ends_on=_date(c.ends_on, "ends_on"),
        status=_enum(CLASS_STATUSES, c.status, "class status"),
        version=c.version,
    )


def attendance_row(a: training_pb2.Attendance) -> AttendanceRow:
    return AttendanceRow(
        attendance_id=_uuid(a.id, "attendance id"),
        class_id=_uuid(a.class_id, "class id"),
        guard_id=_uuid(a.guard_id, "guard id"),
        unit_id=_uuid(a.unit_id, "unit id"),
        guard_full_name=a.guard_full_name,
        outcome=_enum(OUTCOMES, a.outcome, "attendance outcome"),
        version=a.version,
    )


def violation_row(v: violations_pb.Violation) -> ViolationRow:
    return ViolationRow(
        violation_id=_uuid(v.id, "violation id"),
        unit_id=_uuid(v.unit_id, "unit id") if v.unit_id else None,
        camera_code=v.camera_code,
        kind=v.kind,
        priority=_enum(VIOLATION_PRIORITIES, v.priority, "violation priority"),
        status=_enum(VIOLATION_STATUSES, v.status, "violation status"),
        opened_at=_moment(v.opened_at, "opened_at"),
        version=v.version,
    )
