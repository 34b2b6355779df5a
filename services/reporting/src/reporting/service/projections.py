"""Projections: each event handler updates a read model in the consumer's transaction.

Handlers are idempotent twice over: the inbox skips a redelivered event, and an older version of an entity
never overwrites a newer one (events of one entity arrive in order, but a replay may repeat them).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime

import asyncpg
from google.protobuf.timestamp_pb2 import Timestamp

from d07.assessment.v1 import assessment_pb2
from d07.awards.v1 import awards_pb2
from d07.cameras.v1 import cameras_pb2, violation_events_pb2
from d07.common.v1 import common_pb2
from d07.platform.events.consumer import InvalidEvent
from d07.platform.events.envelope import ConsumedEvent
from d07.registry.v1 import models_pb2, registry_pb2, training_pb2

UNITS_TOPIC = "d07.registry.units.v1"
CAMERAS_TOPIC = "d07.cameras.cameras.v1"
VIOLATIONS_TOPIC = "d07.cameras.violations.v1"
ASSESSMENTS_TOPIC = "d07.assessment.assessments.v1"
AWARDS_TOPIC = "d07.awards.awards.v1"
MODELS_TOPIC = "d07.registry.models.v1"
TRAINING_TOPIC = "d07.registry.training.v1"
PLANS_TOPIC = "d07.cameras.plans.v1"

UNIT_KINDS = {1: "agency", 2: "enterprise", 3: "school"}
UNIT_STATUSES = {1: "active", 2: "merged", 3: "dissolved"}
CAMERA_STATUSES = {1: "planned", 2: "installed", 3: "decommissioned"}


async def _stream_applied(conn: asyncpg.Connection, event: ConsumedEvent) -> None:
    await conn.execute(
        """INSERT INTO stream_status (topic, events_applied, last_event_at) VALUES ($1, 1, $2)
           ON CONFLICT (topic) DO UPDATE SET events_applied = stream_status.events_applied + 1,
               last_event_at = GREATEST(stream_status.last_event_at, EXCLUDED.last_event_at)""",
        event.topic,
        event.time,
    )


async def on_unit(conn: asyncpg.Connection, event: ConsumedEvent) -> None:
    msg = event.message
    assert isinstance(msg, registry_pb2.UnitCreated | registry_pb2.UnitUpdated)
    u = msg.unit
    await conn.execute(
        """INSERT INTO units (unit_id, code, name, kind, district_code, status, version, event_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (unit_id) DO UPDATE SET code = EXCLUDED.code, name = EXCLUDED.name,
               kind = EXCLUDED.kind, district_code = EXCLUDED.district_code, status = EXCLUDED.status,
               version = EXCLUDED.version,
               event_id = EXCLUDED.event_id, updated_at = now()
           WHERE units.version < EXCLUDED.version""",
        u.id,
        u.code,
        u.name,
        UNIT_KINDS.get(u.kind, "unspecified"),
        u.district_code,
        UNIT_STATUSES.get(u.status, "active"),
        u.version,
        event.id,
    )
    await _stream_applied(conn, event)


async def on_camera(conn: asyncpg.Connection, event: ConsumedEvent) -> None:
    """The latest state of a camera (registration, then any change of details or status): its district and
    dates are what the review report counts; an older version never overwrites a newer one."""
    msg = event.message
    assert isinstance(msg, cameras_pb2.CameraRegistered | cameras_pb2.CameraUpdated)
    c = msg.camera
    await conn.execute(
        """INSERT INTO cameras (camera_id, code, unit_id, status, version, event_id, name, district_code,
                                planned_on, installed_on, decommissioned_on)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (camera_id) DO UPDATE SET code = EXCLUDED.code, unit_id = EXCLUDED.unit_id,
               status = EXCLUDED.status, version = EXCLUDED.version, event_id = EXCLUDED.event_id,
               name = EXCLUDED.name, district_code = EXCLUDED.district_code, planned_on = EXCLUDED.planned_on,
               installed_on = EXCLUDED.installed_on, decommissioned_on = EXCLUDED.decommissioned_on,
               updated_at = now()
           WHERE cameras.version < EXCLUDED.version""",
        c.id, c.code, c.unit_id or None, CAMERA_STATUSES.get(c.status, "planned"), c.version, event.id,
        c.name, c.district_code, _day(c.planned_on), _day(c.installed_on), _day(c.decommissioned_on),
    )  # fmt: skip
    last_seen = _when(c.last_seen_at)
    if c.status == cameras_pb2.CAMERA_STATUS_DECOMMISSIONED and last_seen is not None:
        # The cameras service ends a decommissioned camera's online interval at its last sign of life, without
        # a CameraWentOffline: the same here.
        await _close_online(conn, c.id, last_seen, event.id)
    await _stream_applied(conn, event)


# Camera online intervals. A camera's events alternate (online at a, offline at its last sign of life b >= a,
# online again later ...) and arrive in that order, but a rebuild beside the live consumer may apply a later
# part of them before an earlier one (the live consumer after the tables were emptied, the replay from the
# start). So the handlers do not depend on the order: an offline event whose online event is not there yet
# leaves a close marker (a zero-length row without `opened_by`) that the online event, when it comes, turns
# into its interval. A per-camera transaction lock keeps the live consumer and a rebuild from interleaving on
# one camera.


def _camera_lock(camera_id: str) -> int:
    digest = hashlib.blake2b(f"d07-reporting-camera-online:{camera_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def on_camera_online(conn: asyncpg.Connection, event: ConsumedEvent) -> None:
    """A camera came online at `at`: an online interval opens there, unless the camera is online at that
    moment already (an interval open since before, or one that covers it: a replayed event). When the next row
    after `at` is a close marker, the interval ends there. Keyed by the event times, not the arrival order."""
    msg = event.message
    assert isinstance(msg, cameras_pb2.CameraCameOnline)
    at = _when(msg.at)
    if at is None:
        raise InvalidEvent("CameraCameOnline without at")
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _camera_lock(msg.camera_id))
    online = await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM camera_online
                           WHERE camera_id = $1 AND opened_by IS NOT NULL AND online_from <= $2
                             AND (online_until IS NULL OR online_until >= $2))""",
        msg.camera_id, at,
    )  # fmt: skip
    if not online:
        closed = await conn.fetchval(
            """UPDATE camera_online SET online_from = $2, opened_by = $3
                WHERE camera_id = $1 AND opened_by IS NULL
                  AND online_from = (SELECT min(online_from) FROM camera_online
                                      WHERE camera_id = $1 AND online_from >= $2)
               RETURNING online_until""",
            msg.camera_id, at, event.id,
        )  # fmt: skip
        if closed is None:
            await conn.execute(
                """INSERT INTO camera_online (camera_id, online_from, opened_by) VALUES ($1, $2, $3)
                   ON CONFLICT (camera_id, online_from) DO NOTHING""",
                msg.camera_id, at, event.id,
            )  # fmt: skip
    await _stream_applied(conn, event)


