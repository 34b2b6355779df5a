"""Violation handling through both doors of the running cameras service (real PostgreSQL and broker): the
workflow from the camera operators to the police, refusals (invalid transition, stale version, roles), a unit
officer's view, the reaction deadline (overdue event and gauge), and WatchViolations resuming from a cursor.

Violations are opened by the detections. The workflow test opens its violation through the detections' HTTP
door (`POST /v1/detections:batch`, as a camera gateway). The others, so as not to depend on the detections'
code (and to open a violation whose deadline has already passed), insert a violation the way the detections
open one (its row and its 'opened' activity row) straight into the `cameras` schema, for a camera created
through CreateCamera.

Two tests run the aggregate's functions against a schema of their own (migrated here): the overdue check with
a `now` passed in, and a reader of the feed facing a transaction that commits late.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from cameras.violations import service
from cameras.violations.repository import ActivitySignal
from cameras.violations.service import FeedReader, ViolationsUnitOfWork
from d07.cameras.v1 import cameras_pb2, cameras_pb2_grpc
from d07.cameras.v1 import violation_events_pb2 as events_pb
from d07.cameras.v1 import violations_pb2 as pb
from d07.cameras.v1 import violations_pb2_grpc as pb_grpc
from d07.platform import db
from d07.platform.db import Conn
from d07.platform.grpc import status_details
from tests.support.services import Platform
from tests.support.waiting import eventually

TOPIC = "d07.cameras.violations.v1"
MIGRATIONS = Path(__file__).resolve().parents[3] / "services" / "cameras" / "migrations"


def meta(platform: Platform, role: str, **kw: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {platform.token(role, **kw)}")]


@pytest.fixture
async def channel(platform: Platform) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(platform["cameras"].target) as ch:
        yield ch


@pytest.fixture
def stub(channel: grpc.aio.Channel) -> pb_grpc.ViolationsServiceStub:
    return pb_grpc.ViolationsServiceStub(channel)


@pytest.fixture
async def http(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=platform["cameras"].url, timeout=30) as client:
        yield client


@pytest.fixture
async def dbconn(platform: Platform) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(platform.database_url)
    try:
        yield conn
    finally:
        await conn.close()


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


async def new_camera(channel: grpc.aio.Channel, platform: Platform, unit_id: str, name: str) -> str:
    return (await new_camera_with_code(channel, platform, unit_id, name))[0]


async def new_camera_with_code(
    channel: grpc.aio.Channel, platform: Platform, unit_id: str, name: str
) -> tuple[str, str]:
    """A camera covering `unit_id`, created by a DIC operator (codes are random: the database is shared)."""
    stub = cameras_pb2_grpc.CamerasServiceStub(channel)
    for _ in range(20):
        try:
            reply = await stub.CreateCamera(
                cameras_pb2.CreateCameraRequest(
                    code=f"CAM-{random.randint(0, 99_999):05d}", name=name, unit_id=unit_id,
                    latitude=10.24, longitude=106.37, district_code="001",
                ),
                metadata=meta(platform, "dic_operator"),
                timeout=10,
            )  # fmt: skip
            return str(reply.camera.id), reply.camera.code
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise
    raise AssertionError("no free camera code")


async def open_violation(
    conn: Conn,
    camera_id: str,
    unit_id: str | None,
    *,
    kind: str = "intrusion",
    react_by: datetime | None = None,
    schema: str = "cameras",
) -> str:
    """A violation opened as the detections open one: the row (priority and deadline from its kind) and the
    'opened' activity row, in one transaction."""
    vid = uuid.uuid4()
    async with conn.transaction():
        await conn.execute(
            f"""INSERT INTO {schema}.violations
                    (id, camera_id, unit_id, kind, priority, first_seen_at, last_seen_at, max_confidence,
                     react_by)
                SELECT $1, $2, $3, k.kind, k.priority, now(), now(), 0.93,
                       coalesce($5, now() + make_interval(mins => k.reaction_minutes))
                  FROM {schema}.detection_kinds k WHERE k.kind = $4""",
            vid,
            uuid.UUID(camera_id),
            uuid.UUID(unit_id) if unit_id else None,
            kind,
            react_by,
        )
        await conn.execute(
            f"""INSERT INTO {schema}.violation_activity (violation_id, actor, action, details)
                VALUES ($1, 'detections', 'opened', $2::jsonb)""",
            vid,
            json.dumps({"detection_id": str(uuid.uuid4())}),
        )
    return str(vid)


async def head(conn: asyncpg.Connection) -> int:
    """The newest seq of the activity log now (a watch started here sees only what follows)."""
    return int(await conn.fetchval("SELECT coalesce(max(seq), 0) FROM cameras.violation_activity"))


async def events_about(
    bootstrap: str, subjects: set[str], *, want: int, seconds: float = 60.0
) -> list[tuple[str, str, bytes]]:
    """(ce_type, ce_subject, value) of the events on the violations topic about `subjects`, read from the
    start of every partition, until `want` of them are seen or the time is up."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    found: list[tuple[str, str, bytes]] = []
    try:
        async with asyncio.timeout(seconds):
            partitions: set[int] | None = None
            while not partitions:
                await consumer.topics()
                partitions = consumer.partitions_for_topic(TOPIC)
                if not partitions:
                    await asyncio.sleep(0.2)
            consumer.assign([TopicPartition(TOPIC, p) for p in partitions])
            await consumer.seek_to_beginning()
            while len(found) < want:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        headers = {k: v.decode() for k, v in record.headers}
                        if headers.get("ce_subject") in subjects:
                            found.append((headers["ce_type"], headers["ce_subject"], record.value or b""))
    except TimeoutError:
        pass
    finally:
        await consumer.stop()
    return found


