"""HTTP door of units (FastAPI): the same handlers as gRPC, JSON in and out.

Routes: POST/GET /v1/units, GET/PATCH /v1/units/{unit_id}, GET /v1/units/{unit_id}/status-changes,
POST /v1/units:merge, POST /v1/units/{unit_id}:split, POST /v1/units/{unit_id}:dissolve,
POST /v1/units:import (multipart file), GET /v1/unit-sub-kinds.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, UploadFile, status
from pydantic import BaseModel, Field, model_validator

from d07.platform.convert import parse_uuid, parse_uuids
from d07.platform.errors import FieldProblem, InvalidArgument
from d07.platform.http import Caller, allowed
from d07.platform.readmodel import ReadModel
from registry.config import RegistryDeps
from registry.units import service as units
from registry.units.domain import (
    ChangeKind,
    ChangeStatus,
    CreateUnit,
    StatusChange,
    Unit,
    UpdateUnit,
    unit_filter,
)
from registry.units.service import UnitsUnitOfWork

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
Kind = Literal["agency", "enterprise", "school"]


class UnitHeadModel(BaseModel):
    name: str = Field(default="", examples=["Nguyễn Văn Bình"])
    title: str = Field(default="", examples=["Hiệu trưởng"])


class UnitContactModel(BaseModel):
    phone: str = Field(default="", examples=["0209 3870 123"])
    email: str = Field(default="", examples=["thpt.cva@sonlam.edu.vn"])


class UnitCreate(BaseModel):
    code: str = Field(examples=["THPT-CVA"])
    name: str = Field(examples=["Trường THPT Chu Văn An"])
    kind: Kind
    district_code: str = Field(examples=["001"])
    commune_code: str = ""
    address: str = ""
    sub_kind: str = Field(default="", examples=["high_school"])
    parent_unit_id: str = ""
    parent_name: str = Field(default="", examples=["Sở Giáo dục và Đào tạo"])
    head: UnitHeadModel = Field(default_factory=UnitHeadModel)
    contact: UnitContactModel = Field(default_factory=UnitContactModel)
    staff_count: int | None = None

    def command(self) -> CreateUnit:
        return CreateUnit(
            code=self.code,
            name=self.name,
            kind=self.kind,
            district_code=self.district_code,
            commune_code=self.commune_code,
            address=self.address,
            sub_kind=self.sub_kind,
            parent_unit_id=self.parent_unit_id,
            parent_name=self.parent_name,
            head_name=self.head.name,
            head_title=self.head.title,
            phone=self.contact.phone,
            email=self.contact.email,
            staff_count=self.staff_count,
        )


class UnitUpdate(BaseModel):
    """Only the fields sent change; `version` is the version the caller read."""

    version: int
    name: str | None = None
    kind: Kind | None = None
    sub_kind: str | None = None
    district_code: str | None = None
    commune_code: str | None = None
    address: str | None = None
    parent_unit_id: str | None = None
    parent_name: str | None = None
    head: UnitHeadModel | None = None
    contact: UnitContactModel | None = None
    staff_count: int | None = None

    def changes(self) -> dict[str, Any]:
        sent = self.model_fields_set - {"version"}
        changes: dict[str, Any] = {}
        for name in sent - {"head", "contact"}:
            value = getattr(self, name)
            if value is None and name != "staff_count":
                raise InvalidArgument(
                    "a field sent must have a value", code="invalid_unit",
                    fields=[FieldProblem(name, "null is only allowed for staff_count")],
                )  # fmt: skip
            changes[name] = value
        if "head" in sent and self.head is not None:
            given = self.head.model_fields_set
            changes.update({f"head_{f}": getattr(self.head, f) for f in ("name", "title") if f in given})
        if "contact" in sent and self.contact is not None:
            changes.update(
                {
                    f: getattr(self.contact, f)
                    for f in ("phone", "email")
                    if f in self.contact.model_fields_set
                }
            )
        if not changes:
            raise InvalidArgument(
                "nothing to change",
                code="invalid_unit",
                fields=[FieldProblem("body", "send a field to change")],
            )
        return changes


class UnitRead(ReadModel):
    id: uuid.UUID
    code: str
    name: str
    kind: str
    sub_kind: str
    sub_kind_label: str
    district_code: str
    commune_code: str
    address: str
    parent_unit_id: uuid.UUID | None
    parent_name: str
    head: UnitHeadModel
    contact: UnitContactModel
    staff_count: int | None
    in_scope: bool
    status: str
    version: int
    created_at: datetime
    updated_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _nest(cls, value: Any) -> Any:
        """A unit's head and contact are two fields each in the domain, an object each in JSON."""
        if isinstance(value, Unit):
            return {
                **vars(value),
                "head": UnitHeadModel(name=value.head_name, title=value.head_title),
                "contact": UnitContactModel(phone=value.phone, email=value.email),
            }
        return value


