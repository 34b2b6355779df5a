"""The review report end to end: records made through the registry's and the cameras' public APIs travel as
events into reporting's projections, and the report over gRPC and HTTP counts exactly them.

Own period (1950-1954, previous 1945-1949) and own district (007) so that no other test's data falls in.
"""

from __future__ import annotations

import asyncio
import random
import re
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import grpc
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from d07.cameras.v1 import cameras_pb2, cameras_pb2_grpc
from d07.common.v1 import common_pb2
from d07.registry.v1 import (
    forces_pb2,
    forces_pb2_grpc,
    models_pb2,
    models_pb2_grpc,
    registry_pb2,
    registry_pb2_grpc,
    training_pb2,
    training_pb2_grpc,
)
from d07.reporting.v1 import reporting_pb2, reporting_pb2_grpc
from tests.conftest import ROOT
from tests.support.services import Platform
from tests.support.waiting import eventually

FROM, TO = date(1950, 1, 1), date(1954, 12, 31)
DISTRICT = "007"
TOPICS = [
    "d07.registry.units.v1",
    "d07.registry.models.v1",
    "d07.registry.training.v1",
    "d07.cameras.cameras.v1",
    "d07.cameras.plans.v1",
]

# What the records made below must give in district 007: (value, previous).
EXPECTED = {
    "assessments.total": (0, 0),
    "assessments.passed": (0, 0),
    "models.total": (4, 1),
    "models.in_units": (1, 0),
    "models.in_communities": (3, 1),
    "training.classes": (2, 1),
    "training.attendances": (3, 0),
    "cameras.planned": (2, 1),
    "cameras.installed": (2, 0),
    "violations.opened": (0, 0),
    "violations.resolved": (0, 0),
    "violations.dismissed": (0, 0),
    "violations.overdue": (0, 0),
    "awards.merit.collective": (0, 0),
    "awards.merit.individual": (0, 0),
    "awards.commendation.collective": (0, 0),
    "awards.commendation.individual": (0, 0),
}


def d(value: date) -> common_pb2.Date:
    return common_pb2.Date(year=value.year, month=value.month, day=value.day)