async def gauge_sum(http: httpx.AsyncClient, name: str) -> float:
    text = (await http.get("/metrics")).text
    return sum(float(m) for m in re.findall(rf"^{name}\{{[^}}]*\}} (\S+)$", text, flags=re.M))


async def first_of(read: Any) -> Any:
    return (await read)[0]


# --- the workflow ---------------------------------------------------------------------------------------


async def test_the_workflow_from_the_dic_to_the_police_over_both_doors(
    platform: Platform,
    channel: grpc.aio.Channel,
    stub: pb_grpc.ViolationsServiceStub,
    http: httpx.AsyncClient,
    dbconn: asyncpg.Connection,
) -> None:
    unit = await new_unit(platform, "Trường THPT Nguyễn Đình Chiểu")
    camera, code = await new_camera_with_code(
        channel, platform, unit, "Cổng sau Trường THPT Nguyễn Đình Chiểu"
    )
    detection = {
        "detection_id": str(uuid.uuid4()),
        "camera_id": code,
        "occurred_at": datetime.now(UTC).isoformat(),
        "kind": "intrusion",
        "confidence": 0.95,
    }
    r = await http.post("/v1/detections:batch", json=[detection], headers=platform.headers("camera_gateway"))
    assert (r.status_code, r.json()["stored"]) == (200, 1), r.text
    listed = await stub.ListViolations(
        pb.ListViolationsRequest(camera_id=camera), metadata=meta(platform, "police"), timeout=10
    )
    assert [(v.status, v.kind, v.unit_id) for v in listed.violations] == [
        (events_pb.VIOLATION_STATUS_NEW, "intrusion", unit)
    ]
    vid = listed.violations[0].id

    # The camera operator acknowledges (gRPC) and hands it over to the police (HTTP).
    ack = await stub.AcknowledgeViolation(
        pb.AcknowledgeViolationRequest(id=vid, version=1, note="Phát hiện người trèo tường"),
        metadata=meta(platform, "dic_operator", subject="dic.lan"),
        timeout=10,
    )
    assert (ack.violation.status, ack.violation.version) == (events_pb.VIOLATION_STATUS_ACKNOWLEDGED, 2)
    assert ack.violation.acknowledged_by == "dic.lan"
    r = await http.post(
        f"/v1/violations/{vid}/hand-over",
        json={"version": 2, "to": "Công an phường 7", "note": "Chuyển xác minh"},
        headers=platform.headers("dic_operator", subject="dic.lan"),
    )
    assert r.status_code == 200, r.text
    assert (r.json()["handed_over_to"], r.json()["version"]) == ("Công an phường 7", 3)

    # The police assign (gRPC), comment and start (HTTP), resolve (gRPC).
    police = meta(platform, "police", subject="cs.hung")
    await stub.AssignViolation(
        pb.AssignViolationRequest(id=vid, version=3, assignee="Thượng úy Trần Văn Hùng", team="Tổ 141"),
        metadata=police,
        timeout=10,
    )
    r = await http.post(
        f"/v1/violations/{vid}/comments",
        json={"text": "Đã liên hệ bảo vệ trường"},
        headers=platform.headers("police", subject="cs.hung"),
    )
    assert r.status_code == 201, r.text
    r = await http.post(
        f"/v1/violations/{vid}/start",
        json={"version": 4},
        headers=platform.headers("police", subject="cs.hung"),
    )
    assert (r.status_code, r.json()["status"], r.json()["version"]) == (200, "in_progress", 5)
    done = await stub.ResolveViolation(
        pb.ResolveViolationRequest(id=vid, version=5, outcome="Đã xác minh, lập biên bản vi phạm hành chính"),
        metadata=police,
        timeout=10,
    )
    assert done.violation.status == events_pb.VIOLATION_STATUS_RESOLVED
    assert done.violation.HasField("closed_at")

    # Read back over both doors: the activity log and the handover.
    got = await stub.GetViolation(
        pb.GetViolationRequest(id=vid), metadata=meta(platform, "auditor"), timeout=10
    )
    assert [a.action for a in got.activity] == [
        "opened", "acknowledged", "handed_over", "assigned", "commented", "started", "resolved",
    ]  # fmt: skip
    assert [(c.author, c.text) for c in got.comments] == [("cs.hung", "Đã liên hệ bảo vệ trường")]
    assert (got.handover.by, got.handover.to) == ("dic.lan", "Công an phường 7")
    assert got.violation.outcome == "Đã xác minh, lập biên bản vi phạm hành chính"
    assert got.violation.camera_id == camera
    detail = (await http.get(f"/v1/violations/{vid}", headers=platform.headers("dic_operator"))).json()
    assert (detail["status"], detail["assignee"], detail["team"]) == (
        "resolved",
        "Thượng úy Trần Văn Hùng",
        "Tổ 141",
    )
    assert detail["activity"][1]["details"]["side"] == "dic"

    # Every change is on the topic, in order, and in the audit trail.
    found = await events_about(platform.bootstrap, {vid}, want=7)  # ViolationOpened and six updates
    updates = [
        events_pb.ViolationUpdated.FromString(v) for t, _, v in found if t.endswith("ViolationUpdated")
    ]
    assert [u.change for u in updates] == [
        "acknowledged", "handed_over", "assigned", "commented", "started", "resolved",
    ]  # fmt: skip
    assert updates[-1].violation.status == events_pb.VIOLATION_STATUS_RESOLVED
    assert (updates[0].actor.subject, updates[0].violation.version) == ("dic.lan", 2)
    audit = await dbconn.fetch(
        """SELECT action, actor FROM cameras.audit_log
            WHERE object_type = 'violation' AND object_id = $1 ORDER BY id""",
        vid,
    )
    assert [(a["action"], a["actor"]) for a in audit] == [
        ("violation.acknowledge", "dic.lan"),
        ("violation.hand_over", "dic.lan"),
        ("violation.assign", "cs.hung"),
        ("violation.comment", "cs.hung"),
        ("violation.start", "cs.hung"),
        ("violation.resolve", "cs.hung"),
    ]


