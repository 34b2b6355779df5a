"""HTTP door of movement models (FastAPI): the same handlers as gRPC, JSON in and out."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import date, datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field, field_validator, model_validator

from d07.platform.http import Caller, allowed
from d07.platform.readmodel import ReadModel
from registry.config import RegistryDeps
from registry.models import service
from registry.models.domain import (
    HostInput,
    ListModels,
    Model,
    ModelInput,
    UnitHost,
)
from registry.models.service import ModelsUnitOfWork


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


class ModelRead(ReadModel):
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

    @model_validator(mode="before")
    @classmethod
    def _host(cls, value: Any) -> Any:
        """A model's host is one of two kinds in the domain, one object with its `type` in JSON."""
        if not isinstance(value, Model):
            return value
        host = (
            HostRead(type="unit", unit_id=value.host.unit_id)
            if isinstance(value.host, UnitHost)
            else HostRead(
                type="community", commune_code=value.host.commune_code,
                residential_area=value.host.residential_area,
            )
        )  # fmt: skip
        return {**vars(value), "host": host}


class StatusChangeRead(ReadModel):
    from_status: str | None
    to_status: str
    changed_on: date
    note: str
    actor: str
    recorded_at: datetime | None


class ModelDetail(ModelRead):
    """A model with its status history, oldest first."""

    history: list[StatusChangeRead]


class ModelPage(BaseModel):
    items: list[ModelRead]
    next_page_token: str


class ModelCountsRead(ReadModel):
    """Models built or consolidated in the period; list them with GET /v1/models and the same filters."""

    from_date: date
    to_date: date
    district_code: str
    total: int
    in_units: int
    in_communities: int


class ModelKindRead(ReadModel):
    code: str
    label: str
    host_types: list[str]

    @field_validator("host_types", mode="before")
    @classmethod
    def _sorted(cls, value: Any) -> Any:
        return sorted(value)


def router(deps: RegistryDeps) -> APIRouter:

    def uow() -> ModelsUnitOfWork:
        return deps.uow(ModelsUnitOfWork)

    api = APIRouter(prefix="/v1", tags=["models"])

    @api.get("/model-kinds", response_model=list[ModelKindRead])
    async def list_model_kinds(caller: Caller) -> list[ModelKindRead]:
        return [
            ModelKindRead.model_validate(k)
            for k in await service.list_kinds(uow(), service.ListModelKinds(), caller)
        ]

    @api.get("/model-counts", response_model=ModelCountsRead)
    async def count_models(
        caller: Caller, from_date: date, to_date: date, district_code: str = ""
    ) -> ModelCountsRead:
        """Built or consolidated in the period (inclusive): total, in units, in communities."""
        counts = await service.count_models(
            uow(), service.CountModels(from_date, to_date, district_code), caller
        )
        return ModelCountsRead.model_validate(
            {**asdict(counts), "from_date": from_date, "to_date": to_date, "district_code": district_code}
        )

    @api.post(
        "/models",
        status_code=status.HTTP_201_CREATED,
        response_model=ModelRead,
        dependencies=[allowed(*service.WRITERS)],
    )
    async def create_model(body: ModelCreate, caller: Caller) -> ModelRead:
        return ModelRead.model_validate(await service.create_model(uow(), body.command(), caller))

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
        models, token = await service.list_models(uow(), query, caller)
        return ModelPage(items=[ModelRead.model_validate(m) for m in models], next_page_token=token)

    @api.get("/models/{model_id}", response_model=ModelDetail)
    async def get_model(model_id: str, caller: Caller) -> ModelDetail:
        model, history = await service.get_model(uow(), service.GetModel(model_id), caller)
        return ModelDetail.model_validate(
            {**ModelRead.model_validate(model).model_dump(), "history": history}
        )

    @api.put("/models/{model_id}", response_model=ModelRead, dependencies=[allowed(*service.WRITERS)])
    async def update_model(model_id: str, body: ModelUpdate, caller: Caller) -> ModelRead:
        model = await service.update_model(
            uow(), service.UpdateModel(model_id, body.version, body.command()), caller
        )
        return ModelRead.model_validate(model)

    @api.post("/models/{model_id}/status", response_model=ModelRead, dependencies=[allowed(*service.WRITERS)])
    async def change_model_status(model_id: str, body: ModelStatusUpdate, caller: Caller) -> ModelRead:
        model = await service.change_status(
            uow(),
            service.ChangeModelStatus(model_id, body.version, body.status, body.changed_on, body.note),
            caller,
        )
        return ModelRead.model_validate(model)

    return api