async def on_camera_offline(conn: asyncpg.Connection, event: ConsumedEvent) -> None:
    """A camera went offline: its online interval ends at the last sign of life. A camera never seen has no
    interval to close."""
    msg = event.message
    assert isinstance(msg, cameras_pb2.CameraWentOffline)
    last_seen = _when(msg.last_seen_at)
    if last_seen is not None:
        await _close_online(conn, msg.camera_id, last_seen, event.id)
    await _stream_applied(conn, event)


async def _close_online(conn: asyncpg.Connection, camera_id: str, at: datetime, event_id: uuid.UUID) -> None:
    """End the camera's online interval at `at`: the latest row that began at or before `at`.
    - An open interval: it ends at `at`.
    - One that ends at `at`: this close was applied before; nothing to do.
    - One that ends later: it took a close marker of a later online event whose own online event was not there
      yet (only a rebuild's split order does that); it ends at `at`, and the later close is a marker again.
    - None, or one that ended before `at`: the online event of this close is not there yet; a close marker."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _camera_lock(camera_id))
    latest = await conn.fetchrow(
        """SELECT online_from, online_until, closed_by FROM camera_online
            WHERE camera_id = $1 AND online_from <= $2 ORDER BY online_from DESC LIMIT 1""",
        camera_id, at,
    )  # fmt: skip
    if latest is None or (latest["online_until"] is not None and latest["online_until"] < at):
        marker: tuple[datetime, uuid.UUID] | None = (at, event_id)
    elif latest["online_until"] is None or latest["online_until"] > at:
        await conn.execute(
            """UPDATE camera_online SET online_until = $3, closed_by = $4
                WHERE camera_id = $1 AND online_from = $2""",
            camera_id, latest["online_from"], at, event_id,
        )  # fmt: skip
        marker = None if latest["online_until"] is None else (latest["online_until"], latest["closed_by"])
    else:
        marker = None
    if marker is not None:
        await conn.execute(
            """INSERT INTO camera_online (camera_id, online_from, online_until, closed_by)
               VALUES ($1, $2, $2, $3) ON CONFLICT (camera_id, online_from) DO NOTHING""",
            camera_id, *marker,
        )  # fmt: skip


async def on_plan(conn: asyncpg.Connection, event: ConsumedEvent) -> None:
    """An installation plan created or changed: its target (3.200 for the province) and the districts'."""
    msg = event.message
    assert isinstance(msg, cameras_pb2.InstallationPlanSet)
    p = msg.plan
    targets = {t.district_code: t.target for t in p.district_targets}  # jsonb: the pool's codec encodes it
    await conn.execute(
        """INSERT INTO installation_plans (plan_id, name, target, starts_on, deadline, district_targets,
                                           created_at, version, event_id)
           VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9)
           ON CONFLICT (plan_id) DO UPDATE SET name = EXCLUDED.name, target = EXCLUDED.target,
               starts_on = EXCLUDED.starts_on, deadline = EXCLUDED.deadline,
               district_targets = EXCLUDED.district_targets, version = EXCLUDED.version,
               event_id = EXCLUDED.event_id, updated_at = now()
           WHERE installation_plans.version < EXCLUDED.version""",
        p.id, p.name, p.target, _day(p.starts_on), _day(p.deadline), targets,
        _when(p.created_at), p.version, event.id,
    )  # fmt: skip
    await _stream_applied(conn, event)


