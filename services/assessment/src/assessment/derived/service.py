"""Derived criteria: evaluation (`derive`), the handlers that keep their read models from events, and the
review flag a late violation raises on a finalised assessment.

Each handler runs inside the consumer's transaction, beside the inbox row of its event: a redelivered event
is skipped by the inbox, and a replayed older event is refused by the version guards of the repository.
"""

from __future__ import annotations

import uuid

from assessment.derived import domain, messages
from assessment.derived import repository as repo
from assessment.derived.domain import DerivedResult
from assessment.derived.messages import ViolationRow
from assessment.rounds import repository as rounds_repo
from d07.cameras.v1 import violation_events_pb2 as violations_pb
from d07.platform.db import Conn
from d07.platform.events.consumer import Handler
from d07.platform.events.envelope import ConsumedEvent
from d07.platform.logging import get_logger
from d07.registry.v1 import models_pb2, training_pb2

log = get_logger(__name__)

LATE_VIOLATION_REASON = "Vi phạm nghiêm trọng được Công an xác nhận sau khi đánh giá đã hoàn tất: {label}"


async def derive(conn: Conn, *, unit_id: uuid.UUID, year: int) -> list[DerivedResult]:
    """The derived criteria of the unit for the year, each with its reason and sources, in the order of the
    criteria set (the set of the unit's assessment of that year, else the set in force for its kind). Empty
    when the unit is not known here yet or its set derives nothing."""
    criteria = await repo.derived_criteria(conn, unit_id=unit_id, year=year)
    if not criteria:
        return []
    facts = await repo.facts(conn, unit_id=unit_id, year=year)
    return domain.derive_all(criteria, facts, year)


# --- movement models ----------------------------------------------------------------------------------------


async def on_model_registered_or_changed_status(conn: Conn, event: ConsumedEvent) -> None:
    msg = event.message
    assert isinstance(msg, models_pb2.ModelCreated | models_pb2.ModelStatusChanged)
    row = messages.model_row(msg.model)
    await repo.upsert_model(conn, row)
    await repo.enter_model_status(conn, row)


async def on_model_updated(conn: Conn, event: ConsumedEvent) -> None:
    msg = event.message
    assert isinstance(msg, models_pb2.ModelUpdated)
    row = messages.model_row(msg.model)
    await repo.upsert_model(conn, row)
    await repo.correct_model_status(conn, row)


# --- training -----------------------------------------------------------------------------------------------


async def on_class(conn: Conn, event: ConsumedEvent) -> None:
    msg = event.message
    assert isinstance(
        msg, training_pb2.ClassScheduled | training_pb2.ClassUpdated | training_pb2.ClassCancelled
    )
    await repo.upsert_class(conn, messages.class_row(msg.training_class))


async def on_attendance(conn: Conn, event: ConsumedEvent) -> None:
    msg = event.message
    assert isinstance(msg, training_pb2.AttendanceEnrolled | training_pb2.AttendanceCompletionRecorded)
    await repo.upsert_attendance(conn, messages.attendance_row(msg.attendance))


# --- violations ---------------------------------------------------------------------------------------------


async def on_violation(conn: Conn, event: ConsumedEvent) -> None:
    """Keep the violation; while it stands as a confirmed serious violation, a finalised assessment of its
    unit and year that did not have it in view is flagged for review (`flag_late_violation`)."""
    msg = event.message
    assert isinstance(
        msg, violations_pb.ViolationOpened | violations_pb.ViolationUpdated | violations_pb.ViolationOverdue
    )
    row = messages.violation_row(msg.violation)
    await repo.upsert_violation(conn, row)
    kept = await repo.get_violation(conn, row.violation_id)
    if kept is not None and domain.is_confirmed_serious(kept.priority, kept.status):
        await flag_late_violation(conn, kept)


async def flag_late_violation(conn: Conn, violation: ViolationRow) -> uuid.UUID | None:
    """Flag the finalised assessment of the violation's unit and year for review, leaving the assessment as it
    is. The flagged assessment's id, or None when nothing was flagged now:
    - no finalised assessment: an open one needs no flag, `derive` shows the violation to its verifier;
    - the finalised assessment kept the violation among its derived sources: its verifier saw it;
    - it is flagged for this violation already.
    Deciding by what the assessment kept, not by which event came first, makes a replay or a rebuild of the
    read model raise no flag that the live stream would not have raised."""
    if violation.unit_id is None:
        return None
    year = domain.year_of(violation.opened_at)
    vid = str(violation.violation_id)
    if not await repo.needs_review(
        conn, unit_id=violation.unit_id, year=year, kind="violation", source_id=vid
    ):
        return None
    record = domain.ViolationRecord(
        violation.violation_id, violation.camera_code, violation.kind, violation.priority, violation.status,
        violation.opened_at,
    )  # fmt: skip
    flagged = await rounds_repo.flag_for_review(
        conn,
        unit_id=violation.unit_id,
        year=year,
        reason=LATE_VIOLATION_REASON.format(label=domain.violation_label(record)),
        source_kind="violation",
        source_id=vid,
    )
    if flagged is not None:
        log.info(
            "assessment_flagged_for_review",
            assessment_id=str(flagged),
            unit_id=str(violation.unit_id),
            year=year,
            violation_id=vid,
        )
    return flagged


EVENT_HANDLERS: dict[str, Handler] = {
    "d07.registry.v1.ModelCreated": on_model_registered_or_changed_status,
    "d07.registry.v1.ModelStatusChanged": on_model_registered_or_changed_status,
    "d07.registry.v1.ModelUpdated": on_model_updated,
    "d07.registry.v1.ClassScheduled": on_class,
    "d07.registry.v1.ClassUpdated": on_class,
    "d07.registry.v1.ClassCancelled": on_class,
    "d07.registry.v1.AttendanceEnrolled": on_attendance,
    "d07.registry.v1.AttendanceCompletionRecorded": on_attendance,
    "d07.cameras.v1.ViolationOpened": on_violation,
    "d07.cameras.v1.ViolationUpdated": on_violation,
    "d07.cameras.v1.ViolationOverdue": on_violation,
}
EVENT_MESSAGES = [
    models_pb2.ModelCreated,
    models_pb2.ModelUpdated,
    models_pb2.ModelStatusChanged,
    training_pb2.ClassScheduled,
    training_pb2.ClassUpdated,
    training_pb2.ClassCancelled,
    training_pb2.AttendanceEnrolled,
    training_pb2.AttendanceCompletionRecorded,
    violations_pb.ViolationOpened,
    violations_pb.ViolationUpdated,
    violations_pb.ViolationOverdue,
]
EVENT_TOPICS = messages.TOPICS
