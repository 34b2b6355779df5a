"""The projections' batch handler, `project`: the read models, kept from the other services' events.

The consumer runner (`d07.platform.events.consumer`) calls `project(conn, events)` once per batch with the
batch's new events (the inbox has left out the ones applied before) in their order, inside the transaction
that records them in the inbox. Events of one entity share a key, so a partition and an order; a replay (the
runner's redelivery, `python -m reporting rebuild` beside the live consumer) may bring an entity's older
events again, or a later part of them before an earlier one. The read models are idempotent twice over: the
inbox skips a redelivered event, and every projection is guarded by a version (or an event time) so an older
state never overwrites a newer one.

`fold(events)` (pure) turns a batch into a `Batch`: one folded set of rows per table, the camera interval
steps in event order, the events applied per topic; `apply` writes it through the `ProjectionRepository`.
How each event type is applied within a batch, and why that gives exactly the rows that applying the batch's
events one at a time gives (`tests/reporting/integration/test_batch_projections.py` checks it row for row):

- Set-based (`d07.platform.db.upserts`: the batch folded to one row per key, then `INSERT ... SELECT FROM
  unnest(...) ON CONFLICT ... WHERE <guard>`). Each is a pure guarded upsert: its statement reads nothing but
  the row of its own key, and no other projection reads its table, so the rows of a key can be folded in event
  order in Python, and the statements of different tables can run in any order, even as one: a batch sends
  them all as data-modifying CTEs of its stream_status upsert, one round trip (`repository.ALONE`, `BATCH`).
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
event goes to the dead-letter topic as before. A value the folding would drop (a superseded version) is
checked first as strictly as the database would check it (`d07.platform.db.upserts`), so no event that the
database would have refused is swallowed by the folding.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Literal, Protocol

import asyncpg
from google.protobuf.message import Message

from d07.assessment.v1 import assessment_pb2
from d07.awards.v1 import awards_pb2
from d07.cameras.v1 import cameras_pb2, violation_events_pb2
from d07.platform.db.upserts import Row, Rows, Upsert
from d07.platform.events.consumer import InvalidEvent
from d07.platform.events.envelope import ConsumedEvent
from d07.registry.v1 import models_pb2, registry_pb2, training_pb2
from reporting.projections import messages as rows
from reporting.projections.repository import (
    ASSESSMENTS,
    ATTENDANCES,
    AWARDS,
    CAMERAS,
    CLASSES,
    CONSOLIDATIONS,
    MODELS,
    PLANS,
    UNITS,
    UPSERTS,
    VIOLATIONS,
    ProjectionRepository,
)

# A camera online interval step: opened (CameraCameOnline) or closed (offline, decommissioned).
Step = tuple[Literal["open", "close"], str, datetime, uuid.UUID]


class Batch:
    """What a batch of events comes to: one folded set of rows per table, the camera interval steps in event
    order, and per topic the number of events and the latest event time."""

    def __init__(self) -> None:
        self.rows: dict[str, Rows] = {u.table: Rows(u) for u in UPSERTS}
        self.steps: list[Step] = []
        self.applied: dict[str, tuple[int, datetime]] = {}

    def upsert(self, table: Upsert, row: Row) -> None:
        self.rows[table.table].add(row)

    def step(self, kind: Literal["open", "close"], camera_id: str, at: datetime, event_id: uuid.UUID) -> None:
        self.steps.append((kind, camera_id, at, event_id))

    def count(self, events: Sequence[ConsumedEvent]) -> None:
        """The events applied and the latest event time per topic."""
        for event in events:
            seen = self.applied.get(event.topic)
            if seen is None:
                self.applied[event.topic] = (1, event.time)
            else:
                self.applied[event.topic] = (seen[0] + 1, max(seen[1], event.time))


# --- each event type: what it adds to the batch -------------------------------------------------------------


def _unit(b: Batch, event: ConsumedEvent) -> None:
    msg = event.message
    assert isinstance(msg, (registry_pb2.UnitCreated, registry_pb2.UnitUpdated))
    b.upsert(UNITS, rows.unit_row(msg.unit, event.id))


def _camera(b: Batch, event: ConsumedEvent) -> None:
    """The latest state of a camera (registration, then any change of details or status): its district and
    dates are what the review report counts; an older version never overwrites a newer one. A decommissioned
    camera's online interval ends at its last sign of life (the cameras service sends no offline event)."""
    msg = event.message
    assert isinstance(msg, (cameras_pb2.CameraRegistered, cameras_pb2.CameraUpdated))
    b.upsert(CAMERAS, rows.camera_row(msg.camera, event.id))
    last_seen = rows.decommissioned_last_seen(msg.camera)
    if last_seen is not None:
        b.step("close", msg.camera.id, last_seen, event.id)