VIOLATION_STATUSES = {1: "new", 2: "acknowledged", 3: "in_progress", 4: "resolved", 5: "dismissed"}
VIOLATION_PRIORITIES = {1: "critical", 2: "high", 3: "medium", 4: "low"}


def _when(ts: Timestamp) -> datetime | None:
    return ts.ToDatetime(tzinfo=UTC) if ts.seconds or ts.nanos else None


def _day(d: common_pb2.Date) -> date | None:
    return date(d.year, d.month, d.day) if d.year else None


async def on_violation(conn: asyncpg.Connection, event: ConsumedEvent) -> None:
    """The latest state of a violation. A violation's events arrive in order (one key, one partition), and a
    replay repeats them in the same order: an older event never overwrites a newer one (event time guard)."""
    msg = event.message
    assert isinstance(msg, violation_events_pb2.ViolationOpened | violation_events_pb2.ViolationUpdated
                      | violation_events_pb2.ViolationOverdue)  # fmt: skip
    v = msg.violation
    await conn.execute(
        """INSERT INTO violations (violation_id, camera_id, unit_id, kind, priority, status, opened_at,
                                   closed_at, overdue, detection_count, event_id, event_time)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT (violation_id) DO UPDATE SET unit_id = EXCLUDED.unit_id, status = EXCLUDED.status,
               priority = EXCLUDED.priority, closed_at = EXCLUDED.closed_at, overdue = EXCLUDED.overdue,
               detection_count = EXCLUDED.detection_count, event_id = EXCLUDED.event_id,
               event_time = EXCLUDED.event_time
           WHERE violations.event_time <= EXCLUDED.event_time""",
        v.id, v.camera_id, v.unit_id or None, v.kind, VIOLATION_PRIORITIES.get(v.priority, "low"),
        VIOLATION_STATUSES.get(v.status, "new"), _when(v.opened_at), _when(v.closed_at),
        _when(v.overdue_at) is not None, v.detection_count, event.id, event.time,
    )  # fmt: skip
    await _stream_applied(conn, event)


