"""The read models this service keeps from other services' events, and the review flag a later event raises.

Each handler runs inside the consumer's transaction beside the inbox row of its event; version and revision
guards make a replayed older event change nothing. Event types of the same topics that carry nothing for
awards are acknowledged by `ignore` (handled, not dead-lettered as unknown).
"""

from __future__ import annotations

from datetime import UTC

from awards.nominations import domain, messages
from awards.nominations import repository as repo
from awards.nominations.service import review_pending
from d07.assessment.v1 import assessment_pb2
from d07.cameras.v1 import violation_events_pb2 as violations_pb
from d07.platform.db import Conn
from d07.platform.events.consumer import Handler
from d07.platform.events.envelope import ConsumedEvent
from d07.platform.logging import get_logger
from d07.registry.v1 import forces_pb2, registry_pb2, training_pb2

log = get_logger(__name__)

UNIT_STATUSES = {1: "active", 2: "merged", 3: "dissolved"}
RESULTS = {
    assessment_pb2.ASSESSMENT_RESULT_PASSED: "passed",
    assessment_pb2.ASSESSMENT_RESULT_FAILED: "failed",
}
PRIORITIES = {1: "critical", 2: "high", 3: "medium", 4: "low"}
VIOLATION_STATUSES = {1: "new", 2: "acknowledged", 3: "in_progress", 4: "resolved", 5: "dismissed"}
OUTCOMES = {0: "pending", 1: "pending", 2: "completed", 3: "not_completed"}


async def ignore(conn: Conn, event: ConsumedEvent) -> None:
    """An event of a consumed topic that awards does not need."""


async def on_unit(conn: Conn, event: ConsumedEvent) -> None:
    msg = event.message
    assert isinstance(msg, registry_pb2.UnitCreated | registry_pb2.UnitUpdated)
    u = msg.unit
    await repo.upsert_unit(
        conn, messages.event_id(u.id, "unit id"), u.name, UNIT_STATUSES.get(u.status, "active"), u.version
    )


async def on_assessment(conn: Conn, event: ConsumedEvent) -> None:
    """Keep the unit's final result of the year; a failed result (first or revised) reviews the unit's
    pending nominations."""
    msg = event.message
    assert isinstance(msg, assessment_pb2.AssessmentFinalised | assessment_pb2.AssessmentRevised)
    a = msg.assessment
    result = RESULTS.get(a.result)
    if result is None:
        return
    unit_id = messages.event_id(a.unit_id, "unit id")
    changed = await repo.upsert_assessment(
        conn, unit_id, a.year, messages.event_id(a.id, "assessment id"), result, a.revision
    )
    if changed and result == "failed":
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
    unit_id = messages.event_id(v.unit_id, "unit id")
    priority = PRIORITIES.get(v.priority, "unspecified")
    status = VIOLATION_STATUSES.get(v.status, "unspecified")
    opened = v.opened_at.ToDatetime(tzinfo=UTC) if v.opened_at.seconds else None
    changed = await repo.upsert_violation(
        conn, messages.event_id(v.id, "violation id"), unit_id, priority, status, opened, v.version
    )
    if changed and domain.is_unresolved_serious(priority, status):
        n = await review_pending(conn, unit_id, f"Vi phạm nghiêm trọng chưa xử lý (violation:{v.id})")
        if n:
            log.info("nominations_flagged", unit_id=str(unit_id), count=n, cause="violation")


async def on_guard(conn: Conn, event: ConsumedEvent) -> None:
    msg = event.message
    assert isinstance(msg, forces_pb2.GuardRegistered | forces_pb2.GuardUpdated | forces_pb2.GuardLeft)
    g = msg.guard
    await repo.upsert_guard(
        conn,
        messages.event_id(g.id, "guard id"),
        messages.event_id(g.unit_id, "unit id"),
        g.full_name,
        g.status != forces_pb2.GUARD_STATUS_LEFT,
        g.version,
    )


async def on_attendance(conn: Conn, event: ConsumedEvent) -> None:
    msg = event.message
    assert isinstance(msg, training_pb2.AttendanceEnrolled | training_pb2.AttendanceCompletionRecorded)
    a = msg.attendance
    await repo.upsert_attendance(
        conn,
        messages.event_id(a.id, "attendance id"),
        messages.event_id(a.guard_id, "guard id"),
        messages.event_id(a.class_id, "class id"),
        OUTCOMES.get(a.outcome, "pending"),
        a.version,
    )


EVENT_HANDLERS: dict[str, Handler] = {
    "d07.registry.v1.UnitCreated": on_unit,
    "d07.registry.v1.UnitUpdated": on_unit,
    "d07.registry.v1.SecurityForceEstablished": ignore,
    "d07.registry.v1.SecurityForceUpdated": ignore,
    "d07.registry.v1.GuardRegistered": on_guard,
    "d07.registry.v1.GuardUpdated": on_guard,
    "d07.registry.v1.GuardLeft": on_guard,
    "d07.registry.v1.ClassScheduled": ignore,
    "d07.registry.v1.ClassUpdated": ignore,
    "d07.registry.v1.ClassCancelled": ignore,
    "d07.registry.v1.AttendanceEnrolled": on_attendance,
    "d07.registry.v1.AttendanceCompletionRecorded": on_attendance,
    "d07.assessment.v1.AssessmentRoundOpened": ignore,
    "d07.assessment.v1.AssessmentSubmitted": ignore,
    "d07.assessment.v1.AssessmentFinalised": on_assessment,
    "d07.assessment.v1.AssessmentRevised": on_assessment,
    "d07.cameras.v1.ViolationOpened": on_violation,
    "d07.cameras.v1.ViolationUpdated": on_violation,
    "d07.cameras.v1.ViolationOverdue": on_violation,
}
EVENT_MESSAGES = [
    registry_pb2.UnitCreated,
    registry_pb2.UnitUpdated,
    forces_pb2.SecurityForceEstablished,
    forces_pb2.SecurityForceUpdated,
    forces_pb2.GuardRegistered,
    forces_pb2.GuardUpdated,
    forces_pb2.GuardLeft,
    training_pb2.ClassScheduled,
    training_pb2.ClassUpdated,
    training_pb2.ClassCancelled,
    training_pb2.AttendanceEnrolled,
    training_pb2.AttendanceCompletionRecorded,
    assessment_pb2.AssessmentRoundOpened,
    assessment_pb2.AssessmentSubmitted,
    assessment_pb2.AssessmentFinalised,
    assessment_pb2.AssessmentRevised,
    violations_pb.ViolationOpened,
    violations_pb.ViolationUpdated,
    violations_pb.ViolationOverdue,
]
EVENT_TOPICS = [
    messages.UNITS_TOPIC,
    messages.FORCES_TOPIC,
    messages.TRAINING_TOPIC,
    messages.ASSESSMENTS_TOPIC,
    messages.VIOLATIONS_TOPIC,
]
