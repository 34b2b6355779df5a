"""HTTP door of the camera network. Thin: bodies in, the same handlers as gRPC, bodies out."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from pydantic import AliasPath, BaseModel, Field

from cameras.network import service as cameras
from cameras.network.domain import (
    CameraFilter,
    ChangeStatus,
    CreateCamera,
    CreatePlan,
    GetCamera,
    GetProgress,
    GetUptime,
    Heartbeat,
    ListCameras,
    PlanInput,
    SendHeartbeats,
    UpdateCamera,
    UpdatePlan,
)
from cameras.network.service import NetworkDeps, NetworkUnitOfWork
from d07.platform.convert import parse_uuid
from d07.platform.http import Caller, allowed
from d07.platform.readmodel import ReadModel

StatusName = Literal["planned", "installed", "decommissioned"]


class CameraCreate(BaseModel):
    code: str = Field(examples=["CAM-00017"])
    name: str = Field(examples=["Cổng chính Trường THPT Chu Văn An"])
    latitude: float
    longitude: float
    unit_id: str = ""
    address: str = ""
    status: Literal["planned", "installed"] = "planned"
    district_code: str = Field("", examples=["001"])
    commune_code: str = Field("", examples=["00001"])
    agency: str = Field("", examples=["Sở Thông tin và Truyền thông"])
    planned_on: date | None = None
    installed_on: date | None = None


class CameraUpdate(BaseModel):
    version: int
    name: str
    latitude: float
    longitude: float
    address: str = ""
    district_code: str = ""
    commune_code: str = ""
    unit_id: str = ""
    agency: str = ""
    planned_on: date | None = None


class StatusChange(BaseModel):
    version: int
    status: StatusName
    effective_on: date | None = None


class CameraRead(ReadModel):
    id: uuid.UUID
    code: str
    name: str
    unit_id: uuid.UUID | None
    latitude: float
    longitude: float
    address: str
    status: str
    version: int
    created_at: datetime
    district_code: str
    commune_code: str
    agency: str
    planned_on: date | None
    installed_on: date | None
    decommissioned_on: date | None
    updated_at: datetime | None
    online: bool
    last_seen_at: datetime | None


class CameraPage(BaseModel):
    items: list[CameraRead]
    next_page_token: str


class PlanWrite(BaseModel):
    name: str = Field(examples=["Lắp đặt 3.200 camera giám sát ANTT"])
    target: int = Field(examples=[3200])
    starts_on: date | None = None
    deadline: date
    district_targets: dict[str, int] = Field(default_factory=dict, examples=[{"001": 400}])

    def command(self) -> PlanInput:
        return PlanInput(
            name=self.name,
            target=self.target,
            starts_on=self.starts_on,
            deadline=self.deadline,
            district_targets=self.district_targets,
        )


class PlanUpdate(PlanWrite):
    version: int


class PlanRead(ReadModel):
    id: uuid.UUID
    name: str
    target: int
    starts_on: date | None
    deadline: date
    district_targets: dict[str, int]
    version: int
    created_at: datetime


class ProgressRead(ReadModel):
    """A row of progress: the counts are the domain's `counts`, remaining and per cent its properties."""

    district_code: str
    target: int
    planned: int = Field(validation_alias=AliasPath("counts", "planned"))
    installed: int = Field(validation_alias=AliasPath("counts", "installed"))
    decommissioned: int = Field(validation_alias=AliasPath("counts", "decommissioned"))
    installed_by_deadline: int = Field(validation_alias=AliasPath("counts", "installed_by_deadline"))
    remaining: int
    percent_installed: float


class InstallationProgressRead(ReadModel):
    plan: PlanRead
    total: ProgressRead
    districts: list[ProgressRead]
    days_left: int
    as_of: datetime


class HeartbeatIn(BaseModel):
    camera_id: str = Field(examples=["CAM-00017"], description="the camera's code or its id")
    at: datetime | None = None


class HeartbeatBatch(BaseModel):
    heartbeats: list[HeartbeatIn] = Field(max_length=10_000)


class RejectedRead(ReadModel):
    index: int
    reason: str
    camera_id: str


class HeartbeatResult(ReadModel):
    accepted: int
    rejected: list[RejectedRead]


class DayUptime(BaseModel):
    day: date
    online_seconds: int


class UptimeRead(BaseModel):
    camera_id: uuid.UUID
    days: list[DayUptime]
    total_online_seconds: int