ASSESSMENT_RESULTS = {1: "passed", 2: "failed"}


async def on_assessment_result(conn: asyncpg.Connection, event: ConsumedEvent) -> None:
    """The result of an assessment (a unit in a round): the latest revision replaces the earlier one, so a
    corrected result is counted once; an older revision arriving late (a replay) changes nothing."""
    msg = event.message
    assert isinstance(msg, assessment_pb2.AssessmentFinalised | assessment_pb2.AssessmentRevised)
    a = msg.assessment
    await conn.execute(
        """INSERT INTO assessments (assessment_id, round_id, unit_id, year, unit_kind, district_code,
                                    criteria_set, result, score, unmet_criteria, revision, finalised_at,
                                    event_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
           ON CONFLICT (assessment_id) DO UPDATE SET result = EXCLUDED.result, score = EXCLUDED.score,
               unmet_criteria = EXCLUDED.unmet_criteria, revision = EXCLUDED.revision,
               finalised_at = EXCLUDED.finalised_at, event_id = EXCLUDED.event_id, updated_at = now()
           WHERE assessments.revision < EXCLUDED.revision""",
        a.id, a.round_id, a.unit_id, a.year, a.unit_kind, a.district_code,
        f"{a.criteria_set_code}/{a.criteria_set_version}", ASSESSMENT_RESULTS.get(a.result, "failed"),
        round(a.score, 2), list(a.unmet_criteria), a.revision, _when(a.finalised_at), event.id,
    )  # fmt: skip
    await _stream_applied(conn, event)


async def on_assessment_step(conn: asyncpg.Connection, event: ConsumedEvent) -> None:
    """Opened and submitted assessments have no result yet: reporting counts the event and keeps nothing
    (handled, not dead-lettered as an unknown type)."""
    await _stream_applied(conn, event)


async def on_award(conn: asyncpg.Connection, event: ConsumedEvent) -> None:
    """A decided award counts; its revocation (same key, so never before it) marks it and it stops counting.
    A replayed decision after the revocation leaves the revocation in place."""
    msg = event.message
    assert isinstance(msg, awards_pb2.AwardDecided | awards_pb2.AwardRevoked)
    a = msg.award
    revoked = isinstance(msg, awards_pb2.AwardRevoked)
    d = a.decided_on
    conflict = (
        "UPDATE SET status = 'revoked', event_id = EXCLUDED.event_id, updated_at = now()"
        if revoked
        else "NOTHING"
    )
    await conn.execute(
        """INSERT INTO awards (award_id, round_id, form_code, recipient_kind, unit_id, decision_number,
                               decided_on, status, event_id)
           VALUES ($1, $2, $3, $4, $5, $6, make_date($7, $8, $9), $10, $11)
           ON CONFLICT (award_id) DO """
        + conflict,
        a.id, a.round_id, a.form_code, a.recipient_kind, a.unit_id, a.decision_number, d.year, d.month, d.day,
        "revoked" if revoked else "decided", event.id,
    )  # fmt: skip
    await _stream_applied(conn, event)


async def on_awards_step(conn: asyncpg.Connection, event: ConsumedEvent) -> None:
    """A submitted nomination is no award yet: counted as applied, nothing kept."""
    await _stream_applied(conn, event)


MODEL_HOSTS = {"unit": "unit", "community": "community"}
MODEL_FORMATIONS = {1: "built", 2: "consolidated"}
MODEL_STATUSES = {1: "built", 2: "consolidated", 3: "effective", 4: "inactive"}


