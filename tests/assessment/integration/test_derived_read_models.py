"""The derived criteria's read models and `derive` against a schema of this test's own (the assessment
migrations applied here, real PostgreSQL): events are handed to the handlers of `assessment.derived.service`
as the consumer hands them (one transaction each), including replays of older events, and the late violation
that flags a finalised assessment. The path through the broker is covered by test_derived_platform.py."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
import pytest
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from assessment.derived import events, service
from assessment.derived.repository import DerivedRepository
from d07.cameras.v1 import violation_events_pb2 as vpb
from d07.common.v1 import common_pb2
from d07.platform import db
from d07.platform.events.envelope import ConsumedEvent, type_name
from d07.registry.v1 import models_pb2 as mpb
from d07.registry.v1 import training_pb2 as tpb

# The derived consumer's handler of each event type, from its table.
HANDLERS = events.CONSUMER.handlers or {}
MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "assessment" / "migrations"


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    schema = f"dv_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(database_url)
    try:
        await db.migrate(conn, schema=schema, migrations=db.all_migrations("assessment", MIGRATIONS))
    finally:
        await conn.close()
    p = await db.create_pool(database_url, schema=schema, min_size=1, max_size=2)
    try:
        yield p
    finally:
        await p.close()
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        finally:
            await conn.close()


async def deliver(pool: asyncpg.Pool, *messages: Message) -> None:
    """Each message as one consumed event, handled in its own transaction like the consumer does."""
    for msg in messages:
        name = type_name(msg)
        event = ConsumedEvent(
            id=uuid.uuid4(), type=name, source="/d07/test", subject="", time=datetime.now(UTC), topic="t",
            partition=0, offset=0, key=None, headers={}, value=msg.SerializeToString(), message=msg,
        )  # fmt: skip
        async with pool.acquire() as conn, conn.transaction():
            await HANDLERS[name](conn, event)


def d(value: date) -> common_pb2.Date:
    return common_pb2.Date(year=value.year, month=value.month, day=value.day)


def ts(value: datetime) -> Timestamp:
    t = Timestamp()
    t.FromDatetime(value)
    return t


async def new_unit(pool: asyncpg.Pool, kind: str = "school") -> uuid.UUID:
    unit = uuid.uuid4()
    await pool.execute(
        """INSERT INTO units (unit_id, code, name, kind, district_code, version)
           VALUES ($1, $2, $3, $4, '001', 1)""",
        unit, f"U-{unit.hex[:8]}", "Trường THPT Nguyễn Đình Chiểu", kind,
    )  # fmt: skip
    return unit


async def derive(pool: asyncpg.Pool, unit: uuid.UUID, year: int) -> dict[str, tuple[bool, list[str]]]:
    async with pool.acquire() as conn:
        results = await service.derive(DerivedRepository(conn), unit_id=unit, year=year)
    return {r.criterion_code: (r.met, [f"{s.kind}:{s.id}" for s in r.sources]) for r in results}


def model(mid: str, unit: uuid.UUID, version: int, status: mpb.ModelStatus, on: date) -> mpb.Model:
    return mpb.Model(
        id=mid, name="Tổ tự quản về an ninh trật tự ký túc xá", kind="self_managed_team",
        kind_label="Tổ tự quản về an ninh trật tự", unit=mpb.ModelUnitHost(unit_id=str(unit)),
        status=status, status_on=d(on), version=version,
    )  # fmt: skip


# --- the criteria come from the set in force ----------------------------------------------------------------


async def test_derived_codes_come_from_the_set_of_the_year(pool: asyncpg.Pool) -> None:
    unit = await new_unit(pool)
    # Circular 124/2021 (from 2022): TC2 violations, TC3 training, TC4 models; Circular 23/2012: TC3, TC4.
    got = await derive(pool, unit, 2023)
    assert list(got) == ["TC2", "TC3", "TC4"]
    assert got == {"TC2": (True, []), "TC3": (False, []), "TC4": (False, [])}
    assert list(await derive(pool, unit, 2018)) == ["TC3", "TC4"]
    assert await derive(pool, uuid.uuid4(), 2023) == {}  # a unit not known here yet


# --- movement models ----------------------------------------------------------------------------------------


async def test_a_model_counts_in_the_years_it_was_effective_and_replays_change_nothing(
    pool: asyncpg.Pool,
) -> None:
    unit = await new_unit(pool)
    mid = str(uuid.uuid4())
    created = mpb.ModelCreated(model=model(mid, unit, 1, mpb.MODEL_STATUS_BUILT, date(2021, 5, 1)))
    # The formation is corrected before anything happened: the first status now starts in 2020.
    updated = mpb.ModelUpdated(model=model(mid, unit, 2, mpb.MODEL_STATUS_CONSOLIDATED, date(2020, 9, 1)))
    effective = mpb.ModelStatusChanged(
        model=model(mid, unit, 3, mpb.MODEL_STATUS_EFFECTIVE, date(2022, 3, 1))
    )
    inactive = mpb.ModelStatusChanged(model=model(mid, unit, 4, mpb.MODEL_STATUS_INACTIVE, date(2024, 6, 1)))
    await deliver(pool, created, updated, effective, inactive)

    met = {year: (await derive(pool, unit, year))["TC4"] for year in range(2021, 2026)}
    source = [f"model:{mid}"]
    assert met == {2021: (False, []), 2022: (True, source), 2023: (True, source), 2024: (True, source),
                   2025: (False, [])}  # fmt: skip
    history = await pool.fetch(
        "SELECT from_version, status, status_on FROM known_model_statuses WHERE model_id = $1 ORDER BY 1",
        uuid.UUID(mid),
    )
    assert [tuple(r) for r in history] == [
        (1, "consolidated", date(2020, 9, 1)), (3, "effective", date(2022, 3, 1)),
        (4, "inactive", date(2024, 6, 1)),
    ]  # fmt: skip

    # A replay from an earlier offset: older snapshots never overwrite newer ones.
    await deliver(pool, created, updated, effective)
    row = await pool.fetchrow("SELECT status, version FROM known_models WHERE model_id = $1", uuid.UUID(mid))
    assert row is not None
    assert (row["status"], row["version"]) == ("inactive", 4)
    assert [tuple(r) for r in await pool.fetch(
        "SELECT from_version, status, status_on FROM known_model_statuses WHERE model_id = $1 ORDER BY 1",
        uuid.UUID(mid),
    )] == [tuple(r) for r in history]  # fmt: skip
    assert (await derive(pool, unit, 2025))["TC4"] == (False, [])


async def test_a_model_of_another_host_does_not_count(pool: asyncpg.Pool) -> None:
    unit, other = await new_unit(pool), await new_unit(pool)
    mid = str(uuid.uuid4())
    await deliver(
        pool, mpb.ModelCreated(model=model(mid, other, 1, mpb.MODEL_STATUS_EFFECTIVE, date(2022, 1, 1)))
    )
    assert (await derive(pool, unit, 2023))["TC4"] == (False, [])
    assert (await derive(pool, other, 2023))["TC4"] == (True, [f"model:{mid}"])


# --- training -----------------------------------------------------------------------------------------------


def training_class(cid: str, version: int, status: tpb.ClassStatus, starts: date) -> tpb.TrainingClass:
    return tpb.TrainingClass(
        id=cid, title="Lớp bồi dưỡng nghiệp vụ bảo vệ năm 2023", starts_on=d(starts), ends_on=d(starts),
        status=status, version=version,
    )  # fmt: skip


def attendance(
    aid: str, cid: str, unit: uuid.UUID, version: int, outcome: tpb.AttendanceOutcome
) -> tpb.Attendance:
    return tpb.Attendance(
        id=aid, class_id=cid, guard_id=str(uuid.uuid5(uuid.NAMESPACE_URL, aid)), unit_id=str(unit),
        guard_full_name="Trần Văn Bình", outcome=outcome, version=version,
    )  # fmt: skip


async def test_a_completed_attendance_counts_and_a_replayed_enrolment_does_not_undo_it(
    pool: asyncpg.Pool,
) -> None:
    unit = await new_unit(pool)
    cid, aid = str(uuid.uuid4()), str(uuid.uuid4())
    scheduled = tpb.ClassScheduled(
        training_class=training_class(cid, 1, tpb.CLASS_STATUS_SCHEDULED, date(2023, 9, 9))
    )
    enrolled = tpb.AttendanceEnrolled(
        attendance=attendance(aid, cid, unit, 1, tpb.ATTENDANCE_OUTCOME_PENDING)
    )
    await deliver(pool, scheduled, enrolled)
    assert (await derive(pool, unit, 2023))["TC3"] == (False, [])  # enrolled is not trained

    completed = tpb.AttendanceCompletionRecorded(
        attendance=attendance(aid, cid, unit, 2, tpb.ATTENDANCE_OUTCOME_COMPLETED)
    )
    await deliver(pool, completed, enrolled)  # the enrolment replayed after the completion
    assert (await derive(pool, unit, 2023))["TC3"] == (True, [f"attendance:{aid}"])
    assert (await derive(pool, unit, 2024))["TC3"] == (False, [])

    # A class cancelled later takes its attendances out; replaying its scheduling does not bring them back.
    cancelled = tpb.ClassCancelled(
        training_class=training_class(cid, 2, tpb.CLASS_STATUS_CANCELLED, date(2023, 9, 9))
    )
    await deliver(pool, cancelled, scheduled)
    assert (await derive(pool, unit, 2023))["TC3"] == (False, [])


# --- violations and the late violation ----------------------------------------------------------------------


def violation(
    vid: str, unit: uuid.UUID, version: int, status: vpb.ViolationStatus, opened: datetime
) -> vpb.Violation:
    return vpb.Violation(
        id=vid, camera_id=str(uuid.uuid4()), camera_code="CAM-00017", unit_id=str(unit), kind="fire_smoke",
        priority=vpb.VIOLATION_PRIORITY_CRITICAL, status=status, opened_at=ts(opened), version=version,
    )  # fmt: skip


async def finalised_assessment(
    pool: asyncpg.Pool, unit: uuid.UUID, year: int, *, status: str = "finalised"
) -> uuid.UUID:
    """A round and an assessment of the unit, written as rows: enough for the review flag to find it."""
    round_id, assessment = uuid.uuid4(), uuid.uuid4()
    await pool.execute(
        """INSERT INTO rounds (round_id, year, district_code, title, self_assessment_due, verification_due,
                               opened_by)
           VALUES ($1, $2, $3, 'Đợt đánh giá', $4, $4, 'test-admin')""",
        round_id, year, f"D{uuid.uuid4().hex[:6]}", date(year, 11, 30),
    )  # fmt: skip
    await pool.execute(
        """INSERT INTO assessments (assessment_id, round_id, unit_id, year, unit_kind, district_code,
                                    set_code, set_version, status, result, score)
           VALUES ($1, $2, $3, $4, 'school', '001', 'TT124-2021', 1, $5, $6, $7)""",
        assessment, round_id, unit, year, status,
        "passed" if status == "finalised" else None, 100 if status == "finalised" else None,
    )  # fmt: skip
    return assessment


async def test_a_confirmed_serious_violation_makes_the_criterion_unmet_until_dismissed(
    pool: asyncpg.Pool,
) -> None:
    unit = await new_unit(pool)
    vid = str(uuid.uuid4())
    opened_at = datetime(2023, 12, 31, 20, 0, tzinfo=UTC)  # 1 January 2024, 03:00 in Vietnam
    opened = vpb.ViolationOpened(violation=violation(vid, unit, 1, vpb.VIOLATION_STATUS_NEW, opened_at))
    acknowledged = vpb.ViolationUpdated(
        violation=violation(vid, unit, 2, vpb.VIOLATION_STATUS_ACKNOWLEDGED, opened_at), change="acknowledged"
    )
    started = vpb.ViolationUpdated(
        violation=violation(vid, unit, 3, vpb.VIOLATION_STATUS_IN_PROGRESS, opened_at), change="started"
    )
    await deliver(pool, opened, acknowledged)
    assert (await derive(pool, unit, 2024))["TC2"] == (True, [])  # not taken up by the police yet
    await deliver(pool, started, opened, acknowledged)  # the older two replayed after it
    assert (await derive(pool, unit, 2024))["TC2"] == (False, [f"violation:{vid}"])
    assert (await derive(pool, unit, 2023))["TC2"] == (True, [])

    dismissed = vpb.ViolationUpdated(
        violation=violation(vid, unit, 4, vpb.VIOLATION_STATUS_DISMISSED, opened_at), change="dismissed"
    )
    await deliver(pool, dismissed, started)
    assert (await derive(pool, unit, 2024))["TC2"] == (True, [])


async def test_a_late_violation_flags_the_finalised_assessment_once_and_leaves_it_unchanged(
    pool: asyncpg.Pool,
) -> None:
    unit, open_unit, seen_unit = await new_unit(pool), await new_unit(pool), await new_unit(pool)
    assessment = await finalised_assessment(pool, unit, 2023)
    draft = await finalised_assessment(pool, open_unit, 2023, status="draft")
    seen = await finalised_assessment(pool, seen_unit, 2023)
    before = await pool.fetchrow("SELECT * FROM assessments WHERE assessment_id = $1", assessment)
    opened_at = datetime(2023, 10, 2, 1, 30, tzinfo=UTC)
    vid, other, seen_vid = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    # The verifier of `seen` had this violation in view: its derived answer kept it as a source.
    await pool.execute(
        """INSERT INTO assessment_answers (assessment_id, criterion_code, derived_met, derived_sources)
           VALUES ($1, 'TC2', false, $2)""",
        seen, [{"kind": "violation", "id": seen_vid, "label": "Vi phạm"}],
    )  # fmt: skip

    new = vpb.ViolationOpened(violation=violation(vid, unit, 1, vpb.VIOLATION_STATUS_NEW, opened_at))
    await deliver(pool, new)
    assert await pool.fetchval("SELECT count(*) FROM review_flags") == 0  # not confirmed: nothing to review

    for version, status in (
        (2, vpb.VIOLATION_STATUS_ACKNOWLEDGED),
        (3, vpb.VIOLATION_STATUS_IN_PROGRESS),
        (4, vpb.VIOLATION_STATUS_RESOLVED),
    ):
        await deliver(pool, vpb.ViolationUpdated(violation=violation(vid, unit, version, status, opened_at)))
    await deliver(pool, new)  # a replay of its opening changes nothing either
    # The same for the unit whose assessment is still open (its verifier sees it through derive), and for the
    # violation the finalised assessment already had in view (resolved after finalisation).
    for vid_, unit_, status in (
        (other, open_unit, vpb.VIOLATION_STATUS_IN_PROGRESS),
        (seen_vid, seen_unit, vpb.VIOLATION_STATUS_RESOLVED),
    ):
        await deliver(pool, vpb.ViolationUpdated(violation=violation(vid_, unit_, 4, status, opened_at)))

    flags = await pool.fetch("SELECT * FROM review_flags")
    assert [(f["assessment_id"], f["source_kind"], f["source_id"], f["resolved_at"]) for f in flags] == [
        (assessment, "violation", vid, None)
    ]
    reason = flags[0]["reason"]
    assert reason.startswith("Vi phạm nghiêm trọng được Công an xác nhận sau khi đánh giá đã hoàn tất")
    assert "CAM-00017" in reason
    after = await pool.fetchrow("SELECT * FROM assessments WHERE assessment_id = $1", assessment)
    assert before is not None
    assert after is not None
    assert dict(after) == dict(before)
    assert await pool.fetchval("SELECT status FROM assessments WHERE assessment_id = $1", draft) == "draft"
    assert (await derive(pool, open_unit, 2023))["TC2"] == (False, [f"violation:{other}"])