def meta(platform: Platform, role: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {platform.token(role)}")]


class World:
    """The records of this module, made once through the public APIs."""

    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.ids: dict[str, set[str]] = {}


async def _make(platform: Platform) -> World:
    w = World()
    admin, police, dic = meta(platform, "admin"), meta(platform, "police"), meta(platform, "dic_operator")
    async with (
        grpc.aio.insecure_channel(platform["registry"].target) as reg,
        grpc.aio.insecure_channel(platform["cameras"].target) as cam,
    ):
        units = registry_pb2_grpc.RegistryServiceStub(reg)
        unit = (
            await units.CreateUnit(
                registry_pb2.CreateUnitRequest(
                    code=f"BC-{uuid.uuid4().hex[:8].upper()}",
                    name="Trường THPT Ngân Thủy",
                    kind=registry_pb2.UNIT_KIND_SCHOOL,
                    district_code=DISTRICT,
                ),
                metadata=admin,
                timeout=5,
            )
        ).unit.id

        models = models_pb2_grpc.ModelsServiceStub(reg)

        async def model(name: str, formed: date, *, unit_id: str = "", commune: str = "") -> models_pb2.Model:
            req = models_pb2.CreateModelRequest(
                name=name,
                kind="self_managed_team",
                formed_on=d(formed),
                formation=models_pb2.MODEL_FORMATION_BUILT,
            )
            if unit_id:
                req.unit.unit_id = unit_id
            else:
                req.community.commune_code = commune
            return (await models.CreateModel(req, metadata=admin, timeout=5)).model

        async def move(m: models_pb2.Model, status: int, on: date) -> models_pb2.Model:
            req = models_pb2.ChangeModelStatusRequest(
                id=m.id, version=m.version, status=status, changed_on=d(on)
            )
            return (await models.ChangeModelStatus(req, metadata=admin, timeout=5)).model

        m1 = await model("Tổ tự quản bảo vệ trường Ngân Thủy", date(1951, 3, 1), unit_id=unit)
        m2 = await model("Tổ tự quản thôn Bản Mới", date(1952, 5, 5), commune="00045")
        m3 = await model("Tổ tự quản thôn Nà Pài", date(1953, 7, 7), commune="00046")
        m4 = await model("Tổ tự quản thôn Khuổi Tẩu", date(1947, 1, 1), commune="00045")
        m4 = await move(m4, models_pb2.MODEL_STATUS_EFFECTIVE, date(1948, 1, 1))
        m4 = await move(m4, models_pb2.MODEL_STATUS_CONSOLIDATED, date(1953, 2, 2))  # counts in both periods
        m5 = await model("Tổ tự quản sau kỳ", date(1956, 1, 1), unit_id=unit)
        w.ids["models.total"] = {m1.id, m2.id, m3.id, m4.id}
        w.ids["models.in_units"] = {m1.id}

        forces = forces_pb2_grpc.ForcesServiceStub(reg)
        guards = [
            (
                await forces.RegisterGuard(
                    forces_pb2.RegisterGuardRequest(
                        unit_id=unit, full_name=n, birth_year=1930, position="Bảo vệ"
                    ),
                    metadata=admin,
                    timeout=5,
                )
            ).guard.id
            for n in ("Nông Văn Ba", "Hoàng Thị Cúc", "Lục Văn Dũng")
        ]
        training = training_pb2_grpc.TrainingServiceStub(reg)

        async def schedule(title: str, starts: date) -> training_pb2.TrainingClass:
            req = training_pb2.ScheduleClassRequest(
                title=title,
                organiser="Công an tỉnh",
                starts_on=d(starts),
                ends_on=d(starts),
                place="Hội trường",
                capacity=30,
                district_code=DISTRICT,
            )
            return (await training.ScheduleClass(req, metadata=police, timeout=5)).training_class

        c1 = await schedule("Lớp bồi dưỡng nghiệp vụ bảo vệ khóa I", date(1951, 9, 9))
        c2 = await schedule("Lớp bồi dưỡng nghiệp vụ bảo vệ khóa II", date(1953, 9, 9))
        c3 = await schedule("Lớp bị hoãn", date(1952, 9, 9))
        c4 = await schedule("Lớp kỳ trước", date(1948, 9, 9))
        enrolled = [
            (
                await training.EnrolGuard(
                    training_pb2.EnrolGuardRequest(class_id=c, guard_id=g), metadata=police, timeout=5
                )
            ).attendance.id
            for c, g in ((c1.id, guards[0]), (c1.id, guards[1]), (c2.id, guards[2]), (c3.id, guards[0]))
        ]
        await training.CancelClass(
            training_pb2.CancelClassRequest(id=c3.id, version=c3.version, reason="Hoãn"),
            metadata=police,
            timeout=5,
        )
        w.ids["training.classes"] = {c1.id, c2.id}
        w.ids["training.attendances"] = set(enrolled[:3])

        cameras = cameras_pb2_grpc.CamerasServiceStub(cam)

        async def camera(name: str, **fields: Any) -> cameras_pb2.Camera:
            for _ in range(20):
                try:
                    req = cameras_pb2.CreateCameraRequest(
                        code=f"CAM-{random.randint(0, 99_999):05d}",
                        name=name,
                        latitude=22.1,
                        longitude=105.9,
                        district_code=DISTRICT,
                        commune_code="00045",
                        **fields,
                    )
                    return (await cameras.CreateCamera(req, metadata=dic, timeout=10)).camera
                except grpc.aio.AioRpcError as exc:
                    if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
                        raise
            raise AssertionError("no free camera code")

        k1 = await camera(
            "Ngã ba Bản Mới", status=cameras_pb2.CAMERA_STATUS_PLANNED, planned_on=d(date(1951, 1, 1))
        )
        k2 = await camera(
            "Cổng trường Ngân Thủy",
            status=cameras_pb2.CAMERA_STATUS_INSTALLED,
            planned_on=d(date(1950, 6, 1)),
            installed_on=d(date(1952, 6, 1)),
        )
        k3 = await camera(
            "Chợ Nà Pài", status=cameras_pb2.CAMERA_STATUS_PLANNED, planned_on=d(date(1946, 1, 1))
        )
        # Installed later: a replayed registration (planned, not installed) must not undo it.
        await cameras.ChangeCameraStatus(
            cameras_pb2.ChangeCameraStatusRequest(
                id=k3.id,
                version=k3.version,
                status=cameras_pb2.CAMERA_STATUS_INSTALLED,
                effective_on=d(date(1953, 1, 1)),
            ),
            metadata=dic,
            timeout=10,
        )
        plan = (
            await cameras.CreateInstallationPlan(
                cameras_pb2.CreateInstallationPlanRequest(
                    name="Kế hoạch lắp camera huyện Ngân Thủy",
                    target=10,
                    starts_on=d(FROM),
                    deadline=d(TO),
                    district_targets=[cameras_pb2.DistrictTarget(district_code=DISTRICT, target=3)],
                ),
                metadata=dic,
                timeout=10,
            )
        ).plan
        w.ids["cameras.planned"] = {k1.id, k2.id}
        w.ids["cameras.installed"] = {k2.id, k3.id}
    w.keys = {
        unit,
        m1.id,
        m2.id,
        m3.id,
        m4.id,
        m5.id,
        c1.id,
        c2.id,
        c3.id,
        c4.id,
        k1.id,
        k2.id,
        k3.id,
        plan.id,
    }
    return w


@pytest.fixture(scope="module")
async def world(platform: Platform) -> World:
    return await _make(platform)


@pytest.fixture
async def http(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=platform["reporting"].url, timeout=10) as client:
        yield client


@pytest.fixture
async def stub(platform: Platform) -> AsyncIterator[reporting_pb2_grpc.ReportingServiceStub]:
    async with grpc.aio.insecure_channel(platform["reporting"].target) as ch:
        yield reporting_pb2_grpc.ReportingServiceStub(ch)


def flat(report: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """The issue's dotted keys of the HTTP report, read through its nesting."""
    out = {}
    for name in EXPECTED:
        node: Any = report
        for part in name.split("."):
            node = node[part]
        out[name] = (node["value"], node["previous"])
    return out


async def http_report(
    http: httpx.AsyncClient, platform: Platform, start: date, end: date, district: str = DISTRICT
) -> dict[str, Any]:
    params = {"from": start.isoformat(), "to": end.isoformat()}
    if district:
        params["district"] = district
    r = await http.get("/v1/reports/review", params=params, headers=platform.headers("chairman_office"))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def settled(http: httpx.AsyncClient, platform: Platform) -> dict[str, Any]:
    """The report once every event of the records has been projected (bounded wait)."""

    async def complete() -> dict[str, Any] | None:
        report = await http_report(http, platform, FROM, TO)
        return report if flat(report) == EXPECTED else None

    report: dict[str, Any] = await eventually(complete, within=60, interval=0.2, what="the report's figures")
    return report


async def test_the_report_counts_exactly_the_records_over_both_doors(
    world: World, platform: Platform, http: httpx.AsyncClient, stub: reporting_pb2_grpc.ReportingServiceStub
) -> None:
    report = await settled(http, platform)
    assert (report["from"], report["to"]) == ("1950-01-01", "1954-12-31")
    assert (report["previous_from"], report["previous_to"]) == ("1945-01-01", "1949-12-31")
    assert report["cameras"]["planned"]["target"] == 3
    assert report["cameras"]["installed"]["target"] == 3
    assert "target" not in report["models"]["total"]

    reply = await stub.GetReviewReport(
        reporting_pb2.GetReviewReportRequest(from_date=d(FROM), to_date=d(TO), district_code=DISTRICT),
        metadata=meta(platform, "auditor"),
        timeout=5,
    )
    over_grpc = {f.name: (f.value, f.previous) for f in reply.figures}
    assert {k: over_grpc[k] for k in EXPECTED} == EXPECTED
    targets = {f.name: f.target for f in reply.figures if f.HasField("target")}
    assert targets == {"cameras.planned": 3, "cameras.installed": 3}
    assert (reply.previous_from_date.year, reply.previous_to_date.year) == (1945, 1949)

    # The province holds the district.
    province = flat(await http_report(http, platform, FROM, TO, district=""))
    assert all(province[k][0] >= v[0] for k, v in EXPECTED.items())


async def test_a_figures_drill_down_returns_as_many_records_as_it_says(
    world: World, platform: Platform, http: httpx.AsyncClient, stub: reporting_pb2_grpc.ReportingServiceStub
) -> None:
    await settled(http, platform)
    for figure, ids in world.ids.items():
        # HTTP, one record a page, following the tokens.
        seen: list[str] = []
        token = ""
        while True:
            r = await http.get(
                "/v1/reports/review/records",
                params={
                    "figure": figure,
                    "from": FROM.isoformat(),
                    "to": TO.isoformat(),
                    "district": DISTRICT,
                    "page_size": 1,
                    "page_token": token,
                },
                headers=platform.headers("police"),
            )
            assert r.status_code == 200, r.text
            body = r.json()
            seen += [rec["id"] for rec in body["records"]]
            assert all(rec["label"] for rec in body["records"])
            token = body["next_page_token"]
            if not token:
                break
        assert len(seen) == EXPECTED[figure][0] == len(ids)
        assert set(seen) == ids
        # gRPC, one page.
        reply = await stub.ListFigureRecords(
            reporting_pb2.ListFigureRecordsRequest(
                figure=figure, from_date=d(FROM), to_date=d(TO), district_code=DISTRICT
            ),
            metadata=meta(platform, "service"),
            timeout=5,
        )
        assert {rec.id for rec in reply.records} == ids
        assert reply.page.next_page_token == ""


async def test_an_empty_period_gives_zeros_and_from_after_to_is_refused(
    platform: Platform, http: httpx.AsyncClient, stub: reporting_pb2_grpc.ReportingServiceStub
) -> None:
    empty = await http_report(http, platform, date(1900, 1, 1), date(1900, 12, 31), district="")
    assert set(flat(empty).values()) == {(0, 0)}
    reply = await stub.GetReviewReport(
        reporting_pb2.GetReviewReportRequest(from_date=d(date(1900, 1, 1)), to_date=d(date(1900, 12, 31))),
        metadata=meta(platform, "admin"),
        timeout=5,
    )
    assert len(reply.figures) >= len(EXPECTED)
    assert all(f.value == 0 and f.previous == 0 for f in reply.figures)
    empty_records = await stub.ListFigureRecords(
        reporting_pb2.ListFigureRecordsRequest(
            figure="models.total", from_date=d(date(1900, 1, 1)), to_date=d(date(1900, 12, 31))
        ),
        metadata=meta(platform, "admin"),
        timeout=5,
    )
    assert list(empty_records.records) == []

    r = await http.get(
        "/v1/reports/review",
        params={"from": "2019-08-30", "to": "2019-08-29"},
        headers=platform.headers("admin"),
    )
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "invalid_period"
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetReviewReport(
            reporting_pb2.GetReviewReportRequest(
                from_date=d(date(2019, 8, 30)), to_date=d(date(2019, 8, 29))
            ),
            metadata=meta(platform, "admin"),
            timeout=5,
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    r = await http.get(
        "/v1/reports/review/records",
        params={"figure": "nope", "from": "2019-01-01", "to": "2019-01-02"},
        headers=platform.headers("admin"),
    )
    assert r.status_code == 400, r.text


async def test_roles_outside_the_readers_are_refused(platform: Platform, http: httpx.AsyncClient) -> None:
    params = {"from": "2019-01-01", "to": "2019-01-02"}
    r = await http.get("/v1/reports/review", params=params, headers=platform.headers("dic_operator"))
    assert r.status_code == 403, r.text
    r = await http.get("/v1/reports/review", params=params)
    assert r.status_code == 401, r.text


async def _events_of(bootstrap: str, keys: set[str]) -> list[Any]:
    """Every record of the topics whose key is one of `keys`, read from the start without a group."""
    consumer = AIOKafkaConsumer(
        *TOPICS,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        found: list[Any] = []

        def keep(batches: dict[Any, list[Any]]) -> None:
            for records in batches.values():
                found.extend(r for r in records if r.key is not None and r.key.decode() in keys)

        while not consumer.assignment():
            keep(await consumer.getmany(timeout_ms=200))
        ends = await consumer.end_offsets(list(consumer.assignment()))

        async def behind() -> bool:
            return any([await consumer.position(tp) < end for tp, end in ends.items()])

        while await behind():
            keep(await consumer.getmany(timeout_ms=500))
        return found
    finally:
        await consumer.stop()


def event_id(record: Any) -> uuid.UUID:
    return uuid.UUID(dict(record.headers)["ce_id"].decode())


async def test_replaying_the_events_changes_no_figure(
    world: World, platform: Platform, http: httpx.AsyncClient
) -> None:
    before = await settled(http, platform)
    records = sorted(
        await _events_of(platform.bootstrap, world.keys), key=lambda r: (r.topic, r.partition, r.offset)
    )
    assert len(records) == 22  # 1 unit, 7 model, 9 training, 4 camera and 1 plan events
    # The first event of each entity: the oldest state (a registered camera not installed yet, a class not
    # cancelled yet, a model not consolidated yet).
    first: dict[tuple[str, bytes], Any] = {}
    for r in records:
        first.setdefault((r.topic, r.key), r)
    stale = list(first.values())
    stale_ids = [event_id(r) for r in stale]

    conn = await asyncpg.connect(platform.database_url)
    producer = AIOKafkaProducer(bootstrap_servers=platform.bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        # Redelivery: every event once more, each meets the inbox.
        for r in records:
            await producer.send_and_wait(r.topic, r.value, key=r.key, headers=list(r.headers))
        # A late replay of the oldest states past the inbox: the version guards keep the newer ones. Same
        # keys, so these are handled after the redelivered copies above.
        await conn.execute("DELETE FROM reporting.inbox WHERE event_id = ANY($1::uuid[])", stale_ids)
        for r in stale:
            await producer.send_and_wait(r.topic, r.value, key=r.key, headers=list(r.headers))

        async def handled() -> bool:
            count = await conn.fetchval(
                "SELECT count(DISTINCT event_id) FROM reporting.inbox WHERE event_id = ANY($1::uuid[])",
                stale_ids,
            )
            return bool(count == len(stale_ids))

        await eventually(handled, within=60, interval=0.2, what="the stale events handled")
    finally:
        await producer.stop()
        await conn.close()
    assert await http_report(http, platform, FROM, TO) == before


async def _reports(
    http: httpx.AsyncClient, stub: reporting_pb2_grpc.ReportingServiceStub, platform: Platform
) -> dict[str, Any]:
    """What a rebuild must give back: this module's report, the province's, the other modules' scopes (without
    the rates of a period that runs to now), and the read models' sizes."""
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    day = timedelta(days=1)
    around_now = await http_report(http, platform, today - day, today + day, "005")
    around_now["cameras"].pop("uptime")  # it runs to now (the time installed grows): not comparable
    status = await stub.GetProjectionStatus(
        reporting_pb2.GetProjectionStatusRequest(), metadata=meta(platform, "admin"), timeout=10
    )
    return {
        "007": await http_report(http, platform, FROM, TO),
        "province": await http_report(http, platform, FROM, TO, district=""),
        "008 in March 1962": await http_report(http, platform, date(1962, 3, 5), date(1962, 3, 11), "008"),
        "005 around now": around_now,
        "sizes": (status.units, status.cameras, status.violations),
    }


async def test_a_rebuild_beside_the_running_service_gives_the_same_report(
    world: World, platform: Platform, http: httpx.AsyncClient, stub: reporting_pb2_grpc.ReportingServiceStub
) -> None:
    """`python -m reporting rebuild` (after the replayed events above, with the platform's reporting process
    consuming all the while) empties the read models, replays every topic from the start and exits; the
    report is the same as before."""
    await settled(http, platform)
    before = await _reports(http, stub, platform)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "reporting", "rebuild",
        cwd=ROOT, env=platform.env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 240)
    finally:
        if proc.returncode is None:
            proc.kill()
    text = out.decode()
    assert proc.returncode == 0, text
    assert "emptied 12 read-model tables" in text
    for topic in TOPICS:
        line = rf"^{re.escape(topic)}: [1-9]\d* events from \d+ partitions"
        assert re.search(line, text, re.MULTILINE), text
    assert re.search(r"^rebuilt: \d+ events in [\d.]+ s$", text, re.MULTILINE), text
    after = await _reports(http, stub, platform)
    assert after == before