def _camera_online(b: Batch, event: ConsumedEvent) -> None:
    msg = event.message
    assert isinstance(msg, cameras_pb2.CameraCameOnline)
    at = rows.when(msg.at)
    if at is None:
        raise InvalidEvent("CameraCameOnline without at")
    b.step("open", msg.camera_id, at, event.id)


def _camera_offline(b: Batch, event: ConsumedEvent) -> None:
    """A camera went offline: its online interval ends at the last sign of life. A camera never seen has no
    interval to close."""
    msg = event.message
    assert isinstance(msg, cameras_pb2.CameraWentOffline)
    last_seen = rows.when(msg.last_seen_at)
    if last_seen is not None:
        b.step("close", msg.camera_id, last_seen, event.id)


def _plan(b: Batch, event: ConsumedEvent) -> None:
    """An installation plan created or changed: its target (3.200 for the province) and the districts'."""
    msg = event.message
    assert isinstance(msg, cameras_pb2.InstallationPlanSet)
    b.upsert(PLANS, rows.plan_row(msg.plan, event.id))


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
    b.upsert(VIOLATIONS, rows.violation_row(msg.violation, event.id, event.time))


def _assessment_result(b: Batch, event: ConsumedEvent) -> None:
    """The result of an assessment (a unit in a round): the latest revision replaces the earlier one, so a
    corrected result is counted once; an older revision arriving late (a replay) changes nothing."""
    msg = event.message
    assert isinstance(msg, (assessment_pb2.AssessmentFinalised, assessment_pb2.AssessmentRevised))
    b.upsert(ASSESSMENTS, rows.assessment_row(msg.assessment, event.id))


def _counted_only(b: Batch, event: ConsumedEvent) -> None:
    """Opened and submitted assessments have no result yet, a submitted nomination is no award yet: counted as
    applied (not dead-lettered as an unknown type), nothing kept."""


def _award(b: Batch, event: ConsumedEvent) -> None:
    """A decided award counts; its revocation (same key, so never before it) marks it and it stops counting.
    A replayed decision after the revocation leaves the revocation in place."""
    msg = event.message
    assert isinstance(msg, (awards_pb2.AwardDecided, awards_pb2.AwardRevoked))
    b.upsert(AWARDS, rows.award_row(msg.award, event.id, revoked=isinstance(msg, awards_pb2.AwardRevoked)))


def _model(b: Batch, event: ConsumedEvent) -> None:
    """The latest state of a movement model (version guard), and, for a later consolidation in its
    history, a row dated by it: the registry's counting rule needs both (formed in the period, or
    consolidated in it)."""
    msg = event.message
    assert isinstance(msg, (models_pb2.ModelCreated, models_pb2.ModelUpdated, models_pb2.ModelStatusChanged))
    b.upsert(MODELS, rows.model_row(msg.model, event.id))
    if isinstance(msg, models_pb2.ModelStatusChanged):
        consolidation = rows.consolidation_row(msg, event.id, event.time)
        if consolidation is not None:
            b.upsert(CONSOLIDATIONS, consolidation)


