"""Projections: the read models, kept from the other services' events by one batch handler, `project`.

The consumer runner (`d07.platform.events.consumer`) calls `project(conn, events)` once per batch with the
batch's new events (the inbox has left out the ones applied before) in their order, inside the transaction
that records them in the inbox. Events of one entity share a key, so a partition and an order; a replay (the
runner's redelivery, `python -m reporting rebuild` beside the live consumer) may bring an entity's older
events again, or a later part of them before an earlier one. The read models are idempotent twice over: the
inbox skips a redelivered event, and every projection is guarded by a version (or an event time) so an older
state never overwrites a newer one.

How each event type is applied within a batch, and why that gives exactly the rows that applying the batch's
events one at a time gives (`tests/reporting/integration/test_batch_projections.py` checks it row for row):

- Set-based (`upserts.Upsert`: the batch reduced to one row per key, then `INSERT ... SELECT FROM
  unnest(...) ON CONFLICT ... WHERE <guard>`). Each is a pure guarded upsert: its statement reads nothing but
  the row of its own key, and no other projection reads its table, so the rows of a key can be folded in event
  order in Python, and the statements of different tables can run in any order, even as one: a batch sends
  them all as data-modifying CTEs of its stream_status upsert, one round trip (`ALONE`, `BATCH`).
  - units (UnitCreated, UnitUpdated), cameras (CameraRegistered, CameraUpdated), training_classes (Class*),
    models (ModelCreated, ModelUpdated, ModelStatusChanged): the highest version wins (`version <`; of equal
    versions the first), every column updated;
  - installation_plans (InstallationPlanSet): the same, `created_at` kept from the first row;
  - attendances (AttendanceEnrolled, AttendanceCompletionRecorded): the same, `class_id` and `guard_id` kept;
  - assessments (AssessmentFinalised, AssessmentRevised): the highest revision wins, the unit, round, year,
    kind, district and criteria set kept from the first row;
  - violations (ViolationOpened, ViolationUpdated, ViolationOverdue): the latest event time wins (`<=`: of
    equal times the last), camera, kind and opening time kept from the first row;
  - awards (AwardDecided, AwardRevoked): a decision inserts and never overwrites; a revocation marks the award
    revoked with its event id (the last revocation's), whatever comes after it;
  - model_consolidations (ModelStatusChanged to consolidated, with a day): insert once, the first row wins;
  - stream_status (every event, AssessmentRoundOpened, AssessmentSubmitted and NominationSubmitted only
    there): the events applied and the latest event time per topic of the batch (`events_applied + n`,
    `GREATEST(last_event_at, ...)`), as n increments would leave it.
- Sequential, one event after the other in batch order, as before (three statements each): the camera online
  intervals in camera_online, opened by CameraCameOnline, closed by CameraWentOffline and by a decommissioning
  CameraUpdated. They read before they write, take a per-camera advisory lock, and each depends on what the
  previous one of its camera left (close markers); they keep their relative order. camera_online is read and
  written by them alone, and they read no other table, so running the set-based statement of the batch first
  moves no write that a later read depends on.
- executemany (each event's own statements, grouped by statement in event order, asyncpg pipelining each
  group in one round trip) is what a table would get whose statement reads another table or is no pure guarded
  upsert; none is left. Measured in bench/reporting.py's setting (size 10, 73.940 events) it reached
  8.400-9.200 events/s where the set-based statement reached 14.000-16.000 in the same runs
  (services/reporting/README.md, "Benchmark").

A bad event (a value its table refuses, a missing time) makes the batch fail as a whole; the runner then
applies the batch again one event at a time, which for one event is its own statement exactly, and the refused
event goes to the dead-letter topic as before. A value the reduction would drop (a superseded version) is
checked first as strictly as the database would check it (`upserts`), so no event that the database would have
refused is swallowed by the reduction.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta

import asyncpg
from google.protobuf.timestamp_pb2 import Timestamp

from d07.assessment.v1 import assessment_pb2
from d07.awards.v1 import awards_pb2
from d07.cameras.v1 import cameras_pb2, violation_events_pb2
from d07.common.v1 import common_pb2
from d07.platform.events.consumer import InvalidEvent
from d07.platform.events.envelope import ConsumedEvent, type_name
from d07.registry.v1 import models_pb2, registry_pb2, training_pb2
from reporting.service.upserts import DroppedValueRefused, Input, Row, Rows, Upsert, json_text

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
VIOLATION_STATUSES = {1: "new", 2: "acknowledged", 3: "in_progress", 4: "resolved", 5: "dismissed"}
VIOLATION_PRIORITIES = {1: "critical", 2: "high", 3: "medium", 4: "low"}
ASSESSMENT_RESULTS = {1: "passed", 2: "failed"}
MODEL_HOSTS = {"unit": "unit", "community": "community"}
MODEL_FORMATIONS = {1: "built", 2: "consolidated"}
MODEL_STATUSES = {1: "built", 2: "consolidated", 3: "effective", 4: "inactive"}
CLASS_STATUSES = {1: "scheduled", 2: "held", 3: "cancelled"}
ATTENDANCE_OUTCOMES = {1: "pending", 2: "completed", 3: "not_completed"}


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECONDS = range(-62_135_596_800, 253_402_300_800)  # 0001-01-01 .. 9999-12-31, as protobuf allows


def _when(ts: Timestamp) -> datetime | None:
    """`ts.ToDatetime(tzinfo=UTC)` (nanoseconds cut to microseconds), without its overhead; None for an unset
    time. Out of range, ToDatetime itself (it raises)."""
    seconds, nanos = ts.seconds, ts.nanos
    if not (seconds or nanos):
        return None
    if seconds not in _SECONDS or not 0 <= nanos < 1_000_000_000:
        return ts.ToDatetime(tzinfo=UTC)
    return _EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1000)


def _day(d: common_pb2.Date) -> date | None:
    return date(d.year, d.month, d.day) if d.year else None


# --- the tables ---------------------------------------------------------------------------------------------


def _columns(inputs: tuple[Input, ...], **expressions: str) -> dict[str, str]:
    """Each input into its column as it is, but for the columns given an SQL expression over the row `r`."""
    return {i.name: expressions.get(i.name, f"r.{i.name}") for i in inputs} | expressions


def _latest(
    table: str,
    key: str,
    inputs: tuple[Input, ...],
    *,
    by: str = "version",
    keep: tuple[str, ...] = (),
    columns: dict[str, str] | None = None,
) -> Upsert:
    """A row per `key`, the highest `by` wins (of equal ones the first); the columns in `keep` stay as the row
    was inserted; `updated_at` is set on every change."""
    position = [i.name for i in inputs].index(by)

    def wins(kept: Row, later: Row) -> bool:
        return bool(kept[position] < later[position])

    return Upsert(
        table, (key,), inputs, updated=tuple(i.name for i in inputs if i.name != key and i.name not in keep),
        guard=f"{table}.{by} < EXCLUDED.{by}", wins=wins, touch=True, columns=columns or {},
    )  # fmt: skip


UNITS = _latest("units", "unit_id", (
    Input("unit_id", "uuid"), Input("code", "text"), Input("name", "text"), Input("kind", "text"),
    Input("district_code", "text"), Input("status", "text"), Input("version", "bigint"),
    Input("event_id", "uuid"),
))  # fmt: skip
CAMERAS = _latest("cameras", "camera_id", (
    Input("camera_id", "uuid"), Input("code", "text"), Input("unit_id", "uuid", nullable=True),
    Input("status", "text"), Input("version", "bigint"), Input("event_id", "uuid"), Input("name", "text"),
    Input("district_code", "text"), Input("planned_on", "date", nullable=True),
    Input("installed_on", "date", nullable=True), Input("decommissioned_on", "date", nullable=True),
))  # fmt: skip
_PLAN_INPUTS = (
    Input("plan_id", "uuid"), Input("name", "text"), Input("target", "int"),
    Input("starts_on", "date", nullable=True), Input("deadline", "date", nullable=True),
    Input("district_targets", "json"), Input("created_at", "timestamptz", nullable=True),
    Input("version", "bigint"), Input("event_id", "uuid"),
)  # fmt: skip
PLANS = _latest(
    "installation_plans", "plan_id", _PLAN_INPUTS, keep=("created_at",),
    columns=_columns(_PLAN_INPUTS, district_targets="r.district_targets::jsonb"),
)  # fmt: skip
_ASSESSMENT_INPUTS = (
    Input("assessment_id", "uuid"), Input("round_id", "uuid"), Input("unit_id", "uuid"), Input("year", "int"),
    Input("unit_kind", "text"), Input("district_code", "text"), Input("criteria_set", "text"),
    Input("result", "text"), Input("score", "score"), Input("unmet_criteria", "json"),
    Input("revision", "int"), Input("finalised_at", "timestamptz", nullable=True), Input("event_id", "uuid"),
)  # fmt: skip
ASSESSMENTS = _latest(
    "assessments", "assessment_id", _ASSESSMENT_INPUTS, by="revision",
    keep=("round_id", "unit_id", "year", "unit_kind", "district_code", "criteria_set"),
    columns=_columns(_ASSESSMENT_INPUTS, unmet_criteria="""ARRAY(SELECT c
        FROM jsonb_array_elements_text(r.unmet_criteria::jsonb) WITH ORDINALITY AS u(c, n) ORDER BY n)"""),
)  # fmt: skip
MODELS = _latest("models", "model_id", (
    Input("model_id", "uuid"), Input("name", "text"), Input("kind", "text"), Input("host_type", "text"),
    Input("unit_id", "uuid", nullable=True), Input("commune_code", "text", nullable=True),
    Input("district_code", "text"), Input("formation", "text"), Input("formed_on", "date"),
    Input("status", "text"), Input("version", "bigint"), Input("event_id", "uuid"),
))  # fmt: skip
# DO NOTHING: the first row of a key wins.
CONSOLIDATIONS = Upsert("model_consolidations", ("model_id", "recorded_at"), (
    Input("model_id", "uuid"), Input("recorded_at", "timestamptz"), Input("changed_on", "date"),
    Input("event_id", "uuid"),
))  # fmt: skip
CLASSES = _latest("training_classes", "class_id", (
    Input("class_id", "uuid"), Input("title", "text"), Input("district_code", "text"),
    Input("starts_on", "date"), Input("ends_on", "date"), Input("status", "text"), Input("version", "bigint"),
    Input("event_id", "uuid"),
))  # fmt: skip
ATTENDANCES = _latest("attendances", "attendance_id", (
    Input("attendance_id", "uuid"), Input("class_id", "uuid"), Input("guard_id", "uuid"),
    Input("unit_id", "uuid", nullable=True), Input("guard_full_name", "text"), Input("outcome", "text"),
    Input("version", "bigint"), Input("event_id", "uuid"),
), keep=("class_id", "guard_id"))  # fmt: skip

_VIOLATION_INPUTS = (
    Input("violation_id", "uuid"), Input("camera_id", "uuid"), Input("unit_id", "uuid", nullable=True),
    Input("kind", "text"), Input("priority", "text"), Input("status", "text"),
    Input("opened_at", "timestamptz"), Input("closed_at", "timestamptz", nullable=True),
    Input("overdue", "boolean"), Input("detection_count", "int"), Input("event_id", "uuid"),
    Input("event_time", "timestamptz"),
)  # fmt: skip
_VIOLATION_TIME = [i.name for i in _VIOLATION_INPUTS].index("event_time")


def _same_time_or_later(kept: Row, later: Row) -> bool:
    return bool(kept[_VIOLATION_TIME] <= later[_VIOLATION_TIME])


VIOLATIONS = Upsert(
    "violations", ("violation_id",), _VIOLATION_INPUTS,
    updated=(
        "unit_id", "status", "priority", "closed_at", "overdue", "detection_count", "event_id", "event_time",
    ),
    guard="violations.event_time <= EXCLUDED.event_time", wins=_same_time_or_later,
)  # fmt: skip

_AWARD_INPUTS = (
    Input("award_id", "uuid"), Input("round_id", "uuid"), Input("form_code", "text"),
    Input("recipient_kind", "text"), Input("unit_id", "uuid"), Input("decision_number", "text"),
    Input("decided_year", "int"), Input("decided_month", "int"), Input("decided_day", "int"),
    Input("status", "text"), Input("event_id", "uuid"),
)  # fmt: skip
_AWARD_STATUS = [i.name for i in _AWARD_INPUTS].index("status")
_AWARD_DAY = tuple(
    [i.name for i in _AWARD_INPUTS].index(part) for part in ("decided_year", "decided_month", "decided_day")
)


def _revocation(kept: Row, later: Row) -> bool:
    return bool(later[_AWARD_STATUS] == "revoked")


def _a_real_day(row: Row) -> None:
    """A decision day PostgreSQL's make_date refuses is refused here too (Python's date is the stricter)."""
    year, month, day = (row[n] for n in _AWARD_DAY)
    try:
        date(year, month, day)
    except ValueError as exc:
        raise DroppedValueRefused(f"decided_on {year}-{month}-{day} is not a day") from exc


AWARDS = Upsert(
    "awards", ("award_id",), _AWARD_INPUTS, updated=("status", "event_id"),
    guard="EXCLUDED.status = 'revoked'", wins=_revocation, touch=True, check=_a_real_day,
    columns={
        "award_id": "r.award_id", "round_id": "r.round_id", "form_code": "r.form_code",
        "recipient_kind": "r.recipient_kind", "unit_id": "r.unit_id", "decision_number": "r.decision_number",
        "decided_on": "make_date(r.decided_year, r.decided_month, r.decided_day)", "status": "r.status",
        "event_id": "r.event_id",
    },
)  # fmt: skip

# The set-based tables, in the order a batch writes them (the same order in every batch).
UPSERTS = (
    UNITS,
    CAMERAS,
    PLANS,
    MODELS,
    CONSOLIDATIONS,
    CLASSES,
    ATTENDANCES,
    VIOLATIONS,
    ASSESSMENTS,
    AWARDS,
)

STREAM_STATUS = """
INSERT INTO stream_status (topic, events_applied, last_event_at)
SELECT * FROM unnest(${}::text[], ${}::bigint[], ${}::timestamptz[])
ON CONFLICT (topic) DO UPDATE SET events_applied = stream_status.events_applied + EXCLUDED.events_applied,
    last_event_at = GREATEST(stream_status.last_event_at, EXCLUDED.last_event_at)