async def test_invalid_transitions_stale_versions_and_wrong_roles_are_refused(
    platform: Platform,
    channel: grpc.aio.Channel,
    stub: pb_grpc.ViolationsServiceStub,
    http: httpx.AsyncClient,
    dbconn: asyncpg.Connection,
) -> None:
    unit = await new_unit(platform, "Công ty TNHH Cơ khí Bến Tre")
    camera = await new_camera(channel, platform, unit, "Kho hàng số 2")
    vid = await open_violation(dbconn, camera, unit, kind="fire_smoke")
    police = meta(platform, "police")

    with pytest.raises(grpc.aio.AioRpcError) as err:  # NEW cannot be resolved
        await stub.ResolveViolation(
            pb.ResolveViolationRequest(id=vid, version=1, outcome="xong"), metadata=police, timeout=10
        )
    assert (err.value.code(), status_details(err.value)["reason"]) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "invalid_transition",
    )
    r = await http.post(
        f"/v1/violations/{vid}/start", json={"version": 1}, headers=platform.headers("police")
    )
    assert (r.status_code, r.json()["code"]) == (409, "invalid_transition")

    await stub.AcknowledgeViolation(
        pb.AcknowledgeViolationRequest(id=vid, version=1), metadata=police, timeout=10
    )
    with pytest.raises(grpc.aio.AioRpcError) as err:  # somebody else acted on version 1 already
        await stub.AcknowledgeViolation(
            pb.AcknowledgeViolationRequest(id=vid, version=1), metadata=police, timeout=10
        )
    assert (err.value.code(), status_details(err.value)["reason"]) == (
        grpc.StatusCode.ABORTED,
        "stale_version",
    )
    r = await http.post(
        f"/v1/violations/{vid}/assign",
        json={"version": 1, "team": "Tổ 141"},
        headers=platform.headers("police"),
    )
    assert (r.status_code, r.json()["code"]) == (409, "stale_version")

    # Roles: camera operators do not resolve, gateways and unit officers do not handle, gateways read nothing.
    for role, call in [
        ("dic_operator", stub.DismissViolation(pb.DismissViolationRequest(id=vid, version=2, reason="nhầm"),
                                               metadata=meta(platform, "dic_operator"), timeout=10)),
        ("camera_gateway", stub.GetViolation(pb.GetViolationRequest(id=vid),
                                             metadata=meta(platform, "camera_gateway"), timeout=10)),
        ("auditor", stub.CommentOnViolation(pb.CommentOnViolationRequest(id=vid, text="x"),
                                            metadata=meta(platform, "auditor"), timeout=10)),
    ]:  # fmt: skip
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED, role
    r = await http.post(
        f"/v1/violations/{vid}/assign",
        json={"version": 2, "team": "Tổ 141"},
        headers=platform.headers("unit_officer", unit_id=unit),
    )
    assert r.status_code == 403

    # Nothing of the refused calls left a trace: still acknowledged at version 2, two activity rows.
    got = await stub.GetViolation(pb.GetViolationRequest(id=vid), metadata=police, timeout=10)
    assert (got.violation.status, got.violation.version) == (events_pb.VIOLATION_STATUS_ACKNOWLEDGED, 2)
    assert [a.action for a in got.activity] == ["opened", "acknowledged"]
    r = await http.post(
        f"/v1/violations/{vid}/dismiss",
        json={"version": 2, "reason": " "},
        headers=platform.headers("police"),
    )
    assert (r.status_code, [f["field"] for f in r.json()["fields"]]) == (400, ["reason"])


