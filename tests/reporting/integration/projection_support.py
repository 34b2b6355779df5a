"""Shared by the projection tests: a random mix of every event type reporting projects (the same entities in
many versions, in any order, with ties), the events applied one at a time (the reference) or in batches as the
consumer runner applies them, and every read-model table read back row for row."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from d07.assessment.v1 import assessment_pb2
from d07.awards.v1 import awards_pb2
from d07.cameras.v1 import cameras_pb2, violation_events_pb2
from d07.common.v1 import common_pb2
from d07.platform.db import create_pool, migrate
from d07.platform.events.envelope import ConsumedEvent, type_name
from d07.platform.runtime import migrations
from d07.registry.v1 import models_pb2, registry_pb2, training_pb2
from reporting.bootstrap import SPEC
from reporting.projections import events as proj
from reporting.projections.repository import READ_MODELS
from reporting.projections.service import PROJECTORS, project
from tests.conftest import unique

TOPIC_OF = {
    registry_pb2.UnitCreated: proj.UNITS_TOPIC, registry_pb2.UnitUpdated: proj.UNITS_TOPIC,
    cameras_pb2.CameraRegistered: proj.CAMERAS_TOPIC, cameras_pb2.CameraUpdated: proj.CAMERAS_TOPIC,
    cameras_pb2.CameraCameOnline: proj.CAMERAS_TOPIC, cameras_pb2.CameraWentOffline: proj.CAMERAS_TOPIC,
    cameras_pb2.InstallationPlanSet: proj.PLANS_TOPIC,
    models_pb2.ModelCreated: proj.MODELS_TOPIC, models_pb2.ModelUpdated: proj.MODELS_TOPIC,
    models_pb2.ModelStatusChanged: proj.MODELS_TOPIC,
    training_pb2.ClassScheduled: proj.TRAINING_TOPIC, training_pb2.ClassUpdated: proj.TRAINING_TOPIC,
    training_pb2.ClassCancelled: proj.TRAINING_TOPIC, training_pb2.AttendanceEnrolled: proj.TRAINING_TOPIC,
    training_pb2.AttendanceCompletionRecorded: proj.TRAINING_TOPIC,
    violation_events_pb2.ViolationOpened: proj.VIOLATIONS_TOPIC,
    violation_events_pb2.ViolationUpdated: proj.VIOLATIONS_TOPIC,
    violation_events_pb2.ViolationOverdue: proj.VIOLATIONS_TOPIC,
    assessment_pb2.AssessmentRoundOpened: proj.ASSESSMENTS_TOPIC,
    assessment_pb2.AssessmentSubmitted: proj.ASSESSMENTS_TOPIC,
    assessment_pb2.AssessmentFinalised: proj.ASSESSMENTS_TOPIC,
    assessment_pb2.AssessmentRevised: proj.ASSESSMENTS_TOPIC,
    awards_pb2.NominationSubmitted: proj.AWARDS_TOPIC, awards_pb2.AwardDecided: proj.AWARDS_TOPIC,
    awards_pb2.AwardRevoked: proj.AWARDS_TOPIC,
}  # fmt: skip
assert set(TOPIC_OF) == set(PROJECTORS), "every projected type is generated"

NAMES = ("Trường THPT Ngân Thủy", "UBND xã Bằng Vân", "Công ty Cổ phần Thủy sản", "Chợ Đồng Xuân")
PEOPLE = ("Nguyễn Văn Hùng", "Trần Thị Lan", "Lê Minh Tuấn", "Phạm Thị Hằng")
CRITERIA = ("TC1 — An ninh trật tự", "TC2 — Phòng cháy", "TC3 — Bảo vệ tài sản")
KINDS = ("intrusion", "loitering", "fire_smoke", "crowd")


def ts(at: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(at.astimezone(UTC))
    return out


def pb_day(d: date) -> common_pb2.Date:
    return common_pb2.Date(year=d.year, month=d.month, day=d.day)


def consumed(message: Message, *, key: str, at: datetime, topic: str | None = None) -> ConsumedEvent:
    """An event as the runner hands it to the batch handler (decoded; topic, partition and offset unused)."""
    return ConsumedEvent(
        id=uuid.uuid4(), type=type_name(message), source="/d07/test", subject=key, time=at,
        topic=topic or TOPIC_OF[type(message)], partition=0, offset=0, key=key.encode(), headers={},
        value=message.SerializeToString(), message=message,
    )  # fmt: skip


@dataclass
class Mix:
    """A random mix of events: several entities of every table, each in several versions (ties among them),
    changes to the columns an update never touches, every order."""

    seed: int
    events: list[ConsumedEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.base = datetime(2024, 5, 1, 8, tzinfo=UTC)
        for make in (self._units, self._cameras, self._plans, self._models, self._training, self._violations,
                     self._assessments, self._awards, self._steps):  # fmt: skip
            make()
        self.rng.shuffle(self.events)

    def id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def at(self) -> datetime:
        """An event time from a handful: equal times happen."""
        return self.base + timedelta(seconds=self.rng.randrange(6))

    def day(self) -> date:
        return date(2019, 1, 1) + timedelta(days=self.rng.randrange(1500))

    def add(self, message: Message, key: str) -> None:
        self.events.append(consumed(message, key=key, at=self.at()))

    def versions(self, n: int) -> list[int]:
        """1..n and one of them twice (a tie)."""
        return [*range(1, n + 1), self.rng.randrange(1, n + 1)]

    def _units(self) -> None:
        for i in range(4):
            uid = self.id()
            for v in self.versions(4):
                unit = registry_pb2.Unit(
                    id=uid, code=f"DV-{i}-{v}", name=f"{self.rng.choice(NAMES)} ({v})",
                    kind=self.rng.randrange(1, 4), district_code=f"00{self.rng.randrange(1, 4)}",
                    status=self.rng.randrange(1, 4), version=v,
                )  # fmt: skip
                kind = registry_pb2.UnitCreated if v == 1 else registry_pb2.UnitUpdated
                self.add(kind(unit=unit), uid)

    def _cameras(self) -> None:
        for i in range(4):
            cid = self.id()
            for v in self.versions(3):
                status = self.rng.randrange(1, 4)
                cam = cameras_pb2.Camera(
                    id=cid, code=f"CAM-{i}", name=f"Camera cổng {self.rng.choice(NAMES)}", status=status,
                    version=v, district_code=f"00{self.rng.randrange(1, 4)}",
                    unit_id=self.rng.choice(["", self.id()]), planned_on=pb_day(self.day()),
                )  # fmt: skip
                if status != cameras_pb2.CAMERA_STATUS_PLANNED:
                    cam.installed_on.CopyFrom(pb_day(self.day()))
                if status == cameras_pb2.CAMERA_STATUS_DECOMMISSIONED:
                    cam.decommissioned_on.CopyFrom(pb_day(self.day()))
                if self.rng.random() < 0.7:
                    cam.last_seen_at.CopyFrom(ts(self.base + timedelta(hours=self.rng.randrange(48))))
                kind = cameras_pb2.CameraRegistered if v == 1 else cameras_pb2.CameraUpdated
                self.add(kind(camera=cam), cid)
            # Online and offline in any order (sequential steps: the same order both ways).
            for _ in range(3):
                start = self.base + timedelta(hours=self.rng.randrange(48))
                end = start + timedelta(minutes=self.rng.randrange(0, 300))
                self.add(cameras_pb2.CameraCameOnline(camera_id=cid, at=ts(start)), cid)
                self.add(cameras_pb2.CameraWentOffline(camera_id=cid, last_seen_at=ts(end)), cid)

    def _plans(self) -> None:
        for i in range(2):
            pid = self.id()
            for v in self.versions(3):
                plan = cameras_pb2.InstallationPlan(
                    id=pid, name=f"Đề án camera an ninh {i} ({v})", target=self.rng.randrange(100, 4000),
                    starts_on=pb_day(self.day()), deadline=pb_day(self.day()), version=v,
                    created_at=ts(self.base - timedelta(days=self.rng.randrange(30))),
                    district_targets=[
                        cameras_pb2.DistrictTarget(district_code=f"00{d}", target=self.rng.randrange(50))
                        for d in range(1, self.rng.randrange(2, 5))
                    ],
                )  # fmt: skip
                self.add(cameras_pb2.InstallationPlanSet(plan=plan), pid)

    def _models(self) -> None:
        for i in range(3):
            mid = self.id()
            for v in self.versions(4):
                m = models_pb2.Model(
                    id=mid, name=f"Tổ tự quản thôn Bản Mới {i} ({v})", kind="to_tu_quan",
                    district_code=f"00{self.rng.randrange(1, 4)}", formation=self.rng.randrange(1, 3),
                    formed_on=pb_day(self.day()), status=self.rng.randrange(1, 5), version=v,
                )  # fmt: skip
                if self.rng.random() < 0.5:
                    m.unit.unit_id = self.rng.choice(["", self.id()])
                else:
                    m.community.commune_code = self.rng.choice(["", "00045"])
                if v == 1:
                    self.add(models_pb2.ModelCreated(model=m), mid)
                elif self.rng.random() < 0.2:
                    self.add(models_pb2.ModelUpdated(model=m), mid)
                else:
                    change = models_pb2.ModelStatusChange(
                        from_status=self.rng.choice([0, 3, 3]), to_status=self.rng.choice([2, 2, 3]),
                        changed_on=pb_day(self.day()),
                    )  # fmt: skip
                    if self.rng.random() < 0.8:  # a handful of instants: the same history entry again
                        change.recorded_at.CopyFrom(ts(self.base + timedelta(minutes=self.rng.randrange(3))))
                    self.add(models_pb2.ModelStatusChanged(model=m, change=change), mid)

    def _training(self) -> None:
        for i in range(2):
            cid = self.id()
            for v in self.versions(3):
                starts = self.day()
                c = training_pb2.TrainingClass(
                    id=cid, title=f"Lớp bồi dưỡng nghiệp vụ bảo vệ {i} ({v})", starts_on=pb_day(starts),
                    ends_on=pb_day(starts + timedelta(days=4)), district_code=f"00{self.rng.randrange(1, 4)}",
                    status=self.rng.randrange(1, 4), version=v,
                )  # fmt: skip
                kind = self.rng.choice([training_pb2.ClassUpdated, training_pb2.ClassCancelled])
                self.add((training_pb2.ClassScheduled if v == 1 else kind)(training_class=c), cid)
        for _ in range(4):
            aid = self.id()
            for v in self.versions(3):
                a = training_pb2.Attendance(
                    id=aid, class_id=self.id(), guard_id=self.id(), unit_id=self.rng.choice(["", self.id()]),
                    guard_full_name=self.rng.choice(PEOPLE), outcome=self.rng.randrange(1, 4), version=v,
                )  # fmt: skip
                kind = (
                    training_pb2.AttendanceEnrolled if v == 1 else training_pb2.AttendanceCompletionRecorded
                )
                self.add(kind(attendance=a), aid)

    def _violations(self) -> None:
        for _ in range(4):
            vid = self.id()
            for n in range(4):
                opened = self.base + timedelta(minutes=self.rng.randrange(600))
                v = violation_events_pb2.Violation(
                    id=vid, camera_id=self.id(), unit_id=self.rng.choice(["", self.id()]),
                    kind=self.rng.choice(KINDS), priority=self.rng.randrange(1, 5),
                    status=self.rng.randrange(1, 6), opened_at=ts(opened),
                    detection_count=n + self.rng.randrange(1, 4),
                )  # fmt: skip
                if self.rng.random() < 0.5:
                    v.closed_at.CopyFrom(ts(opened + timedelta(hours=2)))
                if self.rng.random() < 0.3:
                    v.overdue_at.CopyFrom(ts(opened + timedelta(hours=1)))
                kind = (violation_events_pb2.ViolationOpened if n == 0
                        else self.rng.choice([violation_events_pb2.ViolationUpdated,
                                              violation_events_pb2.ViolationOverdue]))  # fmt: skip
                self.add(kind(violation=v), vid)

    def _assessments(self) -> None:
        for _ in range(3):
            aid = self.id()
            for r in self.versions(3):
                a = assessment_pb2.Assessment(
                    id=aid, round_id=self.id(), unit_id=self.id(), year=self.rng.randrange(2014, 2020),
                    unit_kind=self.rng.choice(["agency", "school"]),
                    district_code=f"00{self.rng.randrange(1, 4)}",
                    criteria_set_code="TT124-2021", criteria_set_version=self.rng.randrange(1, 3),
                    result=self.rng.randrange(1, 3), score=self.rng.randrange(0, 10000) / 100,
                    unmet_criteria=self.rng.sample(CRITERIA, self.rng.randrange(0, 3)), revision=r,
                )  # fmt: skip
                if self.rng.random() < 0.8:
                    a.finalised_at.CopyFrom(ts(self.base + timedelta(days=r)))
                kind = assessment_pb2.AssessmentFinalised if r == 1 else assessment_pb2.AssessmentRevised
                self.add(kind(assessment=a), a.unit_id)

    def _awards(self) -> None:
        for _ in range(3):
            aid = self.id()
            for _ in range(self.rng.randrange(2, 5)):
                d = self.day()
                award = awards_pb2.Award(
                    id=aid, round_id=self.id(), form_code=self.rng.choice(["merit", "commendation"]),
                    recipient_kind=self.rng.choice(["collective", "individual"]), unit_id=self.id(),
                    decision_number=f"{self.rng.randrange(100, 3000)}/QĐ-UBND", decided_on=pb_day(d),
                )  # fmt: skip
                kind = self.rng.choice(
                    [awards_pb2.AwardDecided, awards_pb2.AwardDecided, awards_pb2.AwardRevoked]
                )
                self.add(kind(award=award), aid)

    def _steps(self) -> None:
        for kind in (assessment_pb2.AssessmentRoundOpened, assessment_pb2.AssessmentSubmitted,
                     awards_pb2.NominationSubmitted, awards_pb2.NominationSubmitted):  # fmt: skip
            self.add(kind(), self.id())


# --- applying them ------------------------------------------------------------------------------------------


async def apply_one_at_a_time(pool: asyncpg.Pool, events: Sequence[ConsumedEvent]) -> list[uuid.UUID]:
    """THE REFERENCE: each event alone in its own transaction, its own statements, one after the other (the
    per-event semantics the handlers always had). The ids of the events refused (dead-lettered by the
    runner)."""
    refused = []
    async with pool.acquire() as conn:
        for event in events:
            try:
                async with conn.transaction():
                    await project(conn, [event])
            except Exception:
                refused.append(event.id)
    return refused


@dataclass
class Applied:
    refused: list[uuid.UUID]
    redone: int  # batches applied again one event at a time


async def apply_in_batches(pool: asyncpg.Pool, events: Sequence[ConsumedEvent], size: int) -> Applied:
    """`size` events a batch, as the consumer runner applies them: the batch in one transaction; when it
    fails, again one event at a time, each in a savepoint."""
    out = Applied([], 0)
    async with pool.acquire() as conn:
        for start in range(0, len(events), size):
            batch = events[start : start + size]
            try:
                async with conn.transaction():
                    await project(conn, batch)
                continue
            except Exception:
                out.redone += 1
            async with conn.transaction():
                for event in batch:
                    try:
                        async with conn.transaction():
                            await project(conn, [event])
                    except Exception:
                        out.refused.append(event.id)
    return out


async def read_models(pool: asyncpg.Pool) -> dict[str, list[tuple[object, ...]]]:
    """Every read-model table, every column but `updated_at` (the time of the transaction), row for row."""
    out = {}
    for table in READ_MODELS:
        columns = [
            r["column_name"]
            for r in await pool.fetch(
                """SELECT column_name FROM information_schema.columns
                    WHERE table_schema = current_schema() AND table_name = $1 AND column_name <> 'updated_at'
                    ORDER BY ordinal_position""",
                table,
            )
        ]
        listed = ", ".join(columns)
        out[table] = [tuple(r) for r in await pool.fetch(f"SELECT {listed} FROM {table} ORDER BY {listed}")]
    return out


async def empty(pool: asyncpg.Pool) -> None:
    await pool.execute("TRUNCATE " + ", ".join(READ_MODELS))


async def reporting_schema(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A fresh schema with reporting's migrations, and a pool on it."""
    schema = unique("rep")
    conn = await asyncpg.connect(database_url)
    try:
        await migrate(conn, schema=schema, migrations=migrations(SPEC))
    finally:
        await conn.close()
    pool = await create_pool(database_url, schema=schema, min_size=1, max_size=3)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
async def reference(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    async for pool in reporting_schema(database_url):
        yield pool


@pytest.fixture
async def batched(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    async for pool in reporting_schema(database_url):
        yield pool