"""


def statement(upserts: Sequence[Upsert]) -> str:
    """One statement for a batch: the upserts as data-modifying CTEs of the stream_status upsert, each with
    its own parameters in turn (one round trip; the tables are distinct and none reads another, so one
    snapshot for all changes nothing)."""
    parts, first = [], 1
    for upsert in upserts:
        parts.append(f"write_{upsert.table} AS ({upsert.statement(first)})")
        first += len(upsert.inputs)
    status = STREAM_STATUS.format(first, first + 1, first + 2)
    return f"WITH {', '.join(parts)}{status}" if parts else status


# A batch of one table's rows (most are) sends that table's statement; a batch of several sends BATCH, every
# table in it (an absent table's arrays empty: its part does nothing). So a connection prepares at most twelve
# statements, however batches mix tables, and no batch pays for empty parts it could do without.
ALONE = {u.table: statement((u,)) for u in UPSERTS}
STATUS_ONLY = statement(())
BATCH = statement(UPSERTS)


# --- a batch ------------------------------------------------------------------------------------------------


class Batch:
    """What a batch of events comes to: one reduced set of rows per table, the camera interval steps in event
    order, and per topic the number of events and the latest event time."""

    def __init__(self) -> None:
        self.rows: dict[str, Rows] = {u.table: Rows(u) for u in UPSERTS}
        self.steps: list[tuple[Interval, str, datetime, uuid.UUID]] = []
        self.applied: dict[str, tuple[int, datetime]] = {}

    def upsert(self, table: Upsert, row: Row) -> None:
        self.rows[table.table].add(row)

    def step(self, interval: Interval, camera_id: str, at: datetime, event_id: uuid.UUID) -> None:
        self.steps.append((interval, camera_id, at, event_id))

    def count(self, events: Sequence[ConsumedEvent]) -> None:
        """The events applied and the latest event time per topic."""
        for event in events:
            seen = self.applied.get(event.topic)
            if seen is None:
                self.applied[event.topic] = (1, event.time)
            else:
                self.applied[event.topic] = (seen[0] + 1, max(seen[1], event.time))

    async def write(self, conn: asyncpg.Connection) -> None:
        """The set-based part in one statement, then the interval steps in event order."""
        present = [u for u in UPSERTS if self.rows[u.table].by_key]
        if len(present) > 1:
            sql, present = BATCH, list(UPSERTS)
        else:
            sql = ALONE[present[0].table] if present else STATUS_ONLY
        args = [array for u in present for array in self.rows[u.table].arrays()]
        topics = sorted(self.applied)
        args += [topics, [self.applied[t][0] for t in topics], [self.applied[t][1] for t in topics]]
        await conn.execute(sql, *args)
        for interval, camera_id, at, event_id in self.steps:
            await interval(conn, camera_id, at, event_id)


async def project(conn: asyncpg.Connection, events: Sequence[ConsumedEvent]) -> None:
    """The batch handler: every event of the batch into the read models, in the runner's transaction."""
    batch = Batch()
    for event in events:
        into = PROJECTORS.get(event.type)
        if into is None:  # the decoder knows exactly MESSAGES: only a mistake here gets so far
            raise InvalidEvent(f"no projection for {event.type}")
        into(batch, event)
    batch.count(events)
    await batch.write(conn)


