"""Training classes and attendance through both doors of the registry as a process: schedule, enrol,
duplicates, capacity, completion, figures counted from the records, object-level authorisation, versions,
events on d07.registry.training.v1 and the audit trail."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Awaitable
from datetime import date, timedelta
from typing import Any

import asyncpg
import grpc
import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from d07.common.v1 import common_pb2
from d07.platform.grpc import status_details
from d07.registry.v1 import forces_pb2, forces_pb2_grpc, training_pb2, training_pb2_grpc
from tests.support.services import Platform
from tests.support.waiting import eventually

TOPIC = "d07.registry.training.v1"
ORGANISER = "Phòng Cảnh sát quản lý hành chính về trật tự xã hội - Công an tỉnh"
# Every test works in years of its own, so the figures of one test never count another's classes (the
# session's database is shared by every test of the session, the demo data's included).
YEARS = iter(random.sample(range(2200, 2900), 40))


def pb_date(value: date) -> common_pb2.Date:
    return common_pb2.Date(year=value.year, month=value.month, day=value.day)


class Registry:
    """Both doors of the registry for one test, with a token per role."""

    def __init__(self, platform: Platform, channel: grpc.aio.Channel, http: httpx.AsyncClient) -> None:
        self.platform = platform
        self.training = training_pb2_grpc.TrainingServiceStub(channel)
        self.forces = forces_pb2_grpc.ForcesServiceStub(channel)
        self.http = http

    def meta(self, role: str, **kw: str) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {self.platform.token(role, **kw)}")]

    def headers(self, role: str, **kw: str) -> dict[str, str]:
        return self.platform.headers(role, **kw)

    async def unit(self, name: str) -> str:
        r = await self.http.post(
            "/v1/units",
            json={"code": f"U-{uuid.uuid4().hex[:8].upper()}", "name": name, "kind": "enterprise",
                  "district_code": "003"},
            headers=self.headers("admin"),
        )  # fmt: skip
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    async def guard(self, unit_id: str, full_name: str, *, left: bool = False) -> str:
        """A guard registered through the forces API (and marked as left when asked)."""
        reply = await self.forces.RegisterGuard(
            forces_pb2.RegisterGuardRequest(unit_id=unit_id, full_name=full_name, birth_year=1985,
                                            position="Bảo vệ"),
            metadata=self.meta("admin"), timeout=5,
        )  # fmt: skip
        if left:
            await self.forces.MarkGuardLeft(
                forces_pb2.MarkGuardLeftRequest(
                    id=reply.guard.id,
                    version=reply.guard.version,
                    left_on=pb_date(date.today() - timedelta(days=1)),
                ),
                metadata=self.meta("admin"), timeout=5,
            )  # fmt: skip
        return str(reply.guard.id)

    async def schedule(
        self, title: str, *, year: int, month: int = 9, capacity: int = 30, district: str = "003"
    ) -> training_pb2.TrainingClass:
        reply = await self.training.ScheduleClass(
            training_pb2.ScheduleClassRequest(
                title=title, organiser=ORGANISER, starts_on=pb_date(date(year, month, 9)),
                ends_on=pb_date(date(year, month, 13)), place="Hội trường Công an tỉnh", capacity=capacity,
                district_code=district,
            ),
            metadata=self.meta("police"), timeout=5,
        )  # fmt: skip
        cls: training_pb2.TrainingClass = reply.training_class
        return cls


@pytest.fixture
async def reg(platform: Platform) -> AsyncIterator[Registry]:
    async with (
        grpc.aio.insecure_channel(platform["registry"].target) as channel,
        httpx.AsyncClient(base_url=platform["registry"].url, timeout=10) as http,
    ):
        yield Registry(platform, channel, http)


async def rpc_error(call: Awaitable[Any]) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    return err.value


async def all_pages(fetch: Any, request: Any, items: str) -> list[Any]:
    """Every item of a list RPC, following next_page_token."""
    found: list[Any] = []
    while True:
        reply = await fetch(request)
        found += list(getattr(reply, items))
        if not reply.page.next_page_token:
            return found
        request.page.page_token = reply.page.next_page_token


async def test_schedule_enrol_duplicate_capacity_completion_and_figures_from_records(reg: Registry) -> None:
    year = next(YEARS)
    unit = await reg.unit("Công ty Cổ phần Xi măng Bạch Sơn")
    g1, g2, g3, g4 = [
        await reg.guard(unit, n) for n in ("Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung")
    ]
    gone = await reg.guard(unit, "Hoàng Văn Em", left=True)
    c1 = await reg.schedule("Lớp bồi dưỡng nghiệp vụ bảo vệ khóa I", year=year, capacity=3)
    c2 = await reg.schedule("Lớp bồi dưỡng nghiệp vụ bảo vệ khóa II", year=year, district="004")
    c3 = await reg.schedule("Lớp bồi dưỡng nghiệp vụ bảo vệ khóa III", year=year)
    outside = await reg.schedule("Lớp bồi dưỡng năm sau", year=year + 1)
    assert (c1.status, c1.version, c1.enrolled) == (training_pb2.CLASS_STATUS_SCHEDULED, 1, 0)
    police = reg.meta("police")

    # Enrol: one over gRPC, two in one batch over HTTP.
    one = await reg.training.EnrolGuard(
        training_pb2.EnrolGuardRequest(class_id=c1.id, guard_id=g1), metadata=police, timeout=5
    )
    assert (one.attendance.guard_full_name, one.attendance.outcome) == (
        "Nguyễn Văn An", training_pb2.ATTENDANCE_OUTCOME_PENDING
    )  # fmt: skip
    r = await reg.http.post(
        f"/v1/training/classes/{c1.id}/attendances/batch", json={"guard_ids": [g2, g3]},
        headers=reg.headers("admin"),
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert [a["guard_full_name"] for a in r.json()["items"]] == ["Trần Thị Bình", "Lê Văn Cường"]

    # The same guard twice in a class: ALREADY_EXISTS / 409.
    err = await rpc_error(
        reg.training.EnrolGuard(training_pb2.EnrolGuardRequest(class_id=c1.id, guard_id=g1), metadata=police)
    )
    assert (err.code(), status_details(err)["reason"]) == (grpc.StatusCode.ALREADY_EXISTS, "already_enrolled")
    r = await reg.http.post(
        f"/v1/training/classes/{c1.id}/attendances", json={"guard_id": g1}, headers=reg.headers("police")
    )
    assert (r.status_code, r.json()["code"]) == (409, "already_enrolled")

    # Above capacity: FAILED_PRECONDITION / 409.
    err = await rpc_error(
        reg.training.EnrolGuard(training_pb2.EnrolGuardRequest(class_id=c1.id, guard_id=g4), metadata=police)
    )
    assert (err.code(), status_details(err)["reason"]) == (grpc.StatusCode.FAILED_PRECONDITION, "class_full")
    r = await reg.http.post(
        f"/v1/training/classes/{c1.id}/attendances", json={"guard_id": g4}, headers=reg.headers("police")
    )
    assert (r.status_code, r.json()["code"]) == (409, "class_full")

    # A guard who left cannot be enrolled, and a batch with one such guard enrols nobody.
    err = await rpc_error(
        reg.training.BatchEnrolGuards(
            training_pb2.BatchEnrolGuardsRequest(class_id=c2.id, guard_ids=[g4, gone]), metadata=police
        )
    )
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert [v["field"] for v in status_details(err)["field_violations"]] == ["guard_ids[1]"]
    got = await reg.training.GetClass(training_pb2.GetClassRequest(id=c2.id), metadata=police)
    assert got.training_class.enrolled == 0
    batch = await reg.training.BatchEnrolGuards(
        training_pb2.BatchEnrolGuardsRequest(class_id=c2.id, guard_ids=[g1, g4]), metadata=police, timeout=5
    )
    assert len(batch.attendances) == 2
    await reg.training.EnrolGuard(
        training_pb2.EnrolGuardRequest(class_id=c3.id, guard_id=g2), metadata=police
    )
    await reg.training.EnrolGuard(
        training_pb2.EnrolGuardRequest(class_id=outside.id, guard_id=g3), metadata=police
    )

    # Completions: over gRPC and HTTP; a stale attendance version is ABORTED / 409.
    done = await reg.training.RecordCompletion(
        training_pb2.RecordCompletionRequest(class_id=c1.id, guard_id=g1, version=1, completed=True,
                                             result="Đạt loại giỏi"),
        metadata=police, timeout=5,
    )  # fmt: skip
    assert (done.attendance.outcome, done.attendance.version) == (
        training_pb2.ATTENDANCE_OUTCOME_COMPLETED,
        2,
    )
    assert done.attendance.HasField("completion_recorded_at")
    r = await reg.http.put(
        f"/v1/training/classes/{c1.id}/attendances/{g2}/completion",
        json={"version": 1, "completed": False, "result": "Vắng quá số buổi quy định"},
        headers=reg.headers("admin"),
    )
    assert (r.status_code, r.json()["outcome"]) == (200, "not_completed"), r.text
    err = await rpc_error(
        reg.training.RecordCompletion(
            training_pb2.RecordCompletionRequest(class_id=c1.id, guard_id=g3, version=7, completed=True),
            metadata=police,
        )
    )
    assert err.code() == grpc.StatusCode.ABORTED
    await reg.training.RecordCompletion(
        training_pb2.RecordCompletionRequest(class_id=c2.id, guard_id=g4, version=1, completed=True),
        metadata=police,
    )
    cancelled = await reg.training.CancelClass(
        training_pb2.CancelClassRequest(id=c3.id, version=1, reason="Hoãn do mưa lũ"), metadata=police
    )
    assert cancelled.training_class.status == training_pb2.CLASS_STATUS_CANCELLED

    # The figures of the year: C1 and C2 (C3 cancelled, the other class next year).
    start, end = pb_date(date(year, 1, 1)), pb_date(date(year, 12, 31))
    figures = await reg.training.GetTrainingFigures(
        training_pb2.GetTrainingFiguresRequest(from_date=start, to_date=end),
        metadata=reg.meta("auditor"),
        timeout=5,
    )
    assert (figures.classes, figures.attendances, figures.completed_attendances) == (2, 5, 2)
    assert (figures.guards_attended, figures.guards_completed) == (4, 2)

    # ... and they are the records the lists give with the same filters (pages of 1 and 2: the cursor).
    counted = [training_pb2.CLASS_STATUS_SCHEDULED, training_pb2.CLASS_STATUS_HELD]
    auditor = reg.meta("auditor")
    classes = await all_pages(
        lambda q: reg.training.ListClasses(q, metadata=auditor, timeout=5),
        training_pb2.ListClassesRequest(
            from_date=start, to_date=end, statuses=counted, page=common_pb2.PageRequest(page_size=1)
        ),
        "training_classes",
    )
    attendances = await all_pages(
        lambda q: reg.training.ListAttendances(q, metadata=auditor, timeout=5),
        training_pb2.ListAttendancesRequest(from_date=start, to_date=end, class_statuses=counted,
                                            page=common_pb2.PageRequest(page_size=2)),
        "attendances",
    )  # fmt: skip
    completed = [a for a in attendances if a.outcome == training_pb2.ATTENDANCE_OUTCOME_COMPLETED]
    assert sorted(c.id for c in classes) == sorted([c1.id, c2.id])
    assert figures.classes == len(classes)
    assert figures.attendances == len(attendances) == len({a.id for a in attendances})
    assert figures.completed_attendances == len(completed)
    assert figures.guards_attended == len({a.guard_id for a in attendances})
    assert figures.guards_completed == len({a.guard_id for a in completed})

    # The same over HTTP, with a district filter.
    r = await reg.http.get(
        "/v1/training/figures",
        params={"from": f"{year}-01-01", "to": f"{year}-12-31", "district_code": "003"},
        headers=reg.headers("police"),
    )  # fmt: skip
    assert r.json() == {
        "classes": 1, "attendances": 3, "completed_attendances": 1, "guards_attended": 3,
        "guards_completed": 1,
    }  # fmt: skip
    r = await reg.http.get(
        "/v1/training/attendances",
        params={"from": f"{year}-01-01", "to": f"{year}-12-31", "district_code": "003",
                "class_status": ["scheduled", "held"], "outcome": "completed"},
        headers=reg.headers("police"),
    )  # fmt: skip
    assert [a["guard_id"] for a in r.json()["items"]] == [g1]
    r = await reg.http.get(
        "/v1/training/attendances", params={"guard_id": g1}, headers=reg.headers("auditor")
    )
    assert sorted(a["class_id"] for a in r.json()["items"]) == sorted([c1.id, c2.id])


async def test_a_unit_officer_enrols_only_its_own_units_guards(reg: Registry, platform: Platform) -> None:
    year = next(YEARS)
    mine, other = await reg.unit("Trường THPT Chợ Đồng"), await reg.unit("Bệnh viện Đa khoa Chợ Mới")
    own_guard = await reg.guard(mine, "Đỗ Văn Giang")
    their_guard = await reg.guard(other, "Vũ Thị Hạnh")
    cls = await reg.schedule("Lớp bồi dưỡng nghiệp vụ bảo vệ trường học", year=year)
    officer = reg.meta("unit_officer", unit_id=mine, subject="can-bo-thpt-cho-dong")

    err = await rpc_error(
        reg.training.EnrolGuard(
            training_pb2.EnrolGuardRequest(class_id=cls.id, guard_id=their_guard), metadata=officer
        )
    )
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    r = await reg.http.post(
        f"/v1/training/classes/{cls.id}/attendances/batch", json={"guard_ids": [own_guard, their_guard]},
        headers=reg.headers("unit_officer", unit_id=mine),
    )  # fmt: skip
    assert r.status_code == 403
    r = await reg.http.post(
        f"/v1/training/classes/{cls.id}/attendances", json={"guard_id": own_guard},
        headers=reg.headers("unit_officer", unit_id=mine),
    )  # fmt: skip
    assert r.status_code == 201, r.text
    # The batch that was refused left nothing behind: only the guard enrolled afterwards.
    await reg.training.EnrolGuard(
        training_pb2.EnrolGuardRequest(class_id=cls.id, guard_id=their_guard), metadata=reg.meta("police")
    )

    # The officer sees the class, but of its attendances only its own unit's; another unit's guard is denied.
    got = await reg.training.GetClass(training_pb2.GetClassRequest(id=cls.id), metadata=officer)
    assert got.training_class.enrolled == 2
    seen = await reg.training.ListAttendances(
        training_pb2.ListAttendancesRequest(class_id=cls.id), metadata=officer
    )
    assert [a.guard_id for a in seen.attendances] == [own_guard]
    err = await rpc_error(
        reg.training.ListAttendances(
            training_pb2.ListAttendancesRequest(guard_id=their_guard), metadata=officer
        )
    )
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED

    # Organising is for admin and police; the auditor reads only.
    err = await rpc_error(
        reg.training.UpdateClass(
            training_pb2.UpdateClassRequest(id=cls.id, version=1, place="Nhà văn hóa"), metadata=officer
        )
    )
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    err = await rpc_error(
        reg.training.RecordCompletion(
            training_pb2.RecordCompletionRequest(
                class_id=cls.id, guard_id=own_guard, version=1, completed=True
            ),
            metadata=reg.meta("auditor"),
        )
    )
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED
    r = await reg.http.post(
        "/v1/training/classes",
        json={"title": "Lớp tự mở", "organiser": "Trường THPT Chợ Đồng", "starts_on": f"{year}-10-01",
              "ends_on": f"{year}-10-02", "capacity": 10, "district_code": "004"},
        headers=reg.headers("unit_officer", unit_id=mine),
    )  # fmt: skip
    assert r.status_code == 403

    # The denied attempts are logged by the process.
    log = platform["registry"].log
    assert log is not None
    assert "can-bo-thpt-cho-dong" in "".join(
        line for line in log.read_text(encoding="utf-8").splitlines() if "permission_denied" in line.lower()
    )


async def test_a_stale_version_is_aborted_over_grpc_and_409_over_http(reg: Registry) -> None:
    year = next(YEARS)
    tag = uuid.uuid4().hex[:6]
    cls = await reg.schedule(f"Lớp Bồi Dưỡng Nghiệp Vụ Bảo Vệ Doanh Nghiệp FDI {tag}", year=year)
    r = await reg.http.patch(
        f"/v1/training/classes/{cls.id}", json={"version": 1, "capacity": 45, "status": "held"},
        headers=reg.headers("admin"),
    )  # fmt: skip
    assert (r.status_code, r.json()["version"], r.json()["capacity"], r.json()["status"]) == (
        200,
        2,
        45,
        "held",
    )
    err = await rpc_error(
        reg.training.UpdateClass(
            training_pb2.UpdateClassRequest(id=cls.id, version=1, place="Nhà văn hóa"),
            metadata=reg.meta("police"),
        )
    )
    assert (err.code(), status_details(err)["reason"]) == (grpc.StatusCode.ABORTED, "stale_version")
    r = await reg.http.patch(
        f"/v1/training/classes/{cls.id}",
        json={"version": 1, "place": "Nhà văn hóa"},
        headers=reg.headers("admin"),
    )
    assert (r.status_code, r.json()["code"]) == (409, "stale_version")
    r = await reg.http.post(
        f"/v1/training/classes/{cls.id}/cancel",
        json={"version": 1, "reason": "Hoãn"},
        headers=reg.headers("admin"),
    )
    assert (r.status_code, r.json()["code"]) == (409, "stale_version")

    # The title is found without case or diacritics.
    found = await reg.training.ListClasses(
        training_pb2.ListClassesRequest(q=f"boi duong nghiep vu bao ve doanh nghiep fdi {tag.upper()}"),
        metadata=reg.meta("unit_officer", unit_id=str(uuid.uuid4())),
    )
    assert [(c.id, c.version, c.place) for c in found.training_classes] == [(cls.id, 2, cls.place)]
    # An unknown district is refused with the field named.
    err = await rpc_error(
        reg.training.UpdateClass(
            training_pb2.UpdateClassRequest(id=cls.id, version=2, district_code="999"),
            metadata=reg.meta("police"),
        )
    )
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v["field"] for v in status_details(err)["field_violations"]] == ["district_code"]


async def test_every_change_reaches_the_topic_keyed_by_class_and_is_audited(
    reg: Registry, platform: Platform
) -> None:
    year = next(YEARS)
    unit = await reg.unit("Công ty TNHH Điện lực Na Lư")
    guard = await reg.guard(unit, "Ngô Văn Khánh")
    cls = await reg.schedule("Lớp bồi dưỡng nghiệp vụ bảo vệ ngành điện", year=year)
    police = reg.meta("police")
    await reg.training.UpdateClass(
        training_pb2.UpdateClassRequest(id=cls.id, version=1, status=training_pb2.CLASS_STATUS_HELD),
        metadata=police,
    )
    await reg.training.EnrolGuard(
        training_pb2.EnrolGuardRequest(class_id=cls.id, guard_id=guard), metadata=police
    )
    await reg.training.RecordCompletion(
        training_pb2.RecordCompletionRequest(class_id=cls.id, guard_id=guard, version=1, completed=True),
        metadata=police,
    )
    expected = [
        "d07.registry.v1.ClassScheduled", "d07.registry.v1.ClassUpdated",
        "d07.registry.v1.AttendanceEnrolled", "d07.registry.v1.AttendanceCompletionRecorded",
    ]  # fmt: skip

    consumer = AIOKafkaConsumer(TOPIC, bootstrap_servers=platform.bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    seen: list[tuple[str, bytes]] = []

    async def read_more() -> list[tuple[str, bytes]]:
        for records in (await consumer.getmany(timeout_ms=500)).values():
            for rec in records:
                if rec.key == cls.id.encode():
                    headers = {k: v for k, v in rec.headers}
                    seen.append((headers["ce_type"].decode(), rec.value))
        return seen

    try:
        await eventually(
            read_more,
            until=lambda s: len(s) >= len(expected),
            within=60,
            interval=0,
            what="the class's events",
        )
    finally:
        await consumer.stop()
    assert [t for t, _ in seen] == expected  # one key, one partition: in the order of the changes
    completion = training_pb2.AttendanceCompletionRecorded.FromString(seen[-1][1])
    assert (completion.attendance.guard_full_name, completion.actor.subject) == (
        "Ngô Văn Khánh",
        "test-police",
    )

    conn = await asyncpg.connect(platform.database_url)
    try:
        rows = await conn.fetch(
            """SELECT action, actor, unit_id FROM registry.audit_log
                WHERE object_id = $1 OR details->>'class_id' = $1 ORDER BY id""",
            cls.id,
        )
    finally:
        await conn.close()
    assert [(r["action"], r["actor"]) for r in rows] == [
        ("training_class.schedule", "test-police"), ("training_class.update", "test-police"),
        ("training_attendance.enrol", "test-police"), ("training_attendance.complete", "test-police"),
    ]  # fmt: skip
    assert str(rows[-1]["unit_id"]) == unit