def router(deps: NetworkDeps) -> APIRouter:
    registry = deps.registry
    api = APIRouter(prefix="/v1", tags=["cameras"])

    def uow() -> NetworkUnitOfWork:
        return deps.uow(NetworkUnitOfWork)

    @api.post(
        "/cameras",
        status_code=status.HTTP_201_CREATED,
        response_model=CameraRead,
        dependencies=[allowed(*cameras.MANAGERS)],
    )
    async def create_camera(body: CameraCreate, caller: Caller) -> CameraRead:
        cmd = CreateCamera(**body.model_dump())
        return CameraRead.model_validate(await cameras.create_camera(uow(), cmd, caller, registry=registry))

    @api.get("/cameras", response_model=CameraPage)
    async def list_cameras(
        caller: Caller,
        status: StatusName | None = None,
        district_code: str = "",
        commune_code: str = "",
        unit_id: str = "",
        q: Annotated[str, Query(description="words of the code or name; case and diacritics ignored")] = "",
        online: bool | None = None,
        page_size: int = 0,
        page_token: str = "",
    ) -> CameraPage:
        where = CameraFilter(
            status=status or "",
            district_code=district_code,
            commune_code=commune_code,
            unit_id=parse_uuid(unit_id, "unit_id") if unit_id else None,
            query=q,
            online=online,
        )
        found, token = await cameras.list_cameras(uow(), ListCameras(where, page_size, page_token), caller)
        return CameraPage(items=[CameraRead.model_validate(c) for c in found], next_page_token=token)

    @api.get("/cameras/{camera_id}", response_model=CameraRead)
    async def get_camera(camera_id: str, caller: Caller) -> CameraRead:
        return CameraRead.model_validate(await cameras.get_camera(uow(), GetCamera(camera_id), caller))

    @api.put("/cameras/{camera_id}", response_model=CameraRead, dependencies=[allowed(*cameras.MANAGERS)])
    async def update_camera(camera_id: str, body: CameraUpdate, caller: Caller) -> CameraRead:
        cmd = UpdateCamera(camera_id=parse_uuid(camera_id), **body.model_dump())
        return CameraRead.model_validate(await cameras.update_camera(uow(), cmd, caller, registry=registry))

    @api.post(
        "/cameras/{camera_id}/status", response_model=CameraRead, dependencies=[allowed(*cameras.MANAGERS)]
    )
    async def change_status(camera_id: str, body: StatusChange, caller: Caller) -> CameraRead:
        cmd = ChangeStatus(camera_id=parse_uuid(camera_id), **body.model_dump())
        return CameraRead.model_validate(await cameras.change_camera_status(uow(), cmd, caller))

    @api.get("/cameras/{camera_id}/uptime", response_model=UptimeRead)
    async def camera_uptime(
        camera_id: str,
        caller: Caller,
        from_date: Annotated[date | None, Query(alias="from")] = None,
        to_date: Annotated[date | None, Query(alias="to")] = None,
    ) -> UptimeRead:
        days = await cameras.camera_uptime(uow(), GetUptime(camera_id, from_date, to_date), caller)
        return UptimeRead(
            camera_id=parse_uuid(camera_id),
            days=[DayUptime(day=d, online_seconds=s) for d, s in days.items()],
            total_online_seconds=sum(days.values()),
        )

    @api.post(
        "/heartbeats", response_model=HeartbeatResult, dependencies=[allowed(*cameras.HEARTBEAT_SENDERS)]
    )
    async def send_heartbeats(body: HeartbeatBatch, caller: Caller) -> HeartbeatResult:
        cmd = SendHeartbeats(
            [Heartbeat(h.camera_id, h.at) for h in body.heartbeats],
            max_age=timedelta(seconds=deps.settings.heartbeat_max_age_seconds),
        )
        return HeartbeatResult.model_validate(await cameras.send_heartbeats(uow(), cmd, caller))

    @api.post(
        "/installation-plans",
        status_code=status.HTTP_201_CREATED,
        response_model=PlanRead,
        dependencies=[allowed(*cameras.MANAGERS)],
    )
    async def create_plan(body: PlanWrite, caller: Caller) -> PlanRead:
        plan = await cameras.create_plan(uow(), CreatePlan(body.command()), caller, registry=registry)
        return PlanRead.model_validate(plan)

    @api.put(
        "/installation-plans/{plan_id}", response_model=PlanRead, dependencies=[allowed(*cameras.MANAGERS)]
    )
    async def update_plan(plan_id: str, body: PlanUpdate, caller: Caller) -> PlanRead:
        cmd = UpdatePlan(plan_id, body.version, body.command())
        return PlanRead.model_validate(await cameras.update_plan(uow(), cmd, caller, registry=registry))

    @api.get("/installation-progress", response_model=InstallationProgressRead)
    async def installation_progress(caller: Caller, plan_id: str = "") -> InstallationProgressRead:
        p = await cameras.installation_progress(uow(), GetProgress(plan_id), caller)
        return InstallationProgressRead.model_validate(p)

    return api