# --- each event type: its rows ------------------------------------------------------------------------------


def _unit(b: Batch, event: ConsumedEvent) -> None:
    msg = event.message
    assert isinstance(msg, (registry_pb2.UnitCreated, registry_pb2.UnitUpdated))
    u = msg.unit
    b.upsert(UNITS, (
        u.id, u.code, u.name, UNIT_KINDS.get(u.kind, "unspecified"), u.district_code,
        UNIT_STATUSES.get(u.status, "active"), u.version, event.id,
    ))  # fmt: skip


def _camera(b: Batch, event: ConsumedEvent) -> None:
    """The latest state of a camera (registration, then any change of details or status): its district and
    dates are what the review report counts; an older version never overwrites a newer one."""
    msg = event.message
    assert isinstance(msg, (cameras_pb2.CameraRegistered, cameras_pb2.CameraUpdated))
    c = msg.camera
    b.upsert(CAMERAS, (
        c.id, c.code, c.unit_id or None, CAMERA_STATUSES.get(c.status, "planned"), c.version, event.id,
        c.name, c.district_code, _day(c.planned_on), _day(c.installed_on), _day(c.decommissioned_on),
    ))  # fmt: skip
    last_seen = _when(c.last_seen_at)
    if c.status == cameras_pb2.CAMERA_STATUS_DECOMMISSIONED and last_seen is not None:
        # The cameras service ends a decommissioned camera's online interval at its last sign of life, without
        # a CameraWentOffline: the same here.
        b.step(_close_online, c.id, last_seen, event.id)