async def test_a_unit_officer_reads_only_the_violations_of_its_own_unit(
    platform: Platform,
    channel: grpc.aio.Channel,
    stub: pb_grpc.ViolationsServiceStub,
    http: httpx.AsyncClient,
    dbconn: asyncpg.Connection,
) -> None:
    mine, other = (
        await new_unit(platform, "Trường THCS Lê Lợi"),
        await new_unit(platform, "Trường THCS Hùng Vương"),
    )
    cam_mine = await new_camera(channel, platform, mine, "Sân trường THCS Lê Lợi")
    cam_other = await new_camera(channel, platform, other, "Cổng THCS Hùng Vương")
    start = await head(dbconn)
    own = {
        await open_violation(dbconn, cam_mine, mine),
        await open_violation(dbconn, cam_mine, mine, kind="crowd"),
    }
    foreign = await open_violation(dbconn, cam_other, other)
    officer = platform.headers("unit_officer", unit_id=mine)

    r = await http.get("/v1/violations", params={"page_size": 1}, headers=officer)
    assert r.status_code == 200, r.text
    seen = [r.json()["items"][0]["id"]]
    r = await http.get(
        "/v1/violations", params={"page_size": 1, "page_token": r.json()["next_page_token"]}, headers=officer
    )
    seen.append(r.json()["items"][0]["id"])
    assert set(seen) == own  # newest first, one a page, nothing of the other unit
    assert r.json()["next_page_token"] == ""
    reply = await stub.ListViolations(
        pb.ListViolationsRequest(), metadata=meta(platform, "unit_officer", unit_id=mine)
    )
    assert {v.id for v in reply.violations} == own
    assert (await http.get(f"/v1/violations/{foreign}", headers=officer)).status_code == 403
    assert (await http.get("/v1/violations", params={"unit_id": other}, headers=officer)).status_code == 403
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetViolation(
            pb.GetViolationRequest(id=foreign), metadata=meta(platform, "unit_officer", unit_id=mine)
        )
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED

    # The feed, too, carries only its unit's violations; the police see both units'.
    r = await http.get("/v1/violation-activity", params={"cursor": start}, headers=officer)
    assert {e["violation"]["id"] for e in r.json()["items"]} == own
    r = await http.get("/v1/violation-activity", params={"cursor": start}, headers=platform.headers("police"))
    assert {e["violation"]["id"] for e in r.json()["items"]} >= own | {foreign}
    # A police list by unit and kind.
    r = await http.get(
        "/v1/violations", params={"unit_id": mine, "kind": "crowd"}, headers=platform.headers("police")
    )
    assert [v["kind"] for v in r.json()["items"]] == ["crowd"]


