"""HTTP door of the camera network. Thin: bodies in, the same handlers as gRPC, bodies out."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import asyncpg
from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from cameras.network import service as cameras
from cameras.network.domain import (
    Camera,
    CameraFilter,
    ChangeStatus,
    CreateCamera,
    InstallationPlan,
    PlanInput,
    Progress,
    UpdateCamera,
)
from cameras.network.service import Registry, parse_id
from d07.platform.http import Caller
from d07.platform.runtime import Deps

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


class CameraRead(BaseModel):
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

    @classmethod
    def of(cls, c: Camera) -> CameraRead:
        return cls(
            id=c.id,
            code=c.code,
            name=c.name,
            unit_id=c.unit_id,
            latitude=c.latitude,
            longitude=c.longitude,
            address=c.address,
            status=c.status.value,
            version=c.version,
            created_at=c.created_at,
            district_code=c.district_code,
            commune_code=c.commune_code,
            agency=c.agency,
            planned_on=c.planned_on,
            installed_on=c.installed_on,
            decommissioned_on=c.decommissioned_on,
            updated_at=c.updated_at,
            online=c.online,
            last_seen_at=c.last_seen_at,
        )


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


class PlanRead(BaseModel):
    id: uuid.UUID
    name: str
    target: int
    starts_on: date | None
    deadline: date
    district_targets: dict[str, int]
    version: int
    created_at: datetime

    @classmethod
    def of(cls, p: InstallationPlan) -> PlanRead:
        return cls(
            id=p.id,
            name=p.name,
            target=p.target,
            starts_on=p.starts_on,
            deadline=p.deadline,
            district_targets=p.district_targets,
            version=p.version,
            created_at=p.created_at,
        )


class ProgressRead(BaseModel):
    district_code: str
    target: int
    planned: int
    installed: int
    decommissioned: int
    installed_by_deadline: int
    remaining: int
    percent_installed: float

    @classmethod
    def of(cls, p: Progress) -> ProgressRead:
        return cls(
            district_code=p.district_code,
            target=p.target,
            planned=p.counts.planned,
            installed=p.counts.installed,
            decommissioned=p.counts.decommissioned,
            installed_by_deadline=p.counts.installed_by_deadline,
            remaining=p.remaining,
            percent_installed=p.percent_installed,
        )


class InstallationProgressRead(BaseModel):
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


class RejectedRead(BaseModel):
    index: int
    reason: str
    camera_id: str


class HeartbeatResult(BaseModel):
    accepted: int
    rejected: list[RejectedRead]


class DayUptime(BaseModel):
    day: date
    online_seconds: int


class UptimeRead(BaseModel):
    camera_id: uuid.UUID
    days: list[DayUptime]
    total_online_seconds: int


def router(deps: Deps) -> APIRouter:
    pool: asyncpg.Pool = deps.pool
    registry: Registry = deps.extra["registry"]
    api = APIRouter(prefix="/v1", tags=["cameras"])

    @api.post("/cameras", status_code=status.HTTP_201_CREATED, response_model=CameraRead)
    async def create_camera(body: CameraCreate, caller: Caller) -> CameraRead:
        camera = await cameras.create_camera(
            pool, registry, CreateCamera(**body.model_dump()), principal=caller
        )
        return CameraRead.of(camera)

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
            unit_id=parse_id(unit_id, "unit_id") if unit_id else None,
            query=q,
            online=online,
        )
        found, token = await cameras.list_cameras(
            pool, where=where, requested_size=page_size, page_token=page_token, principal=caller
        )
        return CameraPage(items=[CameraRead.of(c) for c in found], next_page_token=token)

    @api.get("/cameras/{camera_id}", response_model=CameraRead)
    async def get_camera(camera_id: str, caller: Caller) -> CameraRead:
        return CameraRead.of(await cameras.get_camera(pool, camera_id, principal=caller))

    @api.put("/cameras/{camera_id}", response_model=CameraRead)
    async def update_camera(camera_id: str, body: CameraUpdate, caller: Caller) -> CameraRead:
        cmd = UpdateCamera(camera_id=parse_id(camera_id), **body.model_dump())
        return CameraRead.of(await cameras.update_camera(pool, registry, cmd, principal=caller))

    @api.post("/cameras/{camera_id}/status", response_model=CameraRead)
    async def change_status(camera_id: str, body: StatusChange, caller: Caller) -> CameraRead:
        cmd = ChangeStatus(camera_id=parse_id(camera_id), **body.model_dump())
        return CameraRead.of(await cameras.change_camera_status(pool, cmd, principal=caller))

    @api.get("/cameras/{camera_id}/uptime", response_model=UptimeRead)
    async def camera_uptime(
        camera_id: str,
        caller: Caller,
        from_date: Annotated[date | None, Query(alias="from")] = None,
        to_date: Annotated[date | None, Query(alias="to")] = None,
    ) -> UptimeRead:
        days = await cameras.camera_uptime(pool, camera_id, from_date, to_date, principal=caller)
        return UptimeRead(
            camera_id=parse_id(camera_id),
            days=[DayUptime(day=d, online_seconds=s) for d, s in days.items()],
            total_online_seconds=sum(days.values()),
        )

    @api.post("/heartbeats", response_model=HeartbeatResult)
    async def send_heartbeats(body: HeartbeatBatch, caller: Caller) -> HeartbeatResult:
        accepted, rejected = await cameras.send_heartbeats(
            pool, [(h.camera_id, h.at) for h in body.heartbeats], principal=caller
        )
        return HeartbeatResult(
            accepted=accepted,
            rejected=[RejectedRead(index=r.index, reason=r.reason, camera_id=r.camera_id) for r in rejected],
        )

    @api.post("/installation-plans", status_code=status.HTTP_201_CREATED, response_model=PlanRead)
    async def create_plan(body: PlanWrite, caller: Caller) -> PlanRead:
        return PlanRead.of(await cameras.create_plan(pool, registry, body.command(), principal=caller))

    @api.put("/installation-plans/{plan_id}", response_model=PlanRead)
    async def update_plan(plan_id: str, body: PlanUpdate, caller: Caller) -> PlanRead:
        plan = await cameras.update_plan(
            pool, registry, plan_id, body.version, body.command(), principal=caller
        )
        return PlanRead.of(plan)

    @api.get("/installation-progress", response_model=InstallationProgressRead)
    async def installation_progress(caller: Caller, plan_id: str = "") -> InstallationProgressRead:
        p = await cameras.installation_progress(pool, plan_id, principal=caller)
        return InstallationProgressRead(
            plan=PlanRead.of(p.plan),
            total=ProgressRead.of(p.total),
            districts=[ProgressRead.of(d) for d in p.districts],
            days_left=p.days_left,
            as_of=p.as_of,
        )

    return api