def _camera_online(b: Batch, event: ConsumedEvent) -> None:
    msg = event.message
    assert isinstance(msg, cameras_pb2.CameraCameOnline)
    at = _when(msg.at)
    if at is None:
        raise InvalidEvent("CameraCameOnline without at")
    b.step(_open_online, msg.camera_id, at, event.id)


def _camera_offline(b: Batch, event: ConsumedEvent) -> None:
    """A camera went offline: its online interval ends at the last sign of life. A camera never seen has no
    interval to close."""
    msg = event.message
    assert isinstance(msg, cameras_pb2.CameraWentOffline)
    last_seen = _when(msg.last_seen_at)
    if last_seen is not None:
        b.step(_close_online, msg.camera_id, last_seen, event.id)


def _plan(b: Batch, event: ConsumedEvent) -> None:
    """An installation plan created or changed: its target (3.200 for the province) and the districts'."""
    msg = event.message
    assert isinstance(msg, cameras_pb2.InstallationPlanSet)
    p = msg.plan
    targets = {t.district_code: t.target for t in p.district_targets}
    b.upsert(PLANS, (
        p.id, p.name, p.target, _day(p.starts_on), _day(p.deadline), json_text(targets), _when(p.created_at),
        p.version, event.id,
    ))  # fmt: skip