# --- the reaction deadline ------------------------------------------------------------------------------


async def test_a_violation_not_acknowledged_in_time_becomes_overdue_once(
    platform: Platform,
    channel: grpc.aio.Channel,
    stub: pb_grpc.ViolationsServiceStub,
    http: httpx.AsyncClient,
    dbconn: asyncpg.Connection,
) -> None:
    unit = await new_unit(platform, "Chợ Phường 3")
    camera = await new_camera(channel, platform, unit, "Cổng chợ Phường 3")
    # Opened 11 minutes ago as fire and smoke (10 minutes to react): its deadline has passed.
    vid = await open_violation(
        dbconn, camera, unit, kind="fire_smoke", react_by=datetime.now(UTC) - timedelta(minutes=1)
    )
    police = platform.headers("police")

    async def flagged() -> dict[str, Any] | None:
        r = await http.get("/v1/violations", params={"overdue": "true", "unit_id": unit}, headers=police)
        return next((v for v in r.json()["items"] if v["id"] == vid), None)

    seen = await eventually(flagged, within=30)
    assert seen["overdue_at"] is not None
    assert seen["status"] == "new"
    assert seen["version"] == 1  # the flag is not a decision of anyone's: the version stays
    # The worker refreshes the gauges just after it commits the flag: wait for that too.
    overdue = await eventually(lambda: gauge_sum(http, "d07_violations_overdue"), within=30, what="gauge")
    assert overdue > 0
    assert await gauge_sum(http, "d07_violations_open") > 0

    found = await events_about(platform.bootstrap, {vid}, want=1)
    assert [t for t, _, _ in found] == ["d07.cameras.v1.ViolationOverdue"]
    event = events_pb.ViolationOverdue.FromString(found[0][2])
    assert (event.violation.id, event.violation.priority) == (vid, events_pb.VIOLATION_PRIORITY_CRITICAL)
    assert event.violation.HasField("overdue_at")

    # Acknowledging late is still possible; the flag stays on record, the overdue gauge no longer counts it.
    await stub.AcknowledgeViolation(
        pb.AcknowledgeViolationRequest(id=vid, version=1), metadata=meta(platform, "dic_operator"), timeout=10
    )
    got = await stub.GetViolation(
        pb.GetViolationRequest(id=vid), metadata=meta(platform, "police"), timeout=10
    )
    assert [a.action for a in got.activity] == ["opened", "overdue", "acknowledged"]
    assert got.violation.HasField("overdue_at")
    audit = await dbconn.fetch(
        "SELECT actor FROM cameras.audit_log WHERE action = 'violation.overdue' AND object_id = $1", vid
    )
    assert [a["actor"] for a in audit] == ["system"]


