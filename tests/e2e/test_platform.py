"""The foundation end to end: five services as processes, one real call path each, the events between them,
authentication and authorisation at both doors, the audit trail, readiness and metrics."""

from __future__ import annotations

import asyncio
import subprocess
import uuid

import asyncpg
import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from d07.assessment.v1 import assessment_pb2, assessment_pb2_grpc
from d07.awards.v1 import awards_pb2, awards_pb2_grpc
from d07.cameras.v1 import cameras_pb2, cameras_pb2_grpc
from d07.registry.v1 import registry_pb2, registry_pb2_grpc
from d07.reporting.v1 import reporting_pb2, reporting_pb2_grpc
from tests.platform.promtool import promtool_path
from tests.support.services import GRPC_NAMES, SERVICES, Platform
from tests.support.waiting import eventually_sync


def code() -> str:
    return f"U-{uuid.uuid4().hex[:8].upper()}"


def meta(platform: Platform, role: str, **kw: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {platform.token(role, **kw)}")]


def new_unit(platform: Platform, name: str = "Trường THPT Lê Quý Đôn") -> dict[str, object]:
    r = httpx.post(
        f"{platform['registry'].url}/v1/units",
        json={"code": code(), "name": name, "kind": "school", "district_code": "001"},
        headers=platform.headers("admin"),
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_every_service_is_ready_and_serving_over_grpc_health(platform: Platform) -> None:
    for name in SERVICES:
        assert httpx.get(f"{platform[name].url}/healthz").status_code == 200
        assert httpx.get(f"{platform[name].url}/readyz").status_code == 200
        with grpc.insecure_channel(platform[name].target) as ch:
            reply = health_pb2_grpc.HealthStub(ch).Check(
                health_pb2.HealthCheckRequest(service=GRPC_NAMES[name]), timeout=5
            )
            assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_unit_created_over_http_is_visible_over_grpc_and_reaches_other_services(platform: Platform) -> None:
    unit = new_unit(platform, "Trường THPT Nguyễn Thị Minh Khai")
    with grpc.insecure_channel(platform["registry"].target) as ch:
        got = registry_pb2_grpc.RegistryServiceStub(ch).GetUnit(
            registry_pb2.GetUnitRequest(id=str(unit["id"])), metadata=meta(platform, "police"), timeout=5
        )
    assert got.unit.name == "Trường THPT Nguyễn Thị Minh Khai"
    assert got.unit.kind == registry_pb2.UNIT_KIND_SCHOOL

    # The UnitCreated event travels through the outbox and the broker into assessment's read copy ...
    with grpc.insecure_channel(platform["assessment"].target) as ch:
        stub = assessment_pb2_grpc.AssessmentServiceStub(ch)

        def known() -> object:
            try:
                return stub.GetKnownUnit(
                    assessment_pb2.GetKnownUnitRequest(unit_id=str(unit["id"])),
                    metadata=meta(platform, "admin"),
                    timeout=5,
                )
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.NOT_FOUND:
                    raise
                return None

        reply = eventually_sync(known)
        assert isinstance(reply, assessment_pb2.GetKnownUnitResponse)
        assert reply.unit.name == "Trường THPT Nguyễn Thị Minh Khai"

    # ... and into reporting's projection, exactly once in effect.
    async def projected() -> tuple[int, int]:
        conn = await asyncpg.connect(platform.database_url)
        try:
            n = await conn.fetchval(
                "SELECT count(*) FROM reporting.units WHERE unit_id = $1", uuid.UUID(str(unit["id"]))
            )
            inbox = await conn.fetchval(
                "SELECT count(*) FROM reporting.inbox i JOIN reporting.units u ON u.event_id = i.event_id "
                "WHERE u.unit_id = $1",
                uuid.UUID(str(unit["id"])),
            )
            return n, inbox
        finally:
            await conn.close()

    eventually_sync(lambda: asyncio.run(projected()), until=lambda counts: counts == (1, 1))


def test_camera_bound_to_a_unit_is_checked_with_the_registry(platform: Platform) -> None:
    unit = new_unit(platform)
    dic = platform.headers("dic_operator")
    cam_code = f"CAM-{uuid.uuid4().int % 100000:05d}"
    r = httpx.post(
        f"{platform['cameras'].url}/v1/cameras",
        json={
            "code": cam_code,
            "name": "Cổng trường",
            "latitude": 13.78,
            "longitude": 109.21,
            "unit_id": unit["id"],
            "status": "installed",
        },
        headers=dic,
    )
    assert r.status_code == 201, r.text
    camera_id = r.json()["id"]
    with grpc.insecure_channel(platform["cameras"].target) as ch:
        stub = cameras_pb2_grpc.CamerasServiceStub(ch)
        got = stub.GetCamera(
            cameras_pb2.GetCameraRequest(id=camera_id), metadata=meta(platform, "police"), timeout=5
        )
        assert got.camera.unit_id == unit["id"]
        with pytest.raises(grpc.RpcError) as err:
            stub.CreateCamera(
                cameras_pb2.CreateCameraRequest(
                    code="CAM-99999", name="x", latitude=13.7, longitude=109.2, unit_id=str(uuid.uuid4())
                ),
                metadata=meta(platform, "dic_operator"),
                timeout=5,
            )
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "unit_id" in (err.value.details() or "") or err.value.trailing_metadata()

    with grpc.insecure_channel(platform["reporting"].target) as ch:
        stub_r = reporting_pb2_grpc.ReportingServiceStub(ch)

        def camera_projected() -> bool:
            status = stub_r.GetProjectionStatus(
                reporting_pb2.GetProjectionStatusRequest(), metadata=meta(platform, "admin"), timeout=5
            )
            return any(s.topic == "d07.cameras.cameras.v1" and s.events_applied >= 1 for s in status.streams)

        eventually_sync(camera_projected)


def test_reference_data_of_assessment_and_awards(platform: Platform) -> None:
    with grpc.insecure_channel(platform["assessment"].target) as ch:
        sets = (
            assessment_pb2_grpc.AssessmentServiceStub(ch)
            .ListCriteriaSets(
                assessment_pb2.ListCriteriaSetsRequest(), metadata=meta(platform, "auditor"), timeout=5
            )
            .criteria_sets
        )
    assert {s.code for s in sets} == {"TT23-2012", "TT124-2021"}
    with grpc.insecure_channel(platform["awards"].target) as ch:
        forms = (
            awards_pb2_grpc.AwardsServiceStub(ch)
            .ListAwardForms(awards_pb2.ListAwardFormsRequest(), metadata=meta(platform, "auditor"), timeout=5)
            .forms
        )
    assert {(f.name, f.deciding_role) for f in forms} == {
        ("Bằng khen", "chairman_office"),
        ("Giấy khen", "police"),
    }


def test_no_token_is_rejected_at_both_doors(platform: Platform) -> None:
    for name in SERVICES:
        with grpc.insecure_channel(platform[name].target) as ch:
            stub = registry_pb2_grpc.RegistryServiceStub(ch)
            if name == "registry":
                with pytest.raises(grpc.RpcError) as err:
                    stub.GetUnit(registry_pb2.GetUnitRequest(id=str(uuid.uuid4())), timeout=5)
                assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    r = httpx.get(f"{platform['registry'].url}/v1/units/{uuid.uuid4()}")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    r = httpx.get(f"{platform['reporting'].url}/v1/projections/status")
    assert r.status_code == 401
    r = httpx.get(
        f"{platform['registry'].url}/v1/units/{uuid.uuid4()}", headers={"Authorization": "Bearer nonsense"}
    )
    assert r.status_code == 401


def test_wrong_role_and_other_unit_are_denied(platform: Platform) -> None:
    body = {"code": code(), "name": "Công ty Cổ phần Nhựa", "kind": "enterprise", "district_code": "002"}
    r = httpx.post(f"{platform['registry'].url}/v1/units", json=body, headers=platform.headers("police"))
    assert r.status_code == 403
    assert r.json()["code"] == "role_required"
    with grpc.insecure_channel(platform["registry"].target) as ch:
        stub = registry_pb2_grpc.RegistryServiceStub(ch)
        with pytest.raises(grpc.RpcError) as err:
            stub.CreateUnit(
                registry_pb2.CreateUnitRequest(
                    code=code(), name="X", kind=registry_pb2.UNIT_KIND_AGENCY, district_code="001"
                ),
                metadata=meta(platform, "auditor"),
                timeout=5,
            )
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        mine, other = new_unit(platform), new_unit(platform)
        ok = stub.GetUnit(
            registry_pb2.GetUnitRequest(id=str(mine["id"])),
            metadata=meta(platform, "unit_officer", unit_id=str(mine["id"])),
            timeout=5,
        )
        assert ok.unit.id == mine["id"]
        with pytest.raises(grpc.RpcError) as err:
            stub.GetUnit(
                registry_pb2.GetUnitRequest(id=str(other["id"])),
                metadata=meta(platform, "unit_officer", unit_id=str(mine["id"])),
                timeout=5,
            )
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    r = httpx.get(
        f"{platform['registry'].url}/v1/units/{other['id']}",
        headers=platform.headers("unit_officer", unit_id=str(mine["id"])),
    )
    assert r.status_code == 403


def test_duplicate_code_and_bad_input_get_clear_errors(platform: Platform) -> None:
    body = {"code": code(), "name": "Trường Tiểu học Kim Đồng", "kind": "school", "district_code": "003"}
    admin = platform.headers("admin")
    assert httpx.post(f"{platform['registry'].url}/v1/units", json=body, headers=admin).status_code == 201
    r = httpx.post(f"{platform['registry'].url}/v1/units", json=body, headers=admin)
    assert r.status_code == 409
    assert r.json()["code"] == "unit_code_taken"
    with grpc.insecure_channel(platform["registry"].target) as ch:
        with pytest.raises(grpc.RpcError) as err:
            registry_pb2_grpc.RegistryServiceStub(ch).CreateUnit(
                registry_pb2.CreateUnitRequest(
                    code=body["code"], name="x", kind=registry_pb2.UNIT_KIND_SCHOOL, district_code="003"
                ),
                metadata=meta(platform, "admin"),
                timeout=5,
            )
        assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
    r = httpx.post(
        f"{platform['registry'].url}/v1/units",
        json={**body, "code": code(), "name": "   ", "district_code": ""},
        headers=admin,
    )
    assert r.status_code in (400, 422)
    assert {f["field"] for f in r.json()["fields"]} >= {"name", "district_code"}


def test_every_accepted_change_is_audited(platform: Platform) -> None:
    unit = new_unit(platform, "Ủy ban nhân dân phường Quang Trung")

    async def audit_rows() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(platform.database_url)
        try:
            return await conn.fetch(
                "SELECT actor, roles, action, object_id FROM registry.audit_log WHERE object_id = $1",
                str(unit["id"]),
            )
        finally:
            await conn.close()

    rows = asyncio.run(audit_rows())
    assert [(r["actor"], list(r["roles"]), r["action"]) for r in rows] == [
        ("test-admin", ["admin"], "unit.create")
    ]


def test_metrics_of_every_service_pass_promtool(platform: Platform) -> None:
    promtool = promtool_path()
    for name in SERVICES:
        text = httpx.get(f"{platform[name].url}/metrics").text
        assert "http_requests_total" in text
        checked = subprocess.run(
            [str(promtool), "check", "metrics"], input=text.encode(), capture_output=True, check=False
        )
        assert checked.returncode == 0, f"{name}: {checked.stdout.decode()} {checked.stderr.decode()}"
    registry_metrics = httpx.get(f"{platform['registry'].url}/metrics").text
    assert 'route="/v1/units/{unit_id}"' in registry_metrics
    assert "grpc_server_handled_total" in registry_metrics
    assert "d07_outbox_pending" in registry_metrics
