"""Handler tests of the camera network with fakes: who may register, change and decommission cameras, set the
installation plan and send heartbeats; the audit rows and events each change writes; the stale-version
refusal; and that a refused command writes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from cameras.network import service
from cameras.network.domain import (
    CameraStatus,
    ChangeStatus,
    CreateCamera,
    CreatePlan,
    GetCamera,
    HealthCounts,
    Heartbeat,
    InstallationPlan,
    PlanInput,
    SendHeartbeats,
    UpdateCamera,
    UpdatePlan,
)
from cameras.network.messages import CAMERAS_TOPIC, PLANS_TOPIC
from d07.cameras.v1 import cameras_pb2 as pb
from d07.platform.auth import ADMIN, CAMERA_GATEWAY, DIC_OPERATOR, UNIT_OFFICER, Principal
from d07.platform.errors import AlreadyExists, Conflict, InvalidArgument, PermissionDenied, StaleVersion
from tests.cameras.service.fakes import COMMUNE, DISTRICT, FakeNetworkUnitOfWork, FakeRegistry, a_camera
from tests.support.principals import acting, caller, every_role
from tests.support.uow import NOW

MANAGERS = {ADMIN, DIC_OPERATOR}
SENDERS = {CAMERA_GATEWAY, ADMIN}
UNIT = uuid.uuid4()

Handler = Callable[..., Awaitable[Any]]


def who(role: str) -> Principal:
    return caller(role, unit_id=UNIT if role == UNIT_OFFICER else None)


async def run(handler: Handler, uow: Any, cmd: Any, principal: Principal, **kw: Any) -> Any:
    with acting(principal):
        return await handler(uow, cmd, principal, **kw)


def assert_nothing_written(uow: FakeNetworkUnitOfWork) -> None:
    assert (uow.audits, uow.events, uow.commits) == ([], [], 0)


async def assert_refused(
    handler: Handler, uow: FakeNetworkUnitOfWork, cmd: Any, role: str, **kw: Any
) -> None:
    with pytest.raises(PermissionDenied) as err:
        await run(handler, uow, cmd, who(role), **kw)
    assert err.value.code == "role_required"
    assert_nothing_written(uow)


def create_cmd(**overrides: Any) -> CreateCamera:
    fields: dict[str, Any] = {
        "code": "cam-00042",
        "name": "Ngã tư Hùng Vương",
        "latitude": 13.77,
        "longitude": 109.22,
        "commune_code": "00001",
        "unit_id": str(UNIT),
    }
    fields.update(overrides)
    return CreateCamera(**fields)


def update_cmd(camera_id: uuid.UUID, version: int = 1, **overrides: Any) -> UpdateCamera:
    fields: dict[str, Any] = {
        "camera_id": camera_id,
        "version": version,
        "name": "Cổng Nam Trường THPT Chu Văn An",
        "latitude": 13.78,
        "longitude": 109.22,
        "district_code": DISTRICT,
        "commune_code": COMMUNE,
    }
    fields.update(overrides)
    return UpdateCamera(**fields)


def plan_input(**overrides: Any) -> PlanInput:
    fields: dict[str, Any] = {
        "name": "Lắp đặt 3.200 camera",
        "target": 3200,
        "deadline": date(2027, 12, 31),
        "district_targets": {DISTRICT: 400},
    }
    fields.update(overrides)
    return PlanInput(**fields)


def a_plan(version: int = 1) -> InstallationPlan:
    return InstallationPlan(
        uuid.uuid4(), "Kế hoạch 2027", 3200, None, date(2027, 12, 31), {DISTRICT: 400}, version, NOW
    )


# --- register a camera ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", every_role())
async def test_the_dic_and_the_admin_register_cameras(role: str) -> None:
    uow, registry = FakeNetworkUnitOfWork(), FakeRegistry(units=[str(UNIT)])
    if role not in MANAGERS:
        await assert_refused(service.create_camera, uow, create_cmd(), role, registry=registry)
        assert registry.asked == []  # refused before the registry is asked
        return
    camera = await run(service.create_camera, uow, create_cmd(), who(role), registry=registry)
    assert (camera.code, camera.district_code, camera.status) == ("CAM-00042", DISTRICT, CameraStatus.PLANNED)
    assert camera.planned_on == date(2026, 12, 3)  # today in the province
    (audit,) = uow.audits
    assert (audit.action, audit.object_type, audit.object_id) == ("camera.create", "camera", str(camera.id))
    assert audit.unit_id == str(UNIT)
    (event,) = uow.events
    assert (event.topic, event.key, event.type) == (
        CAMERAS_TOPIC,
        str(camera.id),
        "d07.cameras.v1.CameraRegistered",
    )
    assert isinstance(event.message, pb.CameraRegistered)
    assert (event.message.camera.id, event.message.camera.code) == (str(camera.id), "CAM-00042")
    assert event.message.actor.subject == f"{role}-tester"


async def test_a_taken_code_or_an_unknown_unit_registers_nothing() -> None:
    uow = FakeNetworkUnitOfWork(a_camera(code="CAM-00042"))
    with pytest.raises(AlreadyExists) as taken:
        await run(
            service.create_camera, uow, create_cmd(), who(ADMIN), registry=FakeRegistry(units=[str(UNIT)])
        )
    assert taken.value.code == "camera_code_taken"
    with pytest.raises(InvalidArgument) as unknown:
        await run(
            service.create_camera, uow, create_cmd(code="CAM-00043"), who(ADMIN), registry=FakeRegistry()
        )
    assert unknown.value.code == "unknown_unit"
    assert (uow.audits, uow.events) == ([], [])


# --- update a camera ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", every_role())
async def test_the_dic_and_the_admin_update_cameras(role: str) -> None:
    camera = a_camera()
    uow = FakeNetworkUnitOfWork(camera)
    cmd = update_cmd(camera.id)
    if role not in MANAGERS:
        await assert_refused(service.update_camera, uow, cmd, role, registry=FakeRegistry())
        return
    updated = await run(service.update_camera, uow, cmd, who(role), registry=FakeRegistry())
    assert (updated.version, updated.name) == (2, "Cổng Nam Trường THPT Chu Văn An")
    (audit,) = uow.audits
    assert (audit.action, audit.object_type, audit.object_id) == ("camera.update", "camera", str(camera.id))
    assert audit.details == {
        "changes": {
            "name": {"old": "Cổng chính Trường THPT Chu Văn An", "new": "Cổng Nam Trường THPT Chu Văn An"},
            "latitude": {"old": 13.77, "new": 13.78},
        },
        "version": 2,
    }
    (event,) = uow.events
    assert (event.topic, event.key, event.type) == (
        CAMERAS_TOPIC,
        str(camera.id),
        "d07.cameras.v1.CameraUpdated",
    )
    assert isinstance(event.message, pb.CameraUpdated)
    assert event.message.camera.version == 2
    assert event.message.previous_status == pb.CAMERA_STATUS_UNSPECIFIED


async def test_an_update_on_a_stale_version_is_refused_and_writes_nothing() -> None:
    camera = a_camera(version=3)
    uow = FakeNetworkUnitOfWork(camera)
    with pytest.raises(StaleVersion) as err:
        await run(
            service.update_camera, uow, update_cmd(camera.id, version=2), who(ADMIN), registry=FakeRegistry()
        )
    assert (err.value.code, err.value.resource_type) == ("stale_version", "camera")
    assert (uow.audits, uow.events) == ([], [])
    assert uow.cameras.cameras[camera.id] == camera  # type: ignore[attr-defined]


async def test_an_update_that_changes_nothing_writes_nothing() -> None:
    camera = a_camera()
    uow = FakeNetworkUnitOfWork(camera)
    cmd = update_cmd(
        camera.id, name=camera.name, latitude=camera.latitude, longitude=camera.longitude,
        commune_code=camera.commune_code, planned_on=camera.planned_on,
    )  # fmt: skip
    assert await run(service.update_camera, uow, cmd, who(ADMIN), registry=FakeRegistry()) == camera
    assert (uow.audits, uow.events) == ([], [])


# --- status: install, decommission ----------------------------------------------------------------------


@pytest.mark.parametrize("role", every_role())
async def test_the_dic_and_the_admin_decommission_cameras(role: str) -> None:
    camera = a_camera(online=True, last_seen_at=NOW - timedelta(minutes=1))
    uow = FakeNetworkUnitOfWork(camera)
    cmd = ChangeStatus(camera.id, 1, "decommissioned")
    if role not in MANAGERS:
        await assert_refused(service.change_camera_status, uow, cmd, role)
        return
    updated = await run(service.change_camera_status, uow, cmd, who(role))
    assert (updated.status, updated.decommissioned_on, updated.online) == (
        CameraStatus.DECOMMISSIONED, date(2026, 12, 3), False,
    )  # fmt: skip
    (audit,) = uow.audits
    assert (audit.action, audit.object_type, audit.object_id) == (
        "camera.decommissioned", "camera", str(camera.id),
    )  # fmt: skip
    assert audit.details == {
        "from": "installed",
        "to": "decommissioned",
        "changes": {
            "status": {"old": "installed", "new": "decommissioned"},
            "decommissioned_on": {"old": None, "new": "2026-12-03"},
            "online": {"old": True, "new": False},
        },
        "version": 2,
    }
    (event,) = uow.events
    assert (event.topic, event.key, event.type) == (
        CAMERAS_TOPIC,
        str(camera.id),
        "d07.cameras.v1.CameraUpdated",
    )
    assert isinstance(event.message, pb.CameraUpdated)
    assert event.message.previous_status == pb.CAMERA_STATUS_INSTALLED
    assert event.message.camera.status == pb.CAMERA_STATUS_DECOMMISSIONED


async def test_installing_a_planned_camera_is_audited_as_installed() -> None:
    camera = a_camera(status=CameraStatus.PLANNED, installed_on=None)
    uow = FakeNetworkUnitOfWork(camera)
    await run(service.change_camera_status, uow, ChangeStatus(camera.id, 1, "installed"), who(DIC_OPERATOR))
    assert uow.actions() == ["camera.installed"]
    assert uow.event_types() == ["CameraUpdated"]


async def test_a_status_change_on_a_stale_version_or_backwards_writes_nothing() -> None:
    camera = a_camera(version=2)
    uow = FakeNetworkUnitOfWork(camera)
    with pytest.raises(StaleVersion):
        await run(service.change_camera_status, uow, ChangeStatus(camera.id, 1, "decommissioned"), who(ADMIN))
    with pytest.raises(Conflict) as backwards:
        await run(service.change_camera_status, uow, ChangeStatus(camera.id, 2, "planned"), who(ADMIN))
    assert backwards.value.code == "invalid_status_change"
    assert (uow.audits, uow.events, uow.commits) == ([], [], 0)


# --- the installation plan ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", every_role())
async def test_the_dic_and_the_admin_set_the_installation_plan(role: str) -> None:
    uow = FakeNetworkUnitOfWork()
    cmd = CreatePlan(plan_input())
    if role not in MANAGERS:
        await assert_refused(service.create_plan, uow, cmd, role, registry=FakeRegistry())
        return
    plan = await run(service.create_plan, uow, cmd, who(role), registry=FakeRegistry())
    (audit,) = uow.audits
    assert (audit.action, audit.object_type, audit.object_id) == (
        "installation_plan.create", "installation_plan", str(plan.id),
    )  # fmt: skip
    (event,) = uow.events
    assert (event.topic, event.key, event.type) == (
        PLANS_TOPIC,
        str(plan.id),
        "d07.cameras.v1.InstallationPlanSet",
    )
    assert isinstance(event.message, pb.InstallationPlanSet)
    assert (event.message.plan.target, event.message.plan.version) == (3200, 1)


@pytest.mark.parametrize("role", every_role())
async def test_the_dic_and_the_admin_update_the_installation_plan(role: str) -> None:
    uow = FakeNetworkUnitOfWork()
    plan = a_plan()
    uow.plans.plans[plan.id] = plan  # type: ignore[attr-defined]
    cmd = UpdatePlan(str(plan.id), 1, plan_input(target=3300))
    if role not in MANAGERS:
        await assert_refused(service.update_plan, uow, cmd, role, registry=FakeRegistry())
        return
    updated = await run(service.update_plan, uow, cmd, who(role), registry=FakeRegistry())
    assert (updated.target, updated.version) == (3300, 2)
    (audit,) = uow.audits
    assert (audit.action, audit.object_type, audit.object_id) == (
        "installation_plan.update", "installation_plan", str(plan.id),
    )  # fmt: skip
    assert audit.details["version"] == 2
    assert audit.details["changes"] == {
        "name": {"old": plan.name, "new": cmd.plan.name},
        "target": {"old": plan.target, "new": 3300},
    }
    (event,) = uow.events
    assert (event.topic, event.key, event.type) == (
        PLANS_TOPIC,
        str(plan.id),
        "d07.cameras.v1.InstallationPlanSet",
    )


async def test_a_plan_update_on_a_stale_version_or_an_unknown_district_writes_nothing() -> None:
    uow = FakeNetworkUnitOfWork()
    plan = a_plan(version=4)
    uow.plans.plans[plan.id] = plan  # type: ignore[attr-defined]
    with pytest.raises(StaleVersion) as stale:
        await run(
            service.update_plan,
            uow,
            UpdatePlan(str(plan.id), 3, plan_input()),
            who(ADMIN),
            registry=FakeRegistry(),
        )
    assert (stale.value.code, stale.value.resource_type) == ("stale_version", "installation_plan")
    with pytest.raises(InvalidArgument) as unknown:
        await run(
            service.update_plan, uow, UpdatePlan(str(plan.id), 4, plan_input(district_targets={"999": 5})),
            who(ADMIN), registry=FakeRegistry(),
        )  # fmt: skip
    assert unknown.value.code == "unknown_division"
    assert (uow.audits, uow.events, uow.commits) == ([], [], 0)
    assert uow.plans.plans[plan.id] == plan  # type: ignore[attr-defined]


# --- heartbeats -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", every_role())
async def test_gateways_and_the_admin_send_heartbeats(role: str) -> None:
    camera = a_camera()  # installed, never seen
    uow = FakeNetworkUnitOfWork(camera)
    cmd = SendHeartbeats([Heartbeat(camera.code)])
    if role not in SENDERS:
        await assert_refused(service.send_heartbeats, uow, cmd, role)
        return
    result = await run(service.send_heartbeats, uow, cmd, who(role))
    assert (result.accepted, result.rejected) == (1, [])
    assert uow.audits == []  # a machine's pulse is not audited; the transition is an event
    (event,) = uow.events
    assert (event.topic, event.key, event.type) == (
        CAMERAS_TOPIC,
        str(camera.id),
        "d07.cameras.v1.CameraCameOnline",
    )
    assert isinstance(event.message, pb.CameraCameOnline)
    assert (event.message.camera_id, event.message.code) == (str(camera.id), camera.code)
    assert uow.cameras.cameras[camera.id].online  # type: ignore[attr-defined]


async def test_each_refused_heartbeat_is_named_by_index_and_reason() -> None:
    seen = a_camera(code="CAM-00001", online=True, last_seen_at=NOW - timedelta(seconds=30))
    gone = a_camera(code="CAM-00002", status=CameraStatus.DECOMMISSIONED)
    uow = FakeNetworkUnitOfWork(seen, gone)
    cmd = SendHeartbeats(
        [
            Heartbeat("cam-00001"),
            Heartbeat("x"),
            Heartbeat("CAM-99999"),
            Heartbeat(str(gone.id)),
            Heartbeat(seen.code, NOW + timedelta(minutes=6)),
            Heartbeat(str(seen.id)),
        ],
        first_index=10,
    )
    result = await run(service.send_heartbeats, uow, cmd, who(CAMERA_GATEWAY))
    assert result.accepted == 2
    assert [(r.index, r.reason) for r in result.rejected] == [
        (11, "invalid_camera_id"), (12, "unknown_camera"), (13, "decommissioned"), (14, "future_time"),
    ]  # fmt: skip
    assert uow.events == []  # online already: seen again, no transition
    assert uow.cameras.cameras[seen.id].last_seen_at == NOW  # type: ignore[attr-defined]


async def test_a_heartbeat_dated_before_registration_or_too_long_ago_is_refused_and_changes_nothing() -> None:
    """Issue 13: a first heartbeat dated years back made a camera online for those years (the 2026 report's
    online hours jumped from 0 to 8.088)."""
    camera = a_camera(code="CAM-00001")  # registered 30 days ago, never seen
    uow = FakeNetworkUnitOfWork(camera)
    registered = uow.cameras.cameras[camera.id].created_at  # type: ignore[attr-defined]
    cmd = SendHeartbeats(
        [
            Heartbeat(camera.code, datetime(2025, 1, 1, tzinfo=UTC)),  # years ago
            Heartbeat(str(camera.id), registered - timedelta(hours=2)),  # before registration, inside the age
            Heartbeat(camera.code, NOW - timedelta(days=2)),  # after registration, older than the max age
        ],
        max_age=timedelta(days=40),
    )
    result = await run(service.send_heartbeats, uow, cmd, who(CAMERA_GATEWAY))
    assert result.accepted == 1
    assert [(r.index, r.reason) for r in result.rejected] == [(0, "too_old"), (1, "before_registration")]
    result = await run(
        service.send_heartbeats,
        uow,
        SendHeartbeats([Heartbeat(camera.code, NOW - timedelta(days=2))]),
        who(CAMERA_GATEWAY),
    )
    assert [(r.index, r.reason) for r in result.rejected] == [(0, "too_old")]  # the default: a day


async def test_a_refused_old_heartbeat_writes_nothing() -> None:
    camera = a_camera(code="CAM-00001")
    uow = FakeNetworkUnitOfWork(camera)
    cmd = SendHeartbeats([Heartbeat(camera.code, datetime(2019, 8, 29, tzinfo=UTC))])
    result = await run(service.send_heartbeats, uow, cmd, who(CAMERA_GATEWAY))
    assert (result.accepted, [r.reason for r in result.rejected]) == (0, ["too_old"])
    assert uow.events == []
    assert not uow.cameras.cameras[camera.id].online  # type: ignore[attr-defined]


async def test_silent_cameras_go_offline_each_with_one_event() -> None:
    silent = a_camera(code="CAM-00001", online=True, last_seen_at=NOW - timedelta(minutes=10))
    alive = a_camera(code="CAM-00002", online=True, last_seen_at=NOW - timedelta(seconds=10))
    uow = FakeNetworkUnitOfWork(silent, alive)
    assert await service.take_offline(uow, offline_after_seconds=300) == [silent.id]
    assert uow.audits == []
    (event,) = uow.events
    assert (event.topic, event.key, event.type) == (
        CAMERAS_TOPIC,
        str(silent.id),
        "d07.cameras.v1.CameraWentOffline",
    )
    assert await service.take_offline(uow, offline_after_seconds=300) == []  # once
    assert await service.health_counts(uow) == HealthCounts(online=1, offline=1, installed=2)


# --- reads: a unit officer sees its own unit's cameras -----------------------------------------------------


async def test_a_unit_officer_reads_its_own_units_camera_only() -> None:
    own, other = a_camera(unit_id=UNIT), a_camera(code="CAM-00018", unit_id=uuid.uuid4())
    uow = FakeNetworkUnitOfWork(own, other)
    officer = who(UNIT_OFFICER)
    assert await run(service.get_camera, uow, GetCamera(str(own.id)), officer) == own
    with pytest.raises(PermissionDenied):
        await run(service.get_camera, uow, GetCamera(str(other.id)), officer)
    with pytest.raises(PermissionDenied) as gateway:
        await run(service.get_camera, uow, GetCamera(str(own.id)), who(CAMERA_GATEWAY))
    assert gateway.value.code == "role_required"
