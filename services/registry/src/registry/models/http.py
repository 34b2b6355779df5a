"""HTTP door of movement models (FastAPI): the same handlers as gRPC, JSON in and out."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

import asyncpg
from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from d07.platform.http import Caller
from registry.models import service
from registry.models.domain import (
    HostInput,
    ListModels,
    Model,
    ModelCounts,
    ModelInput,
    ModelKind,
    StatusChange,
    UnitHost,
)


class HostIn(BaseModel):
    """Exactly one of unit_id (a unit hosts the model) or commune_code (a community hosts it)."""

    unit_id: str | None = None
    commune_code: str | None = Field(default=None, examples=["00001"])
    residential_area: str = Field(default="", examples=["Tổ dân phố số 3"])


class ModelCreate(BaseModel):
    name: str = Field(examples=["Tổ tự quản về an ninh trật tự tổ dân phố số 3"])
    kind: str = Field(examples=["self_managed_team"])
    host: HostIn
    formation: Literal["built", "consolidated"]
    formed_on: date | None = None
    description: str = ""

    def command(self) -> ModelInput:
        return ModelInput(
            name=self.name,
            kind=self.kind,
            host=HostInput(
                unit_id=self.host.unit_id or "",
                commune_code=self.host.commune_code or "",
                residential_area=self.host.residential_area,
            ),
            formation=self.formation,
            formed_on=self.formed_on,
            description=self.description,
        )


class ModelUpdate(ModelCreate):
    """Every editable field (a full replacement) and the version read."""

    version: int


class ModelStatusUpdate(BaseModel):
    status: Literal["built", "consolidated", "effective", "inactive"]
    changed_on: date | None = None
    note: str = ""
    version: int


class HostRead(BaseModel):
    type: Literal["unit", "community"]
    unit_id: uuid.UUID | None = None
    commune_code: str | None = None
    residential_area: str = ""


class ModelRead(BaseModel):
    id: uuid.UUID
    name: str
    kind: str
    kind_label: str
    host: HostRead
    host_name: str
    district_code: str
    formation: str
    formed_on: date
    status: str
    status_on: date
    description: str
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, m: Model) -> ModelRead:
        host = (
            HostRead(type="unit", unit_id=m.host.unit_id)
            if isinstance(m.host, UnitHost)
            else HostRead(
                type="community", commune_code=m.host.commune_code, residential_area=m.host.residential_area
            )
        )
        return cls(
            id=m.id, name=m.name, kind=m.kind, kind_label=m.kind_label, host=host, host_name=m.host_name,
            district_code=m.district_code, formation=m.formation.value, formed_on=m.formed_on,
            status=m.status.value, status_on=m.status_on, description=m.description, version=m.version,
            created_at=m.created_at, updated_at=m.updated_at,
        )  # fmt: skip


class StatusChangeRead(BaseModel):
    from_status: str | None
    to_status: str
    changed_on: date
    note: str
    actor: str
    recorded_at: datetime | None

    @classmethod
    def of(cls, c: StatusChange) -> StatusChangeRead:
        return cls(
            from_status=c.from_status.value if c.from_status else None, to_status=c.to_status.value,
            changed_on=c.changed_on, note=c.note, actor=c.actor, recorded_at=c.recorded_at,
        )  # fmt: skip


class ModelDetail(ModelRead):
    """A model with its status history, oldest first."""

    history: list[StatusChangeRead]


class ModelPage(BaseModel):
    items: list[ModelRead]
    next_page_token: str


class ModelCountsRead(BaseModel):
    """Models built or consolidated in the period; list them with GET /v1/models and the same filters."""

    from_date: date
    to_date: date
    district_code: str
    total: int
    in_units: int
    in_communities: int

    @classmethod
    def of(cls, c: ModelCounts, *, from_date: date, to_date: date, district_code: str) -> ModelCountsRead:
        return cls(
            from_date=from_date, to_date=to_date, district_code=district_code,
            total=c.total, in_units=c.in_units, in_communities=c.in_communities,
        )  # fmt: skip


class ModelKindRead(BaseModel):
    code: str
    label: str
    host_types: list[str]

    @classmethod
    def of(cls, k: ModelKind) -> ModelKindRead:
        return cls(code=k.code, label=k.label, host_types=sorted(k.host_types))


def router(pool: asyncpg.Pool) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["models"])

    @api.get("/model-kinds", response_model=list[ModelKindRead])
    async def list_model_kinds(caller: Caller) -> list[ModelKindRead]:
        return [ModelKindRead.of(k) for k in await service.list_kinds(pool, principal=caller)]

    @api.get("/model-counts", response_model=ModelCountsRead)
    async def count_models(
        caller: Caller, from_date: date, to_date: date, district_code: str = ""
    ) -> ModelCountsRead:
        """Built or consolidated in the period (inclusive): total, in units, in communities."""
        counts = await service.count_models(
            pool, from_date=from_date, to_date=to_date, district_code=district_code, principal=caller
        )
        return ModelCountsRead.of(counts, from_date=from_date, to_date=to_date, district_code=district_code)

    @api.post("/models", status_code=status.HTTP_201_CREATED, response_model=ModelRead)
    async def create_model(body: ModelCreate, caller: Caller) -> ModelRead:
        return ModelRead.of(await service.create_model(pool, body.command(), principal=caller))

    @api.get("/models", response_model=ModelPage)
    async def list_models(
        caller: Caller,
        kind: str = "",
        status: str = "",
        host_type: str = "",
        district_code: str = "",
        unit_id: str = "",
        commune_code: str = "",
        q: str = "",
        from_date: date | None = None,
        to_date: date | None = None,
        page_size: int | None = Query(default=None),
        page_token: str = "",
    ) -> ModelPage:
        """With from_date and to_date: exactly the models CountModels counts in that period."""
        query = ListModels(
            kind=kind, status=status, host_type=host_type, district_code=district_code, unit_id=unit_id,
            commune_code=commune_code, q=q, from_date=from_date, to_date=to_date, page_size=page_size,
            page_token=page_token,
        )  # fmt: skip
        models, token = await service.list_models(pool, query, principal=caller)
        return ModelPage(items=[ModelRead.of(m) for m in models], next_page_token=token)

    @api.get("/models/{model_id}", response_model=ModelDetail)
    async def get_model(model_id: str, caller: Caller) -> ModelDetail:
        model, history = await service.get_model(pool, model_id, principal=caller)
        return ModelDetail(
            **ModelRead.of(model).model_dump(), history=[StatusChangeRead.of(c) for c in history]
        )

    @api.put("/models/{model_id}", response_model=ModelRead)
    async def update_model(model_id: str, body: ModelUpdate, caller: Caller) -> ModelRead:
        model = await service.update_model(pool, model_id, body.version, body.command(), principal=caller)
        return ModelRead.of(model)

    @api.post("/models/{model_id}/status", response_model=ModelRead)
    async def change_model_status(model_id: str, body: ModelStatusUpdate, caller: Caller) -> ModelRead:
        model = await service.change_status(
            pool, model_id, body.version, body.status, changed_on=body.changed_on, note=body.note,
            principal=caller,
        )  # fmt: skip
        return ModelRead.of(model)

    return api