@pytest.fixture
async def own_schema(database_url: str) -> AsyncIterator[tuple[asyncpg.Pool, str]]:
    """The cameras migrations applied to a schema of this test's own, and a pool on it: the aggregate's
    functions run against a real database without the running service's worker in the way."""
    schema = f"vh_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(database_url)
    try:
        await db.migrate(conn, schema=schema, migrations=db.all_migrations("cameras", MIGRATIONS))
    finally:
        await conn.close()
    pool = await db.create_pool(database_url, schema=schema, min_size=1, max_size=4)
    try:
        yield pool, schema
    finally:
        await pool.close()
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        finally:
            await conn.close()


async def new_schema_camera(pool: asyncpg.Pool) -> str:
    camera = uuid.uuid4()
    await pool.execute(
        """INSERT INTO cameras (id, code, name, latitude, longitude, status)
           VALUES ($1, $2, $3, 10.2, 106.4, 'installed')""",
        camera,
        "CAM-00001",
        "Ngã tư Đồng Khởi",
    )
    return str(camera)


async def test_the_overdue_check_flags_at_the_deadline_and_only_once(
    own_schema: tuple[asyncpg.Pool, str],
) -> None:
    pool, schema = own_schema
    camera = await new_schema_camera(pool)
    deadline = datetime(2030, 1, 1, 8, 0, tzinfo=UTC)
    async with pool.acquire() as conn:
        early = await open_violation(conn, camera, None, kind="traffic", react_by=deadline, schema=schema)
        later = await open_violation(
            conn, camera, None, kind="crowd", react_by=deadline + timedelta(minutes=30), schema=schema
        )

    uow = ViolationsUnitOfWork(pool, source="/d07/cameras")
    assert await service.mark_overdue(uow, now=deadline - timedelta(seconds=1)) == []
    flagged = await service.mark_overdue(uow, now=deadline)
    assert [str(v.id) for v in flagged] == [early]
    assert flagged[0].overdue_at == deadline
    assert await service.mark_overdue(uow, now=deadline + timedelta(minutes=1)) == []  # once only
    assert await service.next_deadline(uow) == deadline + timedelta(minutes=30)
    assert await service.counts(uow) == {"low": (1, 1), "high": (1, 0)}
    flagged = await service.mark_overdue(uow, now=deadline + timedelta(hours=1))
    assert [str(v.id) for v in flagged] == [later]
    rows = await pool.fetch(
        "SELECT violation_id, action, actor FROM violation_activity WHERE action = 'overdue'"
    )
    assert sorted(str(r["violation_id"]) for r in rows) == sorted([early, later])
    assert {r["actor"] for r in rows} == {"system"}
    outbox = await pool.fetch("SELECT key, event_type FROM outbox ORDER BY id")
    assert [(r["key"], r["event_type"]) for r in outbox] == [
        (early, "d07.cameras.v1.ViolationOverdue"),
        (later, "d07.cameras.v1.ViolationOverdue"),
    ]


# --- the feed -------------------------------------------------------------------------------------------


