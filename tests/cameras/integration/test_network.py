"""The camera network through both doors of the running service: cameras created, changed, listed and
searched; the installation plan's progress against the records; health (offline after the test platform's
3 s of silence, online again after a heartbeat, each transition once on the topic); roles; the audit trail."""

from __future__ import annotations

import asyncio
import random
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import grpc
import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from cameras.network import service
from cameras.network.domain import VN
from cameras.network.service import NetworkUnitOfWork
from d07.cameras.v1 import cameras_pb2 as pb
from d07.cameras.v1 import cameras_pb2_grpc as pb_grpc
from d07.common.v1 import common_pb2
from d07.platform import db
from d07.platform.events.envelope import decode_record, message_registry
from tests.support.services import Platform
from tests.support.waiting import eventually

TOPIC = "d07.cameras.cameras.v1"
EVENTS = message_registry([pb.CameraRegistered, pb.CameraUpdated, pb.CameraWentOffline, pb.CameraCameOnline])


def cam_code() -> str:
    return f"CAM-{random.randint(0, 99_999):05d}"


def meta(platform: Platform, role: str, **kw: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {platform.token(role, **kw)}")]


@pytest.fixture
async def stub(platform: Platform) -> AsyncIterator[pb_grpc.CamerasServiceStub]:
    async with grpc.aio.insecure_channel(platform["cameras"].target) as channel:
        yield pb_grpc.CamerasServiceStub(channel)


@pytest.fixture
async def http(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=platform["cameras"].url, timeout=10) as client:
        yield client


async def new_unit(platform: Platform, name: str) -> str:
    async with httpx.AsyncClient() as client:
        r = await client.post(
            f"{platform['registry'].url}/v1/units",
            json={
                "code": f"U-{uuid.uuid4().hex[:8].upper()}",
                "name": name,
                "kind": "school",
                "district_code": "001",
                "commune_code": "00001",
            },
            headers=platform.headers("admin"),
        )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def create(
    stub: pb_grpc.CamerasServiceStub, platform: Platform, *, name: str, **fields: object
) -> pb.Camera:
    """A camera with a code not taken yet (codes are random: other tests share the database)."""
    for _ in range(20):
        try:
            reply = await stub.CreateCamera(
                pb.CreateCameraRequest(
                    code=cam_code(), name=name, latitude=13.77, longitude=109.22, **fields
                ),
                metadata=meta(platform, "dic_operator"),
                timeout=10,
            )
            return reply.camera
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise
    raise AssertionError("no free camera code")


async def all_cameras(
    http: httpx.AsyncClient, platform: Platform, **params: object
) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    token = ""
    while True:
        r = await http.get(
            "/v1/cameras",
            params={**params, "page_size": 500, "page_token": token},
            headers=platform.headers("auditor"),
        )
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        token = r.json()["next_page_token"]
        if not token:
            return items


async def test_create_update_list_and_search_through_both_doors(
    platform: Platform, stub: pb_grpc.CamerasServiceStub, http: httpx.AsyncClient
) -> None:
    unit_id = await new_unit(platform, "Trường THPT Đồng Khởi")
    word = uuid.uuid4().hex[:6]
    cam = await create(
        stub,
        platform,
        name=f"Cổng chính Trường THPT Đồng Khởi {word}",
        unit_id=unit_id,
        commune_code="00001",  # the district comes from the registry's divisions
        agency="Sở Thông tin và Truyền thông",
        status=pb.CAMERA_STATUS_INSTALLED,
    )
    assert (cam.district_code, cam.commune_code, cam.status) == ("001", "00001", pb.CAMERA_STATUS_INSTALLED)
    assert cam.installed_on.year >= 2024

    r = await http.post(
        "/v1/cameras",
        json={
            "code": cam_code(),
            "name": f"Ngã tư Hùng Vương {word}",
            "latitude": 13.78,
            "longitude": 109.21,
            "district_code": "001",
            "commune_code": "00002",
        },
        headers=platform.headers("admin"),
    )
    assert r.status_code == 201, r.text
    second = r.json()
    assert second["status"] == "planned"
    assert second["planned_on"] is not None

    # Update over HTTP with the version read; the stale version is refused at both doors.
    r = await http.put(
        f"/v1/cameras/{cam.id}",
        json={
            "version": cam.version,
            "name": f"Cổng phụ Trường THPT Đồng Khởi {word}",
            "latitude": 13.7,
            "longitude": 109.2,
            "district_code": "001",
            "commune_code": "00003",
            "unit_id": unit_id,
            "agency": "Viễn thông tỉnh",
        },
        headers=platform.headers("dic_operator"),
    )
    assert r.status_code == 200, r.text
    assert (r.json()["version"], r.json()["commune_code"], r.json()["agency"]) == (
        cam.version + 1,
        "00003",
        "Viễn thông tỉnh",
    )
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.UpdateCamera(
            pb.UpdateCameraRequest(id=cam.id, version=cam.version, name="x", latitude=13.7, longitude=109.2),
            metadata=meta(platform, "dic_operator"),
            timeout=5,
        )
    assert err.value.code() == grpc.StatusCode.ABORTED

    # Places are the registry's: an unknown commune is named.
    r = await http.post(
        "/v1/cameras",
        json={"code": cam_code(), "name": "x", "latitude": 13.7, "longitude": 109.2, "commune_code": "99999"},
        headers=platform.headers("dic_operator"),
    )
    assert r.status_code in (400, 422), r.text
    assert "commune_code" in r.text

    # Search ignores case and diacritics, on both doors; filters combine.
    found = await all_cameras(http, platform, q=f"CONG PHU truong dong khoi {word}")
    assert [c["id"] for c in found] == [cam.id]
    listed = await stub.ListCameras(
        pb.ListCamerasRequest(query=f"hung vuong {word}"), metadata=meta(platform, "police"), timeout=5
    )
    assert [c.id for c in listed.cameras] == [second["id"]]
    by_unit = await stub.ListCameras(
        pb.ListCamerasRequest(unit_id=unit_id, status=pb.CAMERA_STATUS_INSTALLED),
        metadata=meta(platform, "police"),
        timeout=5,
    )
    assert [c.id for c in by_unit.cameras] == [cam.id]
    assert [c["id"] for c in await all_cameras(http, platform, q=word, status="planned")] == [second["id"]]

    # Pages of one camera each walk the whole result, in code order, each camera once.
    seen: list[str] = []
    token = ""
    while True:
        page = await stub.ListCameras(
            pb.ListCamerasRequest(query=word, page=common_pb2.PageRequest(page_size=1, page_token=token)),
            metadata=meta(platform, "auditor"),
            timeout=5,
        )
        seen += [c.code for c in page.cameras]
        token = page.page.next_page_token
        if not token:
            break
    assert seen == sorted([cam.code, second["code"]])


async def test_status_moves_and_installation_progress_equal_the_records(
    platform: Platform, stub: pb_grpc.CamerasServiceStub, http: httpx.AsyncClient
) -> None:
    r = await http.post(
        "/v1/installation-plans",
        json={
            "name": "Lắp đặt 3.200 camera giám sát ANTT",
            "target": 3200,
            "deadline": "2030-12-31",
            "district_targets": {"001": 400},
        },
        headers=platform.headers("dic_operator"),
    )
    assert r.status_code == 201, r.text
    plan_id = r.json()["id"]

    async def figures() -> tuple[tuple[int, int, int], tuple[int, int, int]]:
        p = await stub.GetInstallationProgress(
            pb.GetInstallationProgressRequest(plan_id=plan_id), metadata=meta(platform, "auditor"), timeout=5
        )
        d001 = next(d for d in p.districts if d.district_code == "001")
        assert d001.target == 400
        assert p.total.target == 3200
        assert p.total.remaining == max(0, 3200 - p.total.installed)
        return (
            (p.total.planned, p.total.installed, p.total.decommissioned),
            (d001.planned, d001.installed, d001.decommissioned),
        )

    before_total, before_001 = await figures()
    cams = [await create(stub, platform, name=f"Camera {n}", district_code="001") for n in range(3)]
    a, b, c = cams
    a = (
        await stub.ChangeCameraStatus(
            pb.ChangeCameraStatusRequest(id=a.id, version=a.version, status=pb.CAMERA_STATUS_INSTALLED),
            metadata=meta(platform, "dic_operator"),
            timeout=5,
        )
    ).camera
    assert a.installed_on.year >= 2024
    r = await http.post(
        f"/v1/cameras/{b.id}/status",
        json={"version": b.version, "status": "installed"},
        headers=platform.headers("admin"),
    )
    assert r.status_code == 200, r.text
    r = await http.post(
        f"/v1/cameras/{b.id}/status",
        json={"version": r.json()["version"], "status": "decommissioned"},
        headers=platform.headers("admin"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["decommissioned_on"] is not None
    # Backwards is refused.
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ChangeCameraStatus(
            pb.ChangeCameraStatusRequest(id=a.id, version=a.version, status=pb.CAMERA_STATUS_PLANNED),
            metadata=meta(platform, "dic_operator"),
            timeout=5,
        )
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    after_total, after_001 = await figures()
    delta = (1, 1, 1)  # c planned, a installed, b decommissioned
    assert tuple(x - y for x, y in zip(after_total, before_total, strict=True)) == delta
    assert tuple(x - y for x, y in zip(after_001, before_001, strict=True)) == delta
    assert c.status == pb.CAMERA_STATUS_PLANNED

    # The figures are the records: counting the list by status gives the same numbers.
    records = await all_cameras(http, platform)
    counted = tuple(
        sum(1 for x in records if x["status"] == s) for s in ("planned", "installed", "decommissioned")
    )
    assert counted == after_total
    r = await http.get(
        "/v1/installation-progress", params={"plan_id": plan_id}, headers=platform.headers("police")
    )
    assert r.status_code == 200, r.text
    total = r.json()["total"]
    assert (total["planned"], total["installed"], total["decommissioned"]) == counted


async def events_of(platform: Platform, camera_id: str, *, count: int) -> list[str]:
    """The type names of the first `count` events of one camera on the topic (read without a group)."""
    consumer = AIOKafkaConsumer(TOPIC, bootstrap_servers=platform.bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        found: list[str] = []
        async with asyncio.timeout(30):
            while len(found) < count:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        if record.key == camera_id.encode():
                            found.append(decode_record(record, EVENTS).type.rsplit(".", 1)[-1])
        return found
    finally:
        await consumer.stop()


async def test_a_silent_camera_goes_offline_and_comes_back_with_a_heartbeat(
    platform: Platform, stub: pb_grpc.CamerasServiceStub, http: httpx.AsyncClient
) -> None:
    cam = await create(stub, platform, name="Chợ Đầm, cổng Bắc", status=pb.CAMERA_STATUS_INSTALLED)
    gateway = meta(platform, "camera_gateway")

    # A gateway streams heartbeats for about 2.4 s (a message every 0.6 s), with refused items among them.
    async def stream() -> AsyncIterator[pb.SendHeartbeatsRequest]:
        yield pb.SendHeartbeatsRequest(
            heartbeats=[pb.Heartbeat(camera_id=cam.code), pb.Heartbeat(camera_id="x")]
        )
        for _ in range(4):
            await asyncio.sleep(0.6)
            yield pb.SendHeartbeatsRequest(heartbeats=[pb.Heartbeat(camera_id=cam.code.lower())])
        yield pb.SendHeartbeatsRequest(heartbeats=[pb.Heartbeat(camera_id=str(uuid.uuid4()))])

    reply = await stub.SendHeartbeats(stream(), metadata=gateway, timeout=20)
    assert reply.accepted == 5
    assert [(r.index, r.reason) for r in reply.rejected] == [(1, "invalid_camera_id"), (6, "unknown_camera")]

    got = await stub.GetCamera(pb.GetCameraRequest(id=cam.id), metadata=meta(platform, "police"), timeout=5)
    assert got.camera.online
    online_at = got.camera.last_seen_at.ToDatetime(tzinfo=UTC)

    # Silent past the test platform's threshold (3 s): offline, by the health worker.
    async def offline() -> bool:
        c = await stub.GetCamera(pb.GetCameraRequest(id=cam.id), metadata=meta(platform, "police"), timeout=5)
        return not c.camera.online

    await eventually(offline, within=30, interval=0.5, what="the camera offline")

    listed = await all_cameras(http, platform, online="false", q=cam.code)
    assert [x["id"] for x in listed] == [cam.id]

    # A heartbeat over HTTP (by the camera's id) brings it back.
    r = await http.post(
        "/v1/heartbeats",
        json={"heartbeats": [{"camera_id": cam.id}, {"camera_id": str(uuid.uuid4())}]},
        headers=platform.headers("camera_gateway"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1
    assert [(x["index"], x["reason"]) for x in r.json()["rejected"]] == [(1, "unknown_camera")]
    got = await stub.GetCamera(pb.GetCameraRequest(id=cam.id), metadata=meta(platform, "police"), timeout=5)
    assert got.camera.online
    assert got.camera.last_seen_at.ToDatetime(tzinfo=UTC) > online_at

    # Each transition once, in order, on the topic.
    assert await events_of(platform, cam.id, count=4) == [
        "CameraRegistered",
        "CameraCameOnline",
        "CameraWentOffline",
        "CameraCameOnline",
    ]

    # Two online intervals: the first closed at the last heartbeat of the stream, the second open.
    conn = await asyncpg.connect(platform.database_url)
    try:
        intervals = await conn.fetch(
            "SELECT started_at, ended_at FROM cameras.camera_online_intervals"
            " WHERE camera_id = $1 ORDER BY started_at",
            uuid.UUID(cam.id),
        )
    finally:
        await conn.close()
    assert len(intervals) == 2
    assert intervals[0]["ended_at"] == online_at
    first_stretch = (intervals[0]["ended_at"] - intervals[0]["started_at"]).total_seconds()
    assert first_stretch >= 1.5
    assert intervals[1]["ended_at"] is None

    # Online time per day (Vietnam days; yesterday too, in case the test runs across midnight) counts it.
    today = datetime.now(VN).date()
    r = await http.get(
        f"/v1/cameras/{cam.id}/uptime",
        params={"from": str(today - timedelta(days=1)), "to": str(today)},
        headers=platform.headers("auditor"),
    )
    assert r.status_code == 200, r.text
    assert [d["day"] for d in r.json()["days"]] == [str(today - timedelta(days=1)), str(today)]
    assert r.json()["total_online_seconds"] >= int(first_stretch)
    uptime = await stub.GetCameraUptime(
        pb.GetCameraUptimeRequest(
            camera_id=cam.id, from_date=common_pb2.Date(year=today.year, month=today.month, day=today.day)
        ),
        metadata=meta(platform, "police"),
        timeout=5,
    )
    assert len(uptime.days) == 1
    assert uptime.total_online_seconds >= 0

    # The gauges are read from the database by the worker and exported.
    metrics = (await http.get("/metrics")).text
    assert "d07_cameras_online " in metrics
    assert "d07_cameras_offline " in metrics


def gauge(text: str, name: str) -> float | None:
    found = re.findall(rf"^{name} (\S+)$", text, flags=re.M)
    return float(found[0]) if found else None


async def test_the_installed_gauge_counts_the_installed_cameras(
    platform: Platform, stub: pb_grpc.CamerasServiceStub, http: httpx.AsyncClient
) -> None:
    """`d07_cameras_installed` follows the database: a camera installed counts, a planned one does not, a
    decommissioned one no longer does; the offline ones are among them."""

    async def installed_in_database() -> int:
        conn = await asyncpg.connect(platform.database_url)
        try:
            return int(await conn.fetchval("SELECT count(*) FROM cameras.cameras WHERE status = 'installed'"))
        finally:
            await conn.close()

    async def exported() -> tuple[float | None, int]:
        return gauge(
            (await http.get("/metrics")).text, "d07_cameras_installed"
        ), await installed_in_database()

    def agree(pair: tuple[float | None, int]) -> bool:
        return pair[0] == pair[1]

    await eventually(exported, until=agree, within=30, interval=0.3, what="the gauge equal to the database")
    start = await installed_in_database()
    cam = await create(stub, platform, name="Ngã tư Hai Bà Trưng", status=pb.CAMERA_STATUS_INSTALLED)
    await create(stub, platform, name="Chợ Đầm (dự kiến)", status=pb.CAMERA_STATUS_PLANNED)
    got = await eventually(
        exported, until=agree, within=30, interval=0.3, what="the installed camera counted"
    )
    assert got[1] == start + 1
    await stub.ChangeCameraStatus(
        pb.ChangeCameraStatusRequest(id=cam.id, version=cam.version, status=pb.CAMERA_STATUS_DECOMMISSIONED),
        metadata=meta(platform, "dic_operator"),
        timeout=10,
    )
    got = await eventually(exported, until=agree, within=30, interval=0.3, what="the decommissioned one gone")
    assert got[1] == start
    text = (await http.get("/metrics")).text
    offline, installed = gauge(text, "d07_cameras_offline"), gauge(text, "d07_cameras_installed")
    assert offline is not None
    assert installed is not None
    assert offline <= installed


class RolledBack(Exception):
    """Leaves a unit of work with an error: it rolls back."""


async def test_seen_marks_cameras_in_the_callers_transaction(
    platform: Platform, stub: pb_grpc.CamerasServiceStub
) -> None:
    """The function the detections consumer calls: one transaction, the camera online, its event in the outbox
    (a rollback leaves neither); a sign older than the last one changes nothing."""
    cam = await create(stub, platform, name="Bến xe phía Nam", status=pb.CAMERA_STATUS_INSTALLED)
    cid = uuid.UUID(cam.id)
    pool = await db.create_pool(platform.database_url, schema="cameras", min_size=1, max_size=2)
    uow = NetworkUnitOfWork(pool, source="/d07/cameras")
    try:

        async def seen_then_rolled_back() -> None:
            async with uow:
                await service.mark_seen(uow, {cid: datetime.now(UTC)})
                assert await uow.conn.fetchval("SELECT online FROM cameras WHERE id = $1", cid)
                raise RolledBack

        with pytest.raises(RolledBack):
            await seen_then_rolled_back()
        assert not await pool.fetchval("SELECT online FROM cameras WHERE id = $1", cid)

        at = datetime.now(UTC)
        async with uow:
            await service.mark_seen(uow, {cid: at, uuid.uuid4(): at})
        row = await pool.fetchrow("SELECT online, last_seen_at FROM cameras WHERE id = $1", cid)
        assert row["online"]
        assert row["last_seen_at"] == at
        async with uow:
            await service.mark_seen(uow, {cid: datetime(2019, 8, 29, tzinfo=UTC)})
        assert await pool.fetchval("SELECT last_seen_at FROM cameras WHERE id = $1", cid) == at
    finally:
        await pool.close()
    assert (await events_of(platform, cam.id, count=2))[1] == "CameraCameOnline"


async def test_roles_and_the_audit_trail(
    platform: Platform, stub: pb_grpc.CamerasServiceStub, http: httpx.AsyncClient
) -> None:
    unit_a = await new_unit(platform, "Công ty Điện lực")
    unit_b = await new_unit(platform, "Trường Tiểu học Kim Đồng")
    cam_a = await create(stub, platform, name="Cổng Công ty Điện lực", unit_id=unit_a)
    cam_b = await create(stub, platform, name="Cổng Trường Kim Đồng", unit_id=unit_b)

    # The gateway sends heartbeats only.
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.CreateCamera(
            pb.CreateCameraRequest(code=cam_code(), name="x", latitude=13.7, longitude=109.2),
            metadata=meta(platform, "camera_gateway"),
            timeout=5,
        )
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    r = await http.get(f"/v1/cameras/{cam_a.id}", headers=platform.headers("camera_gateway"))
    assert r.status_code == 403
    # Operators manage cameras but do not send heartbeats; auditors and police read only.
    r = await http.post("/v1/heartbeats", json={"heartbeats": []}, headers=platform.headers("dic_operator"))
    assert r.status_code == 403
    for role in ("auditor", "police"):
        r = await http.post(
            f"/v1/cameras/{cam_a.id}/status",
            json={"version": cam_a.version, "status": "installed"},
            headers=platform.headers(role),
        )
        assert r.status_code == 403, role
        assert (await http.get(f"/v1/cameras/{cam_a.id}", headers=platform.headers(role))).status_code == 200

    # A unit officer reads the cameras covering its own unit, no other.
    officer = platform.headers("unit_officer", unit_id=unit_a)
    assert (await http.get(f"/v1/cameras/{cam_a.id}", headers=officer)).status_code == 200
    assert (await http.get(f"/v1/cameras/{cam_b.id}", headers=officer)).status_code == 403
    r = await http.get("/v1/cameras", headers=officer)
    assert [c["id"] for c in r.json()["items"]] == [cam_a.id]
    assert (await http.get("/v1/cameras", params={"unit_id": unit_b}, headers=officer)).status_code == 403
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetCamera(
            pb.GetCameraRequest(id=cam_b.id),
            metadata=meta(platform, "unit_officer", unit_id=unit_a),
            timeout=5,
        )
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED

    r = await http.post(
        f"/v1/cameras/{cam_a.id}/status",
        json={"version": cam_a.version, "status": "installed"},
        headers=platform.headers("dic_operator", subject="dic-nguyen-van-a"),
    )
    assert r.status_code == 200, r.text

    conn = await asyncpg.connect(platform.database_url)
    try:
        rows = await conn.fetch(
            "SELECT action, actor, unit_id FROM cameras.audit_log WHERE object_id = $1 ORDER BY id", cam_a.id
        )
    finally:
        await conn.close()
    assert [(r["action"], r["actor"]) for r in rows] == [
        ("camera.create", "test-dic_operator"),
        ("camera.installed", "dic-nguyen-van-a"),
    ]
    assert {str(r["unit_id"]) for r in rows} == {unit_a}