VIOLATION_EVENTS = (
    violation_events_pb2.ViolationOpened,
    violation_events_pb2.ViolationUpdated,
    violation_events_pb2.ViolationOverdue,
)


def _violation(b: Batch, event: ConsumedEvent) -> None:
    """The latest state of a violation. A violation's events arrive in order (one key, one partition), and a
    replay repeats them in the same order: an older event never overwrites a newer one (event time guard)."""
    msg = event.message
    assert isinstance(msg, VIOLATION_EVENTS)
    v = msg.violation
    b.upsert(VIOLATIONS, (
        v.id, v.camera_id, v.unit_id or None, v.kind, VIOLATION_PRIORITIES.get(v.priority, "low"),
        VIOLATION_STATUSES.get(v.status, "new"), _when(v.opened_at), _when(v.closed_at),
        _when(v.overdue_at) is not None, v.detection_count, event.id, event.time,
    ))  # fmt: skip


def _assessment_result(b: Batch, event: ConsumedEvent) -> None:
    """The result of an assessment (a unit in a round): the latest revision replaces the earlier one, so a
    corrected result is counted once; an older revision arriving late (a replay) changes nothing."""
    msg = event.message
    assert isinstance(msg, (assessment_pb2.AssessmentFinalised, assessment_pb2.AssessmentRevised))
    a = msg.assessment
    b.upsert(ASSESSMENTS, (
        a.id, a.round_id, a.unit_id, a.year, a.unit_kind, a.district_code,
        f"{a.criteria_set_code}/{a.criteria_set_version}", ASSESSMENT_RESULTS.get(a.result, "failed"),
        round(a.score, 2), json_text(list(a.unmet_criteria)) if a.unmet_criteria else "[]", a.revision,
        _when(a.finalised_at), event.id,
    ))  # fmt: skip


