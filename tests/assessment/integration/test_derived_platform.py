"""The derived criteria fed by the running platform (the five services as processes, real PostgreSQL and
broker): a unit, its effective movement model and a guard's completed class are made through the registry's
HTTP API, a serious violation through the cameras' (a camera gateway's fire/smoke detection, then the police
acknowledge, assign and start handling it). The events travel over Kafka into assessment's read models, and
`assessment.derived.service.derive`, called on the assessment schema of the shared database (the derived
criteria have no API of their own: they reach people through the assessments' answers), gives each criterion
with its sources. The handlers' details (replays, the late-violation flag) are in test_derived_read_models.py.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import asyncpg
import httpx
import pytest

from assessment.derived import service
from assessment.derived.domain import VIETNAM, DerivedResult
from assessment.derived.repository import DerivedRepository
from tests.support.services import Platform
from tests.support.waiting import eventually


@pytest.fixture
async def conn(platform: Platform) -> AsyncIterator[asyncpg.Connection]:
    c = await asyncpg.connect(platform.database_url, server_settings={"search_path": "assessment, public"})
    try:
        yield c
    finally:
        await c.close()


async def post(
    client: httpx.AsyncClient, url: str, body: object, headers: dict[str, str]
) -> dict[str, object]:
    r = await client.post(url, json=body, headers=headers)
    assert r.status_code in (200, 201), r.text
    data: dict[str, object] = r.json()
    return data


def by_code(results: list[DerivedResult]) -> dict[str, tuple[bool, list[tuple[str, str]]]]:
    return {r.criterion_code: (r.met, [(s.kind, s.id) for s in r.sources]) for r in results}


async def test_a_confirmed_serious_violation_shows_as_an_unmet_derived_criterion_with_its_source(
    platform: Platform, conn: asyncpg.Connection
) -> None:
    year = datetime.now(VIETNAM).year
    admin, police = platform.headers("admin"), platform.headers("police", subject="cs.hung")
    async with (
        httpx.AsyncClient(base_url=platform["registry"].url, timeout=15) as registry,
        httpx.AsyncClient(base_url=platform["cameras"].url, timeout=15) as cameras,
    ):
        new_unit = {
            "code": f"U-{uuid.uuid4().hex[:8].upper()}",
            "name": "Trường THPT Phan Thanh Giản",
            "kind": "school",
            "district_code": "001",
            "commune_code": "00001",
        }
        unit = str((await post(registry, "/v1/units", new_unit, admin))["id"])
        # A model built last year and effective since December: still effective this year.
        new_model = {
            "name": "Tổ tự quản về an ninh trật tự trường học",
            "kind": "self_managed_team",
            "host": {"unit_id": unit},
            "formation": "built",
            "formed_on": f"{year - 1}-06-01",
        }
        model = await post(registry, "/v1/models", new_model, admin)
        effective = {
            "status": "effective",
            "changed_on": f"{year - 1}-12-01",
            "version": 1,
            "note": "Hiệu quả",
        }
        await post(registry, f"/v1/models/{model['id']}/status", effective, admin)
        # A guard of the unit completes a class of this year.
        new_guard = {"unit_id": unit, "full_name": "Lê Văn Tâm", "birth_year": 1980}
        guard = await post(registry, "/v1/guards", new_guard, admin)
        new_class = {
            "title": f"Lớp bồi dưỡng nghiệp vụ bảo vệ năm {year}",
            "organiser": "Phòng Cảnh sát quản lý hành chính về trật tự xã hội - Công an tỉnh",
            "starts_on": date(year, 1, 2).isoformat(),
            "ends_on": date(year, 1, 6).isoformat(),
            "capacity": 40,
            "district_code": "001",
        }
        cls = await post(registry, "/v1/training/classes", new_class, police)
        enrol = {"guard_id": guard["id"]}
        attendance = await post(registry, f"/v1/training/classes/{cls['id']}/attendances", enrol, police)
        r = await registry.put(
            f"/v1/training/classes/{cls['id']}/attendances/{guard['id']}/completion",
            json={"version": 1, "completed": True, "result": "Đạt loại khá"},
            headers=police,
        )
        assert r.status_code == 200, r.text

        async def derived() -> dict[str, tuple[bool, list[tuple[str, str]]]]:
            return by_code(await service.derive(DerivedRepository(conn), unit_id=uuid.UUID(unit), year=year))

        # The registry's events reach assessment: model and training met, no violation.
        before = {
            "TC2": (True, []),
            "TC3": (True, [("attendance", str(attendance["id"]))]),
            "TC4": (True, [("model", str(model["id"]))]),
        }

        async def registry_arrived() -> object:
            return (await derived()) == before

        await eventually(registry_arrived, within=60, what="registry_arrived")

        # A camera covering the unit sees fire and smoke; the police take it up.
        for _ in range(20):
            code = f"CAM-{random.randint(0, 99_999):05d}"
            new_camera = {
                "code": code,
                "name": "Cổng chính Trường THPT Phan Thanh Giản",
                "latitude": 10.24,
                "longitude": 106.37,
                "unit_id": unit,
                "status": "installed",
                "district_code": "001",
            }
            r = await cameras.post("/v1/cameras", json=new_camera, headers=platform.headers("dic_operator"))
            if r.status_code != 409:
                break
        assert r.status_code == 201, r.text
        camera = r.json()["id"]
        detection = {
            "detection_id": str(uuid.uuid4()),
            "camera_id": code,
            "occurred_at": datetime.now(UTC).isoformat(),
            "kind": "fire_smoke",
            "confidence": 0.97,
        }
        gateway = platform.headers("camera_gateway")
        r = await cameras.post("/v1/detections:batch", json=[detection], headers=gateway)
        assert (r.status_code, r.json()["stored"]) == (200, 1), r.text
        r = await cameras.get("/v1/violations", params={"camera_id": camera}, headers=police)
        assert r.status_code == 200, r.text
        [violation] = r.json()["items"]
        assert (violation["priority"], violation["status"]) == ("critical", "new")
        vid = violation["id"]
        await post(
            cameras, f"/v1/violations/{vid}/acknowledge", {"version": 1, "note": "Đã tiếp nhận"}, police
        )

        # Acknowledged is not confirmed yet: wait until assessment knows that state, the criterion still met.
        async def acknowledged_known() -> object:
            row = await conn.fetchrow(
                "SELECT status FROM known_violations WHERE violation_id = $1", uuid.UUID(vid)
            )
            return row is not None and row["status"] == "acknowledged"

        await eventually(acknowledged_known, within=60, what="acknowledged_known")
        assert (await derived())["TC2"] == (True, [])

        assign = {"version": 2, "assignee": "Thượng úy Trần Văn Hùng", "team": "Tổ 141"}
        await post(cameras, f"/v1/violations/{vid}/assign", assign, police)
        await post(cameras, f"/v1/violations/{vid}/start", {"version": 3}, police)

        async def violation_arrived() -> object:
            return (await derived())["TC2"] == (False, [("violation", vid)])

        await eventually(violation_arrived, within=60, what="violation_arrived")
        results = {
            r.criterion_code: r
            for r in await service.derive(DerivedRepository(conn), unit_id=uuid.UUID(unit), year=year)
        }
        assert "vi phạm nghiêm trọng" in results["TC2"].reason
        assert (
            results["TC2"].sources[0].label.startswith(f"Vi phạm «fire_smoke» mức khẩn cấp tại camera {code}")
        )
        # The other criteria are untouched, and last year knows nothing of this year's violation.
        assert (await derived())["TC3"] == before["TC3"]
        assert (await derived())["TC4"] == before["TC4"]
        last_year = by_code(
            await service.derive(DerivedRepository(conn), unit_id=uuid.UUID(unit), year=year - 1)
        )
        assert last_year["TC2"] == (True, [])
        assert last_year["TC3"] == (False, [])

    # Every event of the three streams had a handler: the derived consumer dead-lettered nothing.
    async with httpx.AsyncClient(base_url=platform["assessment"].url, timeout=15) as assessment:
        metrics = (await assessment.get("/metrics")).text
    dead = [
        line
        for line in metrics.splitlines()
        if line.startswith("d07_events_dead_lettered_total{") and 'consumer="derived"' in line
    ]
    assert all(float(line.rsplit(" ", 1)[1]) == 0 for line in dead), dead
    consumed = [
        line
        for line in metrics.splitlines()
        if line.startswith("d07_events_consumed_total{") and 'consumer="derived"' in line
    ]
    assert consumed, "the derived consumer reports what it consumed"