def _class(b: Batch, event: ConsumedEvent) -> None:
    """The latest state of a training class (version guard)."""
    msg = event.message
    assert isinstance(
        msg, (training_pb2.ClassScheduled, training_pb2.ClassUpdated, training_pb2.ClassCancelled)
    )
    b.upsert(CLASSES, rows.class_row(msg.training_class, event.id))


def _attendance(b: Batch, event: ConsumedEvent) -> None:
    """One guard in one class, its latest outcome (version guard)."""
    msg = event.message
    assert isinstance(msg, (training_pb2.AttendanceEnrolled, training_pb2.AttendanceCompletionRecorded))
    b.upsert(ATTENDANCES, rows.attendance_row(msg.attendance, event.id))


Projector = Callable[[Batch, ConsumedEvent], None]
# Every message the consumer reads, and what it adds to a batch (its decoder knows exactly these).
PROJECTORS: Mapping[type[Message], Projector] = {
    registry_pb2.UnitCreated: _unit,
    registry_pb2.UnitUpdated: _unit,
    cameras_pb2.CameraRegistered: _camera,
    cameras_pb2.CameraUpdated: _camera,
    cameras_pb2.CameraWentOffline: _camera_offline,
    cameras_pb2.CameraCameOnline: _camera_online,
    cameras_pb2.InstallationPlanSet: _plan,
    models_pb2.ModelCreated: _model,
    models_pb2.ModelUpdated: _model,
    models_pb2.ModelStatusChanged: _model,
    training_pb2.ClassScheduled: _class,
    training_pb2.ClassUpdated: _class,
    training_pb2.ClassCancelled: _class,
    training_pb2.AttendanceEnrolled: _attendance,
    training_pb2.AttendanceCompletionRecorded: _attendance,
    violation_events_pb2.ViolationOpened: _violation,
    violation_events_pb2.ViolationUpdated: _violation,
    violation_events_pb2.ViolationOverdue: _violation,
    assessment_pb2.AssessmentRoundOpened: _counted_only,
    assessment_pb2.AssessmentSubmitted: _counted_only,
    assessment_pb2.AssessmentFinalised: _assessment_result,
    assessment_pb2.AssessmentRevised: _assessment_result,
    awards_pb2.NominationSubmitted: _counted_only,
    awards_pb2.AwardDecided: _award,
    awards_pb2.AwardRevoked: _award,
}
_BY_TYPE = {cls.DESCRIPTOR.full_name: projector for cls, projector in PROJECTORS.items()}


# --- the batch ---------------------------------------------------------------------------------------------


def fold(events: Sequence[ConsumedEvent]) -> Batch:
    """Every event of the batch, in order, into one folded set of rows per table, the interval steps and the
    counts per topic (pure: raises, as its statement would, for an event the database would refuse)."""
    batch = Batch()
    for event in events:
        into = _BY_TYPE.get(event.type)
        if into is None:  # the decoder knows exactly PROJECTORS: only a mistake here gets so far
            raise InvalidEvent(f"no projection for {event.type}")
        into(batch, event)
    batch.count(events)
    return batch


class Projections(Protocol):
    """What `apply` writes through: `ProjectionRepository`, or the handler tests' fake."""

    async def write(self, rows: Mapping[str, Rows], applied: Mapping[str, tuple[int, datetime]]) -> None: ...
    async def open_online(self, camera_id: str, at: datetime, event_id: uuid.UUID) -> None: ...
    async def close_online(self, camera_id: str, at: datetime, event_id: uuid.UUID) -> None: ...


async def apply(projections: Projections, events: Sequence[ConsumedEvent]) -> None:
    """The set-based part in one statement, then the interval steps in event order."""
    batch = fold(events)
    await projections.write(batch.rows, batch.applied)
    for kind, camera_id, at, event_id in batch.steps:
        if kind == "open":
            await projections.open_online(camera_id, at, event_id)
        else:
            await projections.close_online(camera_id, at, event_id)


async def project(conn: asyncpg.Connection, events: Sequence[ConsumedEvent]) -> None:
    """The batch handler: every event of the batch into the read models, in the runner's transaction."""
    await apply(ProjectionRepository(conn), events)