def _counted_only(b: Batch, event: ConsumedEvent) -> None:
    """Opened and submitted assessments have no result yet, a submitted nomination is no award yet: counted as
    applied (not dead-lettered as an unknown type), nothing kept."""


def _award(b: Batch, event: ConsumedEvent) -> None:
    """A decided award counts; its revocation (same key, so never before it) marks it and it stops counting.
    A replayed decision after the revocation leaves the revocation in place."""
    msg = event.message
    assert isinstance(msg, (awards_pb2.AwardDecided, awards_pb2.AwardRevoked))
    a = msg.award
    revoked = isinstance(msg, awards_pb2.AwardRevoked)
    d = a.decided_on
    b.upsert(AWARDS, (
        a.id, a.round_id, a.form_code, a.recipient_kind, a.unit_id, a.decision_number, d.year, d.month, d.day,
        "revoked" if revoked else "decided", event.id,
    ))  # fmt: skip


def _model(b: Batch, event: ConsumedEvent) -> None:
    """The latest state of a movement model (version guard), and, for a later consolidation in its
    history, a row dated by it: the registry's counting rule needs both (formed in the period, or
    consolidated in it)."""
    msg = event.message
    assert isinstance(msg, (models_pb2.ModelCreated, models_pb2.ModelUpdated, models_pb2.ModelStatusChanged))
    m = msg.model
    host = m.WhichOneof("host") or "community"
    b.upsert(MODELS, (
        m.id, m.name, m.kind, MODEL_HOSTS[host], (m.unit.unit_id or None) if host == "unit" else None,
        (m.community.commune_code or None) if host == "community" else None, m.district_code,
        MODEL_FORMATIONS.get(m.formation, "built"), _day(m.formed_on), MODEL_STATUSES.get(m.status, "built"),
        m.version, event.id,
    ))  # fmt: skip
    if isinstance(msg, models_pb2.ModelStatusChanged):
        ch = msg.change
        consolidated = ch.to_status == models_pb2.MODEL_STATUS_CONSOLIDATED
        if consolidated and ch.from_status != models_pb2.MODEL_STATUS_UNSPECIFIED and ch.changed_on.year:
            b.upsert(
                CONSOLIDATIONS, (m.id, _when(ch.recorded_at) or event.time, _day(ch.changed_on), event.id)
            )


def _class(b: Batch, event: ConsumedEvent) -> None:
    """The latest state of a training class (version guard)."""
    msg = event.message
    assert isinstance(
        msg, (training_pb2.ClassScheduled, training_pb2.ClassUpdated, training_pb2.ClassCancelled)
    )
    c = msg.training_class
    b.upsert(CLASSES, (
        c.id, c.title, c.district_code, _day(c.starts_on), _day(c.ends_on),
        CLASS_STATUSES.get(c.status, "scheduled"), c.version, event.id,
    ))  # fmt: skip


def _attendance(b: Batch, event: ConsumedEvent) -> None:
    """One guard in one class, its latest outcome (version guard)."""
    msg = event.message
    assert isinstance(msg, (training_pb2.AttendanceEnrolled, training_pb2.AttendanceCompletionRecorded))
    a = msg.attendance
    b.upsert(ATTENDANCES, (
        a.id, a.class_id, a.guard_id, a.unit_id or None, a.guard_full_name,
        ATTENDANCE_OUTCOMES.get(a.outcome, "pending"), a.version, event.id,
    ))  # fmt: skip