async def test_a_feed_reader_waits_for_a_row_that_commits_late_and_passes_it_on_in_order(
    own_schema: tuple[asyncpg.Pool, str], database_url: str
) -> None:
    pool, schema = own_schema
    camera = await new_schema_camera(pool)
    async with pool.acquire() as conn:
        vid = await open_violation(conn, camera, None, schema=schema)  # seq 1
    reader = FeedReader(ViolationsUnitOfWork(pool, source="/d07/cameras"), cursor=0, visible=lambda v: True)
    entries, _ = await reader.read()
    assert [(a.seq, a.action) for a, _ in entries] == [(1, "opened")]

    # A slow transaction takes seq 2 and stays open; a quick one takes seq 3 and commits.
    slow = await pool.acquire()
    tx = slow.transaction()
    await tx.start()
    await slow.execute(
        "INSERT INTO violation_activity (violation_id, actor, action) VALUES ($1, 'cs.an', 'commented')",
        uuid.UUID(vid),
    )
    await pool.execute(
        "INSERT INTO violation_activity (violation_id, actor, action) VALUES ($1, 'cs.binh', 'commented')",
        uuid.UUID(vid),
    )
    entries, _ = await reader.read()
    assert entries == []  # 3 is visible, but 2 may still come: nothing is passed on past it
    assert reader.cursor == 1
    await tx.commit()
    await pool.release(slow)
    entries, _ = await reader.read()
    assert [(a.seq, a.actor) for a, _ in entries] == [(2, "cs.an"), (3, "cs.binh")]

    # A transaction that takes seq 4 and rolls back leaves a gap that settles once it has ended.
    slow = await pool.acquire()
    tx = slow.transaction()
    await tx.start()
    await slow.execute(
        "INSERT INTO violation_activity (violation_id, actor, action) VALUES ($1, 'cs.an', 'commented')",
        uuid.UUID(vid),
    )
    await pool.execute(
        "INSERT INTO violation_activity (violation_id, actor, action) VALUES ($1, 'cs.cuong', 'commented')",
        uuid.UUID(vid),
    )
    assert (await reader.read())[0] == []
    await tx.rollback()
    await pool.release(slow)
    # Once the transactions in progress at the first sight of the gap have ended (the rolled back one, and
    # any other of the server's), 4 is settled and 5 goes out.
    entries = await eventually(lambda: first_of(reader.read()), within=10)
    assert [(a.seq, a.actor) for a, _ in entries] == [(5, "cs.cuong")]

    # The signal wakes a waiting page reader when a row commits.
    signal = ActivitySignal(database_url, schema)
    async with signal.listening():
        waiting = asyncio.create_task(
            FeedReader(
                ViolationsUnitOfWork(pool, source="/d07/cameras"), cursor=5, visible=lambda v: True
            ).read_within(signal, wait_seconds=20, poll_seconds=20)
        )
        await asyncio.sleep(0.5)
        await pool.execute(
            "INSERT INTO violation_activity (violation_id, actor, action) VALUES ($1, 'cs.dung', 'note')",
            uuid.UUID(vid),
        )
        got = await asyncio.wait_for(waiting, 10)
    assert [(a.seq, a.actor, a.action) for a, _ in got] == [(6, "cs.dung", "note")]


async def test_watch_violations_resumes_from_its_cursor_missing_nothing_and_repeating_nothing(
    platform: Platform,
    channel: grpc.aio.Channel,
    stub: pb_grpc.ViolationsServiceStub,
    http: httpx.AsyncClient,
    dbconn: asyncpg.Connection,
) -> None:
    unit = await new_unit(platform, "Bệnh viện Đa khoa tỉnh")
    camera = await new_camera(channel, platform, unit, "Khoa cấp cứu")
    start = await head(dbconn)
    first, second = (
        await open_violation(dbconn, camera, unit),
        await open_violation(dbconn, camera, unit, kind="crowd"),
    )
    mine = {first, second}
    case_system = meta(platform, "police", subject="he-thong-ho-so-vu-viec")
    received: list[pb.WatchViolationsResponse] = []

    async def read_until(call: Any, action: str, violation_id: str) -> None:
        async for message in call:
            if message.activity.violation_id in mine:
                received.append(message)
                if (message.activity.action, message.activity.violation_id) == (action, violation_id):
                    return

    # First connection: the two openings, then an acknowledgement made while connected.
    call = stub.WatchViolations(pb.WatchViolationsRequest(cursor=start), metadata=case_system, timeout=60)
    await asyncio.wait_for(read_until(call, "opened", second), 30)
    await stub.AcknowledgeViolation(pb.AcknowledgeViolationRequest(id=first, version=1), metadata=case_system)
    await asyncio.wait_for(read_until(call, "acknowledged", first), 30)
    call.cancel()  # the case system goes away
    cursor = received[-1].cursor

    # Changes while it is away.
    police = meta(platform, "police")
    await stub.AssignViolation(pb.AssignViolationRequest(id=first, version=2, team="Tổ 141"), metadata=police)
    await stub.DismissViolation(
        pb.DismissViolationRequest(id=second, version=1, reason="Báo động nhầm"), metadata=police
    )
    r = await http.post(
        f"/v1/violations/{first}/comments", json={"text": "Đang xác minh"}, headers=platform.headers("police")
    )
    assert r.status_code == 201

    # Second connection from the last cursor received.
    call = stub.WatchViolations(pb.WatchViolationsRequest(cursor=cursor), metadata=case_system, timeout=60)
    await asyncio.wait_for(read_until(call, "commented", first), 30)
    call.cancel()

    assert [(m.activity.violation_id, m.activity.action) for m in received] == [
        (first, "opened"), (second, "opened"), (first, "acknowledged"),
        (first, "assigned"), (second, "dismissed"), (first, "commented"),
    ]  # fmt: skip
    cursors = [m.cursor for m in received]
    assert cursors == sorted(set(cursors))  # in order, none twice
    assert all(m.cursor == m.activity.seq for m in received)
    # Each message carries the violation as it is when sent: the second connection sees it assigned.
    assert received[3].violation.team == "Tổ 141"
    assert received[4].violation.status == events_pb.VIOLATION_STATUS_DISMISSED
    # The HTTP page of the feed from the same cursor gives the same rows.
    r = await http.get(
        "/v1/violation-activity", params={"cursor": cursor}, headers=platform.headers("police")
    )
    page = [(e["cursor"], e["activity"]["action"]) for e in r.json()["items"] if e["violation"]["id"] in mine]
    assert page == [(m.cursor, m.activity.action) for m in received[3:]]