async def on_model(conn: asyncpg.Connection, event: ConsumedEvent) -> None:
    """The latest state of a movement model (version guard), and, for a later consolidation in its
    history, a row dated by it: the registry's counting rule needs both (formed in the period, or
    consolidated in it)."""
    msg = event.message
    assert isinstance(msg, models_pb2.ModelCreated | models_pb2.ModelUpdated | models_pb2.ModelStatusChanged)
    m = msg.model
    host = m.WhichOneof("host") or "community"
    await conn.execute(
        """INSERT INTO models (model_id, name, kind, host_type, unit_id, commune_code, district_code,
                               formation, formed_on, status, version, event_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT (model_id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,
               host_type = EXCLUDED.host_type, unit_id = EXCLUDED.unit_id,
               commune_code = EXCLUDED.commune_code,
               district_code = EXCLUDED.district_code, formation = EXCLUDED.formation,
               formed_on = EXCLUDED.formed_on, status = EXCLUDED.status, version = EXCLUDED.version,
               event_id = EXCLUDED.event_id, updated_at = now()
           WHERE models.version < EXCLUDED.version""",
        m.id, m.name, m.kind, MODEL_HOSTS[host], (m.unit.unit_id or None) if host == "unit" else None,
        (m.community.commune_code or None) if host == "community" else None, m.district_code,
        MODEL_FORMATIONS.get(m.formation, "built"), _day(m.formed_on), MODEL_STATUSES.get(m.status, "built"),
        m.version, event.id,
    )  # fmt: skip
    if isinstance(msg, models_pb2.ModelStatusChanged):
        ch = msg.change
        consolidated = ch.to_status == models_pb2.MODEL_STATUS_CONSOLIDATED
        if consolidated and ch.from_status != models_pb2.MODEL_STATUS_UNSPECIFIED and ch.changed_on.year:
            await conn.execute(
                """INSERT INTO model_consolidations (model_id, recorded_at, changed_on, event_id)
                   VALUES ($1, $2, $3, $4) ON CONFLICT (model_id, recorded_at) DO NOTHING""",
                m.id, _when(ch.recorded_at) or event.time, _day(ch.changed_on), event.id,
            )  # fmt: skip
    await _stream_applied(conn, event)


CLASS_STATUSES = {1: "scheduled", 2: "held", 3: "cancelled"}
ATTENDANCE_OUTCOMES = {1: "pending", 2: "completed", 3: "not_completed"}


async def on_class(conn: asyncpg.Connection, event: ConsumedEvent) -> None:
    """The latest state of a training class (version guard)."""
    msg = event.message
    assert isinstance(
        msg, training_pb2.ClassScheduled | training_pb2.ClassUpdated | training_pb2.ClassCancelled
    )
    c = msg.training_class
    await conn.execute(
        """INSERT INTO training_classes (class_id, title, district_code, starts_on, ends_on, status, version,
                                         event_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (class_id) DO UPDATE SET title = EXCLUDED.title,
               district_code = EXCLUDED.district_code,
               starts_on = EXCLUDED.starts_on, ends_on = EXCLUDED.ends_on, status = EXCLUDED.status,
               version = EXCLUDED.version, event_id = EXCLUDED.event_id, updated_at = now()
           WHERE training_classes.version < EXCLUDED.version""",
        c.id, c.title, c.district_code, _day(c.starts_on), _day(c.ends_on),
        CLASS_STATUSES.get(c.status, "scheduled"), c.version, event.id,
    )  # fmt: skip
    await _stream_applied(conn, event)


async def on_attendance(conn: asyncpg.Connection, event: ConsumedEvent) -> None:
    """One guard in one class, its latest outcome (version guard)."""
    msg = event.message
    assert isinstance(msg, training_pb2.AttendanceEnrolled | training_pb2.AttendanceCompletionRecorded)
    a = msg.attendance
    await conn.execute(
        """INSERT INTO attendances (attendance_id, class_id, guard_id, unit_id, guard_full_name, outcome,
                                    version, event_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (attendance_id) DO UPDATE SET unit_id = EXCLUDED.unit_id,
               guard_full_name = EXCLUDED.guard_full_name, outcome = EXCLUDED.outcome,
               version = EXCLUDED.version, event_id = EXCLUDED.event_id, updated_at = now()
           WHERE attendances.version < EXCLUDED.version""",
        a.id, a.class_id, a.guard_id, a.unit_id or None, a.guard_full_name,
        ATTENDANCE_OUTCOMES.get(a.outcome, "pending"), a.version, event.id,
    )  # fmt: skip
    await _stream_applied(conn, event)


