"""The consumer of the derived criteria (group `assessment.derived`): one group over the registry's models
and training streams and the cameras' violations (one group join instead of three; each stream keeps its own
key order). The training events carry the guard's unit, so no copy of the guards is kept."""

from __future__ import annotations

from assessment.derived import messages, service
from assessment.derived.repository import DerivedRepository, ReviewFlagRepository
from d07.cameras.v1 import violation_events_pb2 as violations_pb
from d07.platform.db import Conn
from d07.platform.events.envelope import ConsumedEvent
from d07.platform.runtime import ConsumerSpec, HandlerTable
from d07.registry.v1 import models_pb2, training_pb2


async def on_model_registered_or_changed_status(conn: Conn, event: ConsumedEvent) -> None:
    msg = event.message
    assert isinstance(msg, models_pb2.ModelCreated | models_pb2.ModelStatusChanged)
    await service.model_registered_or_changed_status(DerivedRepository(conn), messages.model_row(msg.model))


async def on_model_updated(conn: Conn, event: ConsumedEvent) -> None:
    msg = event.message
    assert isinstance(msg, models_pb2.ModelUpdated)
    await service.model_updated(DerivedRepository(conn), messages.model_row(msg.model))


async def on_class(conn: Conn, event: ConsumedEvent) -> None:
    msg = event.message
    assert isinstance(
        msg, training_pb2.ClassScheduled | training_pb2.ClassUpdated | training_pb2.ClassCancelled
    )
    await service.keep_class(DerivedRepository(conn), messages.class_row(msg.training_class))


async def on_attendance(conn: Conn, event: ConsumedEvent) -> None:
    msg = event.message
    assert isinstance(msg, training_pb2.AttendanceEnrolled | training_pb2.AttendanceCompletionRecorded)
    await service.keep_attendance(DerivedRepository(conn), messages.attendance_row(msg.attendance))


async def on_violation(conn: Conn, event: ConsumedEvent) -> None:
    msg = event.message
    assert isinstance(
        msg, violations_pb.ViolationOpened | violations_pb.ViolationUpdated | violations_pb.ViolationOverdue
    )
    row = messages.violation_row(msg.violation)
    await service.keep_violation(DerivedRepository(conn), ReviewFlagRepository(conn), row)


TABLE: HandlerTable = {
    messages.MODELS_TOPIC: {
        models_pb2.ModelCreated: on_model_registered_or_changed_status,
        models_pb2.ModelUpdated: on_model_updated,
        models_pb2.ModelStatusChanged: on_model_registered_or_changed_status,
    },
    messages.TRAINING_TOPIC: {
        training_pb2.ClassScheduled: on_class,
        training_pb2.ClassUpdated: on_class,
        training_pb2.ClassCancelled: on_class,
        training_pb2.AttendanceEnrolled: on_attendance,
        training_pb2.AttendanceCompletionRecorded: on_attendance,
    },
    messages.VIOLATIONS_TOPIC: {
        violations_pb.ViolationOpened: on_violation,
        violations_pb.ViolationUpdated: on_violation,
        violations_pb.ViolationOverdue: on_violation,
    },
}
# Consumer group `assessment.derived`.
CONSUMER = ConsumerSpec(name="derived", table=TABLE)
