"""HTTP door of cameras."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import asyncpg
from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from cameras.network import service as cameras
from cameras.network.domain import Camera, CreateCamera
from cameras.network.service import Registry
from d07.platform.http import Caller
from d07.platform.runtime import Deps


class CameraCreate(BaseModel):
    code: str = Field(examples=["CAM-00017"])
    name: str = Field(examples=["Cổng chính Trường THPT Chu Văn An"])
    latitude: float
    longitude: float
    unit_id: str = ""
    address: str = ""
    status: Literal["planned", "installed", "decommissioned"] = "planned"


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
        )


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

    @api.get("/cameras/{camera_id}", response_model=CameraRead)
    async def get_camera(camera_id: str, caller: Caller) -> CameraRead:
        return CameraRead.of(await cameras.get_camera(pool, camera_id, principal=caller))

    return api
