"""HTTP door of the registry (FastAPI): the same handlers as gRPC, JSON in and out."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

import asyncpg
from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from d07.platform.http import Caller
from registry.units import service as units
from registry.units.domain import CreateUnit, Unit


class UnitCreate(BaseModel):
    code: str = Field(examples=["THPT-CVA"])
    name: str = Field(examples=["Trường THPT Chu Văn An"])
    kind: Literal["agency", "enterprise", "school"]
    district_code: str = Field(examples=["001"])
    commune_code: str = ""
    address: str = ""


class UnitRead(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    kind: str
    district_code: str
    commune_code: str
    address: str
    status: str
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, unit: Unit) -> UnitRead:
        return cls(
            id=unit.id,
            code=unit.code,
            name=unit.name,
            kind=unit.kind.value,
            district_code=unit.district_code,
            commune_code=unit.commune_code,
            address=unit.address,
            status=unit.status.value,
            version=unit.version,
            created_at=unit.created_at,
            updated_at=unit.updated_at,
        )


def router(pool: asyncpg.Pool) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["units"])

    @api.post("/units", status_code=status.HTTP_201_CREATED, response_model=UnitRead)
    async def create_unit(body: UnitCreate, caller: Caller) -> UnitRead:
        unit = await units.create_unit(pool, CreateUnit(**body.model_dump()), principal=caller)
        return UnitRead.of(unit)

    @api.get("/units/{unit_id}", response_model=UnitRead)
    async def get_unit(unit_id: str, caller: Caller) -> UnitRead:
        return UnitRead.of(await units.get_unit(pool, unit_id, principal=caller))

    return api
