"""The camera path end to end: a detection sent by an ordinary Kafka client (not the platform's code)
becomes a violation the police see over gRPC and HTTP, the covered unit's officer sees too, and reporting
projects."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from datetime import UTC, datetime

import asyncpg
import grpc
import httpx
from aiokafka import AIOKafkaProducer

from d07.cameras.v1 import violations_pb2, violations_pb2_grpc
from d07.reporting.v1 import reporting_pb2, reporting_pb2_grpc
from tests.support.services import Platform
from tests.support.waiting import eventually_sync


def test_a_detection_from_a_plain_kafka_client_reaches_the_police_and_the_report(platform: Platform) -> None:
    admin, dic = platform.headers("admin"), platform.headers("dic_operator")
    unit = httpx.post(
        f"{platform['registry'].url}/v1/units",
        json={"code": f"U-{uuid.uuid4().hex[:8].upper()}", "name": "Trường THPT Phan Bội Châu",
              "kind": "school", "district_code": "001"},
        headers=admin,
    ).json()  # fmt: skip
    code = f"CAM-{random.randrange(100000):05d}"
    camera = httpx.post(
        f"{platform['cameras'].url}/v1/cameras",
        json={"code": code, "name": "Cổng trường Phan Bội Châu", "latitude": 13.78, "longitude": 109.21,
              "unit_id": unit["id"], "status": "installed"},
        headers=dic,
    )  # fmt: skip
    assert camera.status_code == 201, camera.text
    camera_id = camera.json()["id"]

    detection = {
        "detection_id": str(uuid.uuid4()), "camera_id": code, "occurred_at": datetime.now(UTC).isoformat(),
        "kind": "fire_smoke", "confidence": 0.93, "snapshot_url": "https://vms.example/snap/1.jpg",
        "attributes": {"khu_vuc": "nhà xe"},
    }  # fmt: skip

    async def produce() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=platform.bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(
                "d07.cameras.detections.v1",
                json.dumps(detection, ensure_ascii=False).encode(),
                key=code.encode(),
            )
        finally:
            await producer.stop()

    asyncio.run(produce())

    police_md = [("authorization", f"Bearer {platform.token('police')}")]
    with grpc.insecure_channel(platform["cameras"].target) as ch:
        stub = violations_pb2_grpc.ViolationsServiceStub(ch)

        def opened() -> list[object]:
            reply = stub.ListViolations(
                violations_pb2.ListViolationsRequest(camera_id=camera_id), metadata=police_md, timeout=5
            )
            return list(reply.violations)

        found = eventually_sync(opened, within=60, what="the violation opened")
    assert isinstance(found, list)
    (violation,) = found
    assert violation.kind == "fire_smoke"
    assert violation.unit_id == unit["id"]

    over_http = httpx.get(
        f"{platform['cameras'].url}/v1/violations",
        params={"camera_id": camera_id},
        headers=platform.headers("police"),
    )
    assert over_http.status_code == 200
    assert [v["id"] for v in over_http.json()["items"]] == [violation.id]
    mine = httpx.get(
        f"{platform['cameras'].url}/v1/violations/{violation.id}",
        headers=platform.headers("unit_officer", unit_id=unit["id"]),
    )
    assert mine.status_code == 200
    other = httpx.get(
        f"{platform['cameras'].url}/v1/violations/{violation.id}",
        headers=platform.headers("unit_officer", unit_id=str(uuid.uuid4())),
    )
    assert other.status_code == 403

    async def projected() -> asyncpg.Record | None:
        conn = await asyncpg.connect(platform.database_url)
        try:
            return await conn.fetchrow(
                "SELECT unit_id, kind, status FROM reporting.violations WHERE violation_id = $1",
                uuid.UUID(violation.id),
            )
        finally:
            await conn.close()

    row = eventually_sync(lambda: asyncio.run(projected()), within=60, what="the projected row")
    assert isinstance(row, asyncpg.Record)
    assert (str(row["unit_id"]), row["kind"], row["status"]) == (unit["id"], "fire_smoke", "new")
    with grpc.insecure_channel(platform["reporting"].target) as ch:
        status = reporting_pb2_grpc.ReportingServiceStub(ch).GetProjectionStatus(
            reporting_pb2.GetProjectionStatusRequest(), metadata=police_md, timeout=5
        )
    assert status.violations >= 1
    assert any(s.topic == "d07.cameras.violations.v1" and s.events_applied >= 1 for s in status.streams)
