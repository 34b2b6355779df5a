"""The read models this service keeps from other services' events, and the review flag a later event raises.

Each handler runs inside the consumer's transaction beside the inbox row of its event; version and revision
guards make a replayed older event change nothing. Event types of the same topics that carry nothing for
awards are acknowledged by `ignore` (handled, not dead-lettered as unknown). `TABLE` is the consumer's one
table: per topic, a handler per message class.
"""

from __future__ import annotations

import uuid

from awards.nominations import domain, messages
from awards.nominations.domain import AssessmentResult, AttendanceOutcome, UnitStatus
from awards.nominations.repository import RecordRepository
from awards.nominations.service import review_pending
from d07.assessment.v1 import assessment_pb2
from d07.cameras.v1 import violation_events_pb2 as violations_pb
from d07.platform.convert import from_timestamp
from d07.platform.db import Conn
from d07.platform.events.consumer import InvalidEvent
from d07.platform.events.envelope import ConsumedEvent
from d07.platform.logging import get_logger
from d07.platform.runtime import HandlerTable
from d07.registry.v1 import forces_pb2, registry_pb2, training_pb2

log = get_logger(__name__)


def event_id(value: str, what: str) -> uuid.UUID:
    """An id an event carries; InvalidEvent (dead letter) when it is not a UUID."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidEvent(f"{what} {value!r} is not a UUID") from None


async def ignore(conn: Conn, event: ConsumedEvent) -> None:
    """An event of a consumed topic that awards does not need."""


async def on_unit(conn: Conn, event: ConsumedEvent) -> None:
    msg = event.message
    assert isinstance(msg, registry_pb2.UnitCreated | registry_pb2.UnitUpdated)
    u = msg.unit
    status = messages.event_value(messages.UNIT_STATUS, u.status) or UnitStatus.ACTIVE
    await RecordRepository(conn).upsert_unit(event_id(u.id, "unit id"), u.name, status.value, u.version)


async def on_assessment(conn: Conn, event: ConsumedEvent) -> None:
    """Keep the unit's final result of the year; a failed result (first or revised) reviews the unit's
    pending nominations."""
    msg = event.message
    assert isinstance(msg, assessment_pb2.AssessmentFinalised | assessment_pb2.AssessmentRevised)
    a = msg.assessment
    result = messages.event_value(messages.ASSESSMENT_RESULT, a.result)
    if result is None:
        return
    unit_id = event_id(a.unit_id, "unit id")
    changed = await RecordRepository(conn).upsert_assessment(
        unit_id, a.year, event_id(a.id, "assessment id"), result.value, a.revision
    )
    if changed and result == AssessmentResult.FAILED:
        kind = (
            "Đánh giá được sửa thành không đạt"
            if isinstance(msg, assessment_pb2.AssessmentRevised)
            else ("Kết quả đánh giá không đạt")
        )
        n = await review_pending(conn, unit_id, f"{kind} năm {a.year} (assessment:{a.id})")
        if n:
            log.info("nominations_flagged", unit_id=str(unit_id), count=n, cause="assessment")


async def on_violation(conn: Conn, event: ConsumedEvent) -> None:
    """Keep the violation; an unresolved serious one reviews the unit's pending nominations."""
    msg = event.message
    assert isinstance(
        msg, violations_pb.ViolationOpened | violations_pb.ViolationUpdated | violations_pb.ViolationOverdue
    )
    v = msg.violation
    if not v.unit_id:
        return  # a camera that covers no unit counts against nobody
    unit_id = event_id(v.unit_id, "unit id")
    priority_of = messages.event_value(messages.VIOLATION_PRIORITY, v.priority)
    status_of = messages.event_value(messages.VIOLATION_STATUS, v.status)
    priority = priority_of.value if priority_of is not None else "unspecified"
    status = status_of.value if status_of is not None else "unspecified"
    opened = from_timestamp(v.opened_at)
    changed = await RecordRepository(conn).upsert_violation(
        event_id(v.id, "violation id"), unit_id, priority, status, opened, v.version
    )
    if changed and domain.is_unresolved_serious(priority, status):
        n = await review_pending(conn, unit_id, f"Vi phạm nghiêm trọng chưa xử lý (violation:{v.id})")
        if n:
            log.info("nominations_flagged", unit_id=str(unit_id), count=n, cause="violation")


async def on_guard(conn: Conn, event: ConsumedEvent) -> None:
    msg = event.message
    assert isinstance(msg, forces_pb2.GuardRegistered | forces_pb2.GuardUpdated | forces_pb2.GuardLeft)
    g = msg.guard
    await RecordRepository(conn).upsert_guard(
        event_id(g.id, "guard id"), event_id(g.unit_id, "unit id"), g.full_name,
        g.status != forces_pb2.GUARD_STATUS_LEFT, g.version,
    )  # fmt: skip


async def on_attendance(conn: Conn, event: ConsumedEvent) -> None:
    msg = event.message
    assert isinstance(msg, training_pb2.AttendanceEnrolled | training_pb2.AttendanceCompletionRecorded)
    a = msg.attendance
    outcome = messages.event_value(messages.ATTENDANCE_OUTCOME, a.outcome) or AttendanceOutcome.PENDING
    await RecordRepository(conn).upsert_attendance(
        event_id(a.id, "attendance id"), event_id(a.guard_id, "guard id"), event_id(a.class_id, "class id"),
        outcome.value, a.version,
    )  # fmt: skip


TABLE: HandlerTable = {
    messages.UNITS_TOPIC: {
        registry_pb2.UnitCreated: on_unit,
        registry_pb2.UnitUpdated: on_unit,
    },
    messages.FORCES_TOPIC: {
        forces_pb2.SecurityForceEstablished: ignore,
        forces_pb2.SecurityForceUpdated: ignore,
        forces_pb2.GuardRegistered: on_guard,
        forces_pb2.GuardUpdated: on_guard,
        forces_pb2.GuardLeft: on_guard,
    },
    messages.TRAINING_TOPIC: {
        training_pb2.ClassScheduled: ignore,
        training_pb2.ClassUpdated: ignore,
        training_pb2.ClassCancelled: ignore,
        training_pb2.AttendanceEnrolled: on_attendance,
        training_pb2.AttendanceCompletionRecorded: on_attendance,
    },
    messages.ASSESSMENTS_TOPIC: {
        assessment_pb2.AssessmentRoundOpened: ignore,
        assessment_pb2.AssessmentSubmitted: ignore,
        assessment_pb2.AssessmentFinalised: on_assessment,
        assessment_pb2.AssessmentRevised: on_assessment,
    },
    messages.VIOLATIONS_TOPIC: {
        violations_pb.ViolationOpened: on_violation,
        violations_pb.ViolationUpdated: on_violation,
        violations_pb.ViolationOverdue: on_violation,
    },
}