HANDLERS = {
    "d07.registry.v1.UnitCreated": on_unit,
    "d07.registry.v1.UnitUpdated": on_unit,
    "d07.cameras.v1.CameraRegistered": on_camera,
    "d07.cameras.v1.CameraUpdated": on_camera,
    "d07.cameras.v1.CameraWentOffline": on_camera_offline,
    "d07.cameras.v1.CameraCameOnline": on_camera_online,
    "d07.cameras.v1.InstallationPlanSet": on_plan,
    "d07.registry.v1.ModelCreated": on_model,
    "d07.registry.v1.ModelUpdated": on_model,
    "d07.registry.v1.ModelStatusChanged": on_model,
    "d07.registry.v1.ClassScheduled": on_class,
    "d07.registry.v1.ClassUpdated": on_class,
    "d07.registry.v1.ClassCancelled": on_class,
    "d07.registry.v1.AttendanceEnrolled": on_attendance,
    "d07.registry.v1.AttendanceCompletionRecorded": on_attendance,
    "d07.cameras.v1.ViolationOpened": on_violation,
    "d07.cameras.v1.ViolationUpdated": on_violation,
    "d07.cameras.v1.ViolationOverdue": on_violation,
    "d07.assessment.v1.AssessmentRoundOpened": on_assessment_step,
    "d07.assessment.v1.AssessmentSubmitted": on_assessment_step,
    "d07.assessment.v1.AssessmentFinalised": on_assessment_result,
    "d07.assessment.v1.AssessmentRevised": on_assessment_result,
    "d07.awards.v1.NominationSubmitted": on_awards_step,
    "d07.awards.v1.AwardDecided": on_award,
    "d07.awards.v1.AwardRevoked": on_award,
}
MESSAGES = [
    registry_pb2.UnitCreated,
    registry_pb2.UnitUpdated,
    cameras_pb2.CameraRegistered,
    cameras_pb2.CameraUpdated,
    cameras_pb2.CameraWentOffline,
    cameras_pb2.CameraCameOnline,
    cameras_pb2.InstallationPlanSet,
    models_pb2.ModelCreated,
    models_pb2.ModelUpdated,
    models_pb2.ModelStatusChanged,
    training_pb2.ClassScheduled,
    training_pb2.ClassUpdated,
    training_pb2.ClassCancelled,
    training_pb2.AttendanceEnrolled,
    training_pb2.AttendanceCompletionRecorded,
    violation_events_pb2.ViolationOpened,
    violation_events_pb2.ViolationUpdated,
    violation_events_pb2.ViolationOverdue,
    assessment_pb2.AssessmentRoundOpened,
    assessment_pb2.AssessmentSubmitted,
    assessment_pb2.AssessmentFinalised,
    assessment_pb2.AssessmentRevised,
    awards_pb2.NominationSubmitted,
    awards_pb2.AwardDecided,
    awards_pb2.AwardRevoked,
]
TOPICS = [
    UNITS_TOPIC,
    CAMERAS_TOPIC,
    VIOLATIONS_TOPIC,
    ASSESSMENTS_TOPIC,
    AWARDS_TOPIC,
    MODELS_TOPIC,
    TRAINING_TOPIC,
    PLANS_TOPIC,
]
# Every table the projections fill, and nothing else: `python -m reporting rebuild` empties exactly these (and
# the inbox rows of the consumer) and replays the topics into them.
READ_MODELS = (
    "units",
    "cameras",
    "camera_online",
    "installation_plans",
    "violations",
    "assessments",
    "awards",
    "models",
    "model_consolidations",
    "training_classes",
    "attendances",
    "stream_status",
)