class UnitPage(BaseModel):
    items: list[UnitRead]
    next_page_token: str


class UnitStatusChangeRead(ReadModel):
    id: uuid.UUID
    kind: str
    from_unit_ids: list[uuid.UUID] = Field(validation_alias="from_ids")
    to_unit_ids: list[uuid.UUID] = Field(validation_alias="to_ids")
    effective_on: date
    decision: str
    note: str
    recorded_at: datetime | None


class UnitStatusChangeResult(BaseModel):
    change: UnitStatusChangeRead
    units: list[UnitRead]


class UnitMerge(BaseModel):
    source_ids: list[str] = Field(min_length=1)
    target_id: str
    effective_on: date | None = None
    decision: str = Field(default="", examples=["Quyết định số 125/QĐ-UBND"])
    note: str = ""


class UnitSplit(BaseModel):
    successor_ids: list[str] = Field(min_length=2)
    version: int = 0
    effective_on: date | None = None
    decision: str = ""
    note: str = ""


class UnitDissolve(BaseModel):
    version: int = 0
    effective_on: date | None = None
    decision: str = ""
    note: str = ""


class UnitImportRead(BaseModel):
    imported_count: int
    items: list[UnitRead]


class UnitSubKindRead(ReadModel):
    code: str
    kind: str
    label: str


class UnitScopeRuleRead(ReadModel):
    code: str
    kind: str | None
    sub_kind: str | None
    staff_below: int | None
    reason: str


class UnitClassificationRead(BaseModel):
    sub_kinds: list[UnitSubKindRead]
    scope_rules: list[UnitScopeRuleRead]


def _result(change: StatusChange, ended: list[Unit]) -> UnitStatusChangeResult:
    return UnitStatusChangeResult(
        change=UnitStatusChangeRead.model_validate(change),
        units=[UnitRead.model_validate(u) for u in ended],
    )