# --- camera online intervals (sequential) -------------------------------------------------------------------

# A camera's events alternate (online at a, offline at its last sign of life b >= a, online again later ...)
# and arrive in that order, but a rebuild beside the live consumer may apply a later part of them before an
# earlier one (the live consumer after the tables were emptied, the replay from the start). So the steps do
# not depend on the order: an offline event whose online event is not there yet leaves a close marker (a
# zero-length row without `opened_by`) that the online event, when it comes, turns into its interval. A
# per-camera transaction lock keeps the live consumer and a rebuild from interleaving on one camera.

Interval = Callable[[asyncpg.Connection, str, datetime, uuid.UUID], Awaitable[None]]


def _camera_lock(camera_id: str) -> int:
    digest = hashlib.blake2b(f"d07-reporting-camera-online:{camera_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def _open_online(conn: asyncpg.Connection, camera_id: str, at: datetime, event_id: uuid.UUID) -> None:
    """A camera came online at `at`: an online interval opens there, unless the camera is online at that
    moment already (an interval open since before, or one that covers it: a replayed event). When the next row
    after `at` is a close marker, the interval ends there. Keyed by the event times, not the arrival order."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _camera_lock(camera_id))
    online = await conn.fetchval(
        """SELECT EXISTS (SELECT 1 FROM camera_online
                           WHERE camera_id = $1 AND opened_by IS NOT NULL AND online_from <= $2
                             AND (online_until IS NULL OR online_until >= $2))""",
        camera_id, at,
    )  # fmt: skip
    if not online:
        closed = await conn.fetchval(
            """UPDATE camera_online SET online_from = $2, opened_by = $3
                WHERE camera_id = $1 AND opened_by IS NULL
                  AND online_from = (SELECT min(online_from) FROM camera_online
                                      WHERE camera_id = $1 AND online_from >= $2)
               RETURNING online_until""",
            camera_id, at, event_id,
        )  # fmt: skip
        if closed is None:
            await conn.execute(
                """INSERT INTO camera_online (camera_id, online_from, opened_by) VALUES ($1, $2, $3)
                   ON CONFLICT (camera_id, online_from) DO NOTHING""",
                camera_id, at, event_id,
            )  # fmt: skip


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


Projector = Callable[[Batch, ConsumedEvent], None]
PROJECTORS: dict[str, Projector] = {
    "d07.registry.v1.UnitCreated": _unit,
    "d07.registry.v1.UnitUpdated": _unit,
    "d07.cameras.v1.CameraRegistered": _camera,
    "d07.cameras.v1.CameraUpdated": _camera,
    "d07.cameras.v1.CameraWentOffline": _camera_offline,
    "d07.cameras.v1.CameraCameOnline": _camera_online,
    "d07.cameras.v1.InstallationPlanSet": _plan,
    "d07.registry.v1.ModelCreated": _model,
    "d07.registry.v1.ModelUpdated": _model,
    "d07.registry.v1.ModelStatusChanged": _model,
    "d07.registry.v1.ClassScheduled": _class,
    "d07.registry.v1.ClassUpdated": _class,
    "d07.registry.v1.ClassCancelled": _class,
    "d07.registry.v1.AttendanceEnrolled": _attendance,
    "d07.registry.v1.AttendanceCompletionRecorded": _attendance,
    "d07.cameras.v1.ViolationOpened": _violation,
    "d07.cameras.v1.ViolationUpdated": _violation,
    "d07.cameras.v1.ViolationOverdue": _violation,
    "d07.assessment.v1.AssessmentRoundOpened": _counted_only,
    "d07.assessment.v1.AssessmentSubmitted": _counted_only,
    "d07.assessment.v1.AssessmentFinalised": _assessment_result,
    "d07.assessment.v1.AssessmentRevised": _assessment_result,
    "d07.awards.v1.NominationSubmitted": _counted_only,
    "d07.awards.v1.AwardDecided": _award,
    "d07.awards.v1.AwardRevoked": _award,
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
assert {type_name(m) for m in MESSAGES} == set(PROJECTORS), "every message the decoder knows has a projection"
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