# --- freshness: the time from a detection to its violation ------------------------------------------------


def histogram(text: str, name: str, kind: str) -> dict[str, float]:
    """The buckets (by `le`) and `count` of one kind's series of a histogram in a /metrics text."""
    found = {
        le: float(v)
        for le, v in re.findall(rf'^{name}_bucket\{{kind="{kind}",le="([^"]+)"\}} (\S+)$', text, flags=re.M)
    }
    count = re.findall(rf'^{name}_count\{{kind="{kind}"\}} (\S+)$', text, flags=re.M)
    found["count"] = float(count[0]) if count else 0.0
    return found


async def test_the_open_delay_is_measured_from_the_detection_to_the_opening(
    platform: Platform, channel: grpc.aio.Channel, http: httpx.AsyncClient
) -> None:
    """Three violations opened through the detections' door: one from a detection of just now (under a
    second), one from a detection 45 s old (past the freshness objective of 30 s), one from a camera whose
    clock runs 20 s ahead (counted as no delay, not a negative one)."""
    unit = await new_unit(platform, "Trường THCS Lê Quý Đôn")
    _, code = await new_camera_with_code(channel, platform, unit, "Cổng chính Trường THCS Lê Quý Đôn")
    name = "d07_violation_open_delay_seconds"
    now = datetime.now(UTC)
    sent = {"vandalism": now, "crowd": now - timedelta(seconds=45), "loitering": now + timedelta(seconds=20)}
    before = {kind: histogram((await http.get("/metrics")).text, name, kind) for kind in sent}
    detections = [
        {
            "detection_id": str(uuid.uuid4()),
            "camera_id": code,
            "occurred_at": at.isoformat(),
            "kind": kind,
            "confidence": 0.97,
        }
        for kind, at in sent.items()
    ]
    r = await http.post("/v1/detections:batch", json=detections, headers=platform.headers("camera_gateway"))
    assert (r.status_code, r.json()["stored"]) == (200, 3), r.text
    after = {kind: histogram((await http.get("/metrics")).text, name, kind) for kind in sent}

    def added(kind: str, key: str) -> float:
        return after[kind].get(key, 0.0) - before[kind].get(key, 0.0)

    for kind in sent:
        assert added(kind, "count") == 1, (kind, before[kind], after[kind])
        assert added(kind, "+Inf") == 1
    # Just now and the camera ahead: within the first bucket (1 s).
    assert added("vandalism", "1.0") == 1
    assert added("loitering", "1.0") == 1
    # 45 s old: not within the 30-second objective, within 60 s.
    assert added("crowd", "30.0") == 0
    assert added("crowd", "60.0") == 1