def router(deps: RegistryDeps) -> APIRouter:
    def uow() -> UnitsUnitOfWork:
        return deps.uow(UnitsUnitOfWork)

    api = APIRouter(prefix="/v1", tags=["units"])

    @api.post(
        "/units",
        status_code=status.HTTP_201_CREATED,
        response_model=UnitRead,
        dependencies=[allowed(*units.CREATORS)],
    )
    async def create_unit(body: UnitCreate, caller: Caller) -> UnitRead:
        unit = await units.create_unit(uow(), body.command(), caller)
        return UnitRead.model_validate(unit)

    @api.get("/units", response_model=UnitPage)
    async def list_units(
        caller: Caller,
        kind: Kind | None = None,
        sub_kind: str = "",
        district: str = "",
        commune: str = "",
        status: Literal["active", "merged", "dissolved"] | None = None,
        in_scope: bool | None = None,
        q: str = Query(default="", description="words of the name, without regard to case or diacritics"),
        page_size: int = 0,
        page_token: str = "",
    ) -> UnitPage:
        where = unit_filter(
            kind=kind or "",
            sub_kind=sub_kind,
            district_code=district,
            commune_code=commune,
            status=status or "",
            in_scope=in_scope,
            query=q,
        )
        found, token = await units.list_units(uow(), units.ListUnits(where, page_size, page_token), caller)
        return UnitPage(items=[UnitRead.model_validate(u) for u in found], next_page_token=token)

    @api.get("/units/{unit_id}", response_model=UnitRead)
    async def get_unit(unit_id: str, caller: Caller) -> UnitRead:
        return UnitRead.model_validate(await units.get_unit(uow(), units.GetUnit(unit_id), caller))

    @api.patch("/units/{unit_id}", response_model=UnitRead, dependencies=[allowed(*units.EDITORS)])
    async def update_unit(unit_id: str, body: UnitUpdate, caller: Caller) -> UnitRead:
        cmd = UpdateUnit(parse_uuid(unit_id, "id", what="unit id"), body.version, body.changes())
        return UnitRead.model_validate(await units.update_unit(uow(), cmd, caller))

    @api.get("/units/{unit_id}/status-changes", response_model=list[UnitStatusChangeRead])
    async def list_status_changes(unit_id: str, caller: Caller) -> list[UnitStatusChangeRead]:
        changes = await units.list_status_changes(uow(), units.ListStatusChanges(unit_id), caller)
        return [UnitStatusChangeRead.model_validate(c) for c in changes]

    @api.post("/units:merge", response_model=UnitStatusChangeResult, dependencies=[allowed(*units.CREATORS)])
    async def merge_units(body: UnitMerge, caller: Caller) -> UnitStatusChangeResult:
        cmd = ChangeStatus(
            kind=ChangeKind.MERGE,
            from_ids=tuple(parse_uuids(list(body.source_ids), "source_ids", what="unit id")),
            to_ids=(parse_uuid(body.target_id, "target_id", what="unit id"),),
            effective_on=body.effective_on,
            decision=body.decision,
            note=body.note,
        )
        return _result(*await units.change_status(uow(), cmd, caller))

    @api.post(
        "/units/{unit_id}:split",
        response_model=UnitStatusChangeResult,
        dependencies=[allowed(*units.CREATORS)],
    )
    async def split_unit(unit_id: str, body: UnitSplit, caller: Caller) -> UnitStatusChangeResult:
        cmd = ChangeStatus(
            kind=ChangeKind.SPLIT,
            from_ids=(parse_uuid(unit_id, "id", what="unit id"),),
            to_ids=tuple(parse_uuids(list(body.successor_ids), "successor_ids", what="unit id")),
            effective_on=body.effective_on,
            decision=body.decision,
            note=body.note,
            expected_version=body.version,
        )
        return _result(*await units.change_status(uow(), cmd, caller))

    @api.post(
        "/units/{unit_id}:dissolve",
        response_model=UnitStatusChangeResult,
        dependencies=[allowed(*units.CREATORS)],
    )
    async def dissolve_unit(unit_id: str, body: UnitDissolve, caller: Caller) -> UnitStatusChangeResult:
        cmd = ChangeStatus(
            kind=ChangeKind.DISSOLVE,
            from_ids=(parse_uuid(unit_id, "id", what="unit id"),),
            to_ids=(),
            effective_on=body.effective_on,
            decision=body.decision,
            note=body.note,
            expected_version=body.version,
        )
        return _result(*await units.change_status(uow(), cmd, caller))

    @api.post(
        "/units:import",
        status_code=status.HTTP_201_CREATED,
        response_model=UnitImportRead,
        dependencies=[allowed(*units.CREATORS)],
    )
    async def import_units(file: UploadFile, caller: Caller) -> UnitImportRead:
        """An .xlsx or .csv file with Vietnamese headers (Mã đơn vị, Tên đơn vị, Loại hình, Phân loại, Mã
        quận/huyện, Mã xã/phường, Địa chỉ, Cơ quan chủ quản, Thủ trưởng, Chức vụ, Số điện thoại, Email, Số
        cán bộ nhân viên): every unit is registered, or none and every problem is listed by line."""
        content = await file.read(MAX_UPLOAD_BYTES + 1)
        if len(content) > MAX_UPLOAD_BYTES:
            raise InvalidArgument(
                "the file is too large", code="file_too_large",
                fields=[FieldProblem("file", f"at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")],
            )  # fmt: skip
        imported = await units.import_units(uow(), units.ImportUnits(file.filename or "", content), caller)
        return UnitImportRead(
            imported_count=len(imported), items=[UnitRead.model_validate(u) for u in imported]
        )

    @api.get("/unit-sub-kinds", response_model=UnitClassificationRead)
    async def list_sub_kinds(caller: Caller) -> UnitClassificationRead:
        """The sub-kinds of each kind and the rules that put units out of scope of the safety standard."""
        sub_kinds, rules = await units.list_sub_kinds(uow(), units.ListSubKinds(), caller)
        return UnitClassificationRead(
            sub_kinds=[UnitSubKindRead.model_validate(k) for k in sub_kinds],
            scope_rules=[UnitScopeRuleRead.model_validate(r) for r in rules],
        )

    return api
