"""The producers' protobuf messages as the read models' rows: one function per table, its values in the order
of the table's inputs (`repository`), the enum numbers by the names of `domain`.

`when` and `day` are the event path's own conversions, on purpose not `d07.platform.convert`'s: `when` is
`from_timestamp` without ToDatetime's overhead (a batch of 500 converts about 1.000 times; the projections'
throughput is benchmarked, services/reporting/README.md), and `day` keeps an event's lenient rule (a date
without a year is none; an impossible one fails the event, whatever its field) where `date_from_pb` is a
door's (InvalidArgument naming a request field).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp

from d07.assessment.v1 import assessment_pb2
from d07.awards.v1 import awards_pb2
from d07.cameras.v1 import cameras_pb2, violation_events_pb2
from d07.common.v1 import common_pb2
from d07.platform.db.upserts import json_text
from d07.registry.v1 import models_pb2, registry_pb2, training_pb2
from reporting.projections.domain import (
    ASSESSMENT_RESULTS,
    ATTENDANCE_OUTCOMES,
    CAMERA_STATUSES,
    CLASS_STATUSES,
    MODEL_FORMATIONS,
    MODEL_HOSTS,
    MODEL_STATUSES,
    UNIT_KINDS,
    UNIT_STATUSES,
    VIOLATION_PRIORITIES,
    VIOLATION_STATUSES,
    Row,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECONDS = range(-62_135_596_800, 253_402_300_800)  # 0001-01-01 .. 9999-12-31, as protobuf allows


def when(ts: Timestamp) -> datetime | None:
    """`ts.ToDatetime(tzinfo=UTC)` (nanoseconds cut to microseconds), without its overhead; None for an unset
    time. Out of range, ToDatetime itself (it raises)."""
    seconds, nanos = ts.seconds, ts.nanos
    if not (seconds or nanos):
        return None
    if seconds not in _SECONDS or not 0 <= nanos < 1_000_000_000:
        return ts.ToDatetime(tzinfo=UTC)
    return _EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1000)


def day(d: common_pb2.Date) -> date | None:
    return date(d.year, d.month, d.day) if d.year else None


def unit_row(u: registry_pb2.Unit, event_id: uuid.UUID) -> Row:
    return (
        u.id, u.code, u.name, UNIT_KINDS.get(u.kind, "unspecified"), u.district_code,
        UNIT_STATUSES.get(u.status, "active"), u.version, event_id,
    )  # fmt: skip


def camera_row(c: cameras_pb2.Camera, event_id: uuid.UUID) -> Row:
    return (
        c.id, c.code, c.unit_id or None, CAMERA_STATUSES.get(c.status, "planned"), c.version, event_id,
        c.name, c.district_code, day(c.planned_on), day(c.installed_on), day(c.decommissioned_on),
    )  # fmt: skip


def decommissioned_last_seen(c: cameras_pb2.Camera) -> datetime | None:
    """A decommissioned camera's last sign of life, where its online interval ends (the cameras service ends
    it there without a CameraWentOffline); None for any other camera, or one never seen."""
    if c.status != cameras_pb2.CAMERA_STATUS_DECOMMISSIONED:
        return None
    return when(c.last_seen_at)


def plan_row(p: cameras_pb2.InstallationPlan, event_id: uuid.UUID) -> Row:
    targets = {t.district_code: t.target for t in p.district_targets}
    return (
        p.id, p.name, p.target, day(p.starts_on), day(p.deadline), json_text(targets), when(p.created_at),
        p.version, event_id,
    )  # fmt: skip


def violation_row(v: violation_events_pb2.Violation, event_id: uuid.UUID, event_time: datetime) -> Row:
    return (
        v.id, v.camera_id, v.unit_id or None, v.kind, VIOLATION_PRIORITIES.get(v.priority, "low"),
        VIOLATION_STATUSES.get(v.status, "new"), when(v.opened_at), when(v.closed_at),
        when(v.overdue_at) is not None, v.detection_count, event_id, event_time,
    )  # fmt: skip


def assessment_row(a: assessment_pb2.Assessment, event_id: uuid.UUID) -> Row:
    return (
        a.id, a.round_id, a.unit_id, a.year, a.unit_kind, a.district_code,
        f"{a.criteria_set_code}/{a.criteria_set_version}", ASSESSMENT_RESULTS.get(a.result, "failed"),
        round(a.score, 2), json_text(list(a.unmet_criteria)) if a.unmet_criteria else "[]", a.revision,
        when(a.finalised_at), event_id,
    )  # fmt: skip


def award_row(a: awards_pb2.Award, event_id: uuid.UUID, *, revoked: bool) -> Row:
    d = a.decided_on
    return (
        a.id, a.round_id, a.form_code, a.recipient_kind, a.unit_id, a.decision_number, d.year, d.month, d.day,
        "revoked" if revoked else "decided", event_id,
    )  # fmt: skip


def model_row(m: models_pb2.Model, event_id: uuid.UUID) -> Row:
    host = m.WhichOneof("host") or "community"
    return (
        m.id, m.name, m.kind, MODEL_HOSTS[host], (m.unit.unit_id or None) if host == "unit" else None,
        (m.community.commune_code or None) if host == "community" else None, m.district_code,
        MODEL_FORMATIONS.get(m.formation, "built"), day(m.formed_on), MODEL_STATUSES.get(m.status, "built"),
        m.version, event_id,
    )  # fmt: skip


def consolidation_row(
    msg: models_pb2.ModelStatusChanged, event_id: uuid.UUID, event_time: datetime
) -> Row | None:
    """A later consolidation in a model's history, dated by its day (the registry's counting rule: formed in
    the period, or consolidated in it); None for any other change."""
    ch = msg.change
    consolidated = ch.to_status == models_pb2.MODEL_STATUS_CONSOLIDATED
    if consolidated and ch.from_status != models_pb2.MODEL_STATUS_UNSPECIFIED and ch.changed_on.year:
        return (msg.model.id, when(ch.recorded_at) or event_time, day(ch.changed_on), event_id)
    return None


def class_row(c: training_pb2.TrainingClass, event_id: uuid.UUID) -> Row:
    return (
        c.id, c.title, c.district_code, day(c.starts_on), day(c.ends_on),
        CLASS_STATUSES.get(c.status, "scheduled"), c.version, event_id,
    )  # fmt: skip


def attendance_row(a: training_pb2.Attendance, event_id: uuid.UUID) -> Row:
    return (
        a.id, a.class_id, a.guard_id, a.unit_id or None, a.guard_full_name,
        ATTENDANCE_OUTCOMES.get(a.outcome, "pending"), a.version, event_id,
    )  # fmt: skip
