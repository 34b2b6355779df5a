"""HTTP door of security forces and guards (FastAPI): the same handlers as gRPC, JSON in and out."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, UploadFile, status
from pydantic import BaseModel, Field

from d07.platform.errors import InvalidArgument
from d07.platform.http import Caller, allowed
from d07.platform.readmodel import ReadModel
from registry.config import RegistryDeps
from registry.forces import service
from registry.forces.domain import ForceDetails, GuardDetails, GuardStatus
from registry.forces.service import ForcesUnitOfWork

MAX_FILE_BYTES = 10 * 1024 * 1024


class SecurityForceCreate(BaseModel):
    established_on: date = Field(examples=["2014-08-15"])
    planned_size: int = Field(examples=[12])
    leader_name: str = Field("", examples=["Trần Văn Hùng"])
    leader_phone: str = Field("", examples=["0912 345 678"])

    def details(self) -> ForceDetails:
        return ForceDetails(self.established_on, self.planned_size, self.leader_name, self.leader_phone)


class SecurityForceUpdate(SecurityForceCreate):
    version: int = Field(description="the version read; a stale one is 409")


class SecurityForceRead(ReadModel):
    id: uuid.UUID
    unit_id: uuid.UUID
    established_on: date
    planned_size: int
    actual_size: int = Field(description="the unit's active guards, counted")
    leader_name: str
    leader_phone: str
    version: int
    created_at: datetime
    updated_at: datetime


class GuardFields(BaseModel):
    full_name: str = Field(examples=["Nguyễn Văn An"])
    birth_year: int = Field(examples=[1985])
    position: str = Field("", examples=["Tổ trưởng"])
    phone: str = Field("", examples=["0987 654 321"])
    joined_on: date | None = None

    def details(self) -> GuardDetails:
        return GuardDetails(self.full_name, self.birth_year, self.position, self.phone, self.joined_on)


class GuardCreate(GuardFields):
    unit_id: str


class GuardUpdate(GuardFields):
    version: int = Field(description="the version read; a stale one is 409")


class GuardLeave(BaseModel):
    version: int = Field(description="the version read; a stale one is 409")
    left_on: date


class GuardRead(ReadModel):
    id: uuid.UUID
    unit_id: uuid.UUID
    full_name: str
    birth_year: int
    position: str
    phone: str
    status: str
    joined_on: date | None
    left_on: date | None
    version: int
    created_at: datetime
    updated_at: datetime


class GuardPage(BaseModel):
    items: list[GuardRead]
    next_page_token: str = Field(description="'' on the last page")


class GuardBatchGet(BaseModel):
    ids: list[str] = Field(max_length=service.MAX_BATCH)


class GuardBatch(BaseModel):
    guards: list[GuardRead]
    missing_ids: list[str]


class GuardImportResult(BaseModel):
    imported: int
    guard_ids: list[uuid.UUID]


def router(deps: RegistryDeps) -> APIRouter:

    def uow() -> ForcesUnitOfWork:
        return deps.uow(ForcesUnitOfWork)

    api = APIRouter(prefix="/v1", tags=["security forces and guards"])

    @api.post(
        "/units/{unit_id}/security-force",
        status_code=status.HTTP_201_CREATED,
        response_model=SecurityForceRead,
    )
    async def establish_force(unit_id: str, body: SecurityForceCreate, caller: Caller) -> SecurityForceRead:
        force = await service.establish_force(uow(), service.EstablishForce(unit_id, body.details()), caller)
        return SecurityForceRead.model_validate(force)

    @api.get("/units/{unit_id}/security-force", response_model=SecurityForceRead)
    async def get_force(unit_id: str, caller: Caller) -> SecurityForceRead:
        return SecurityForceRead.model_validate(
            await service.get_force(uow(), service.GetForce(unit_id), caller)
        )

    @api.put(
        "/units/{unit_id}/security-force",
        response_model=SecurityForceRead,
        dependencies=[allowed(*service.WRITERS)],
    )
    async def update_force(unit_id: str, body: SecurityForceUpdate, caller: Caller) -> SecurityForceRead:
        force = await service.update_force(
            uow(), service.UpdateForce(unit_id, body.version, body.details()), caller
        )
        return SecurityForceRead.model_validate(force)

    @api.post(
        "/guards",
        status_code=status.HTTP_201_CREATED,
        response_model=GuardRead,
        dependencies=[allowed(*service.WRITERS)],
    )
    async def register_guard(body: GuardCreate, caller: Caller) -> GuardRead:
        guard = await service.register_guard(
            uow(), service.RegisterGuard(body.unit_id, body.details()), caller
        )
        return GuardRead.model_validate(guard)

    @api.get("/guards", response_model=GuardPage)
    async def list_guards(
        caller: Caller,
        unit_id: str = "",
        guard_status: Annotated[Literal["active", "left"] | None, Query(alias="status")] = None,
        q: str = "",
        page_size: int = 0,
        page_token: str = "",
    ) -> GuardPage:
        guards, token = await service.list_guards(
            uow(),
            service.ListGuards(
                unit_id=unit_id, status=GuardStatus(guard_status) if guard_status else None, q=q,
                page_size=page_size, page_token=page_token,
            ),
            caller,
        )  # fmt: skip
        return GuardPage(items=[GuardRead.model_validate(g) for g in guards], next_page_token=token)

    @api.post("/guards:batchGet", response_model=GuardBatch)
    async def batch_get_guards(body: GuardBatchGet, caller: Caller) -> GuardBatch:
        found, missing = await service.batch_get_guards(uow(), service.BatchGetGuards(body.ids), caller)
        return GuardBatch(guards=[GuardRead.model_validate(g) for g in found], missing_ids=missing)

    @api.post(
        "/guards:import",
        status_code=status.HTTP_201_CREATED,
        response_model=GuardImportResult,
        dependencies=[allowed(*service.WRITERS)],
    )
    async def import_guards(file: Annotated[UploadFile, File()], caller: Caller) -> GuardImportResult:
        """A multipart upload of an .xlsx or .csv file (headers Mã đơn vị, Họ và tên, Năm sinh, Chức vụ,
        Số điện thoại, Ngày vào làm): all rows are imported, or none and every problem is named."""
        content = await file.read(MAX_FILE_BYTES + 1)
        if len(content) > MAX_FILE_BYTES:
            raise InvalidArgument(
                f"at most {MAX_FILE_BYTES // (1024 * 1024)} MiB per file", code="file_too_large"
            )
        guards = await service.import_guards(
            uow(), service.ImportGuards(file.filename or "", content), caller
        )
        return GuardImportResult(imported=len(guards), guard_ids=[g.id for g in guards])

    @api.get("/guards/{guard_id}", response_model=GuardRead)
    async def get_guard(guard_id: str, caller: Caller) -> GuardRead:
        return GuardRead.model_validate(await service.get_guard(uow(), service.GetGuard(guard_id), caller))

    @api.put("/guards/{guard_id}", response_model=GuardRead, dependencies=[allowed(*service.WRITERS)])
    async def update_guard(guard_id: str, body: GuardUpdate, caller: Caller) -> GuardRead:
        guard = await service.update_guard(
            uow(), service.UpdateGuard(guard_id, body.version, body.details()), caller
        )
        return GuardRead.model_validate(guard)

    @api.post("/guards/{guard_id}:leave", response_model=GuardRead, dependencies=[allowed(*service.WRITERS)])
    async def mark_guard_left(guard_id: str, body: GuardLeave, caller: Caller) -> GuardRead:
        guard = await service.mark_guard_left(
            uow(), service.MarkGuardLeft(guard_id, body.version, body.left_on), caller
        )
        return GuardRead.model_validate(guard)

    return api
