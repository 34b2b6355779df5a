"""HTTP door of training (FastAPI): the same handlers as gRPC, JSON in and out."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from d07.platform.convert import parse_uuid
from d07.platform.http import Caller, allowed
from d07.platform.readmodel import ReadModel
from registry.config import RegistryDeps
from registry.training import service as training
from registry.training.domain import (
    AttendanceFilter,
    ClassFilter,
    ClassStatus,
    Outcome,
    RecordCompletion,
    ScheduleClass,
    UpdateClass,
)
from registry.training.service import TrainingUnitOfWork

StatusName = Literal["scheduled", "held", "cancelled"]
OutcomeName = Literal["pending", "completed", "not_completed"]


class ClassCreate(BaseModel):
    title: str = Field(examples=["Lớp bồi dưỡng nghiệp vụ bảo vệ cơ quan, doanh nghiệp năm 2019"])
    organiser: str = Field(examples=["Phòng Cảnh sát quản lý hành chính về trật tự xã hội - Công an tỉnh"])
    starts_on: date
    ends_on: date
    place: str = Field("", examples=["Hội trường Công an tỉnh"])
    capacity: int = Field(examples=[60])
    district_code: str = Field(examples=["001"])


class ClassUpdate(BaseModel):
    """The fields given change; `version` is the one read."""

    version: int
    title: str | None = None
    organiser: str | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    place: str | None = None
    capacity: int | None = None
    district_code: str | None = None
    status: Literal["scheduled", "held"] | None = None


class ClassCancel(BaseModel):
    version: int
    reason: str = Field(examples=["Hoãn do trùng lịch diễn tập phòng cháy"])


class ClassRead(ReadModel):
    id: uuid.UUID
    title: str
    organiser: str
    starts_on: date
    ends_on: date
    place: str
    capacity: int
    district_code: str
    status: StatusName
    enrolled: int
    cancel_reason: str
    version: int
    created_at: datetime
    updated_at: datetime


class ClassPage(BaseModel):
    items: list[ClassRead]
    next_page_token: str


class AttendanceCreate(BaseModel):
    guard_id: str


class AttendanceBatchCreate(BaseModel):
    guard_ids: list[str] = Field(max_length=1000)


class AttendanceCompletion(BaseModel):
    version: int
    completed: bool
    result: str = Field("", examples=["Đạt, xếp loại khá"])


class AttendanceRead(ReadModel):
    id: uuid.UUID
    class_id: uuid.UUID
    guard_id: uuid.UUID
    unit_id: uuid.UUID
    guard_full_name: str
    outcome: OutcomeName
    result: str
    version: int
    enrolled_at: datetime
    completion_recorded_at: datetime | None


class AttendancePage(BaseModel):
    items: list[AttendanceRead]
    next_page_token: str


class AttendanceBatchRead(BaseModel):
    items: list[AttendanceRead]


class TrainingFiguresRead(ReadModel):
    """Counted over the period's classes that are not cancelled (see GET /v1/training/figures)."""

    classes: int
    attendances: int
    completed_attendances: int
    guards_attended: int
    guards_completed: int


FromDate = Annotated[date | None, Query(alias="from", description="classes that start on or after")]
ToDate = Annotated[date | None, Query(alias="to", description="classes that start on or before")]


def _optional_id(value: str | None, field: str) -> uuid.UUID | None:
    return parse_uuid(value, field) if value else None


def router(deps: RegistryDeps) -> APIRouter:

    def uow() -> TrainingUnitOfWork:
        return deps.uow(TrainingUnitOfWork)

    api = APIRouter(prefix="/v1/training", tags=["training"])

    @api.post(
        "/classes",
        status_code=status.HTTP_201_CREATED,
        response_model=ClassRead,
        dependencies=[allowed(*training.ORGANISERS)],
    )
    async def schedule_class(body: ClassCreate, caller: Caller) -> ClassRead:
        cls = await training.schedule_class(uow(), ScheduleClass(**body.model_dump()), caller)
        return ClassRead.model_validate(cls)

    @api.get("/classes", response_model=ClassPage)
    async def list_classes(
        caller: Caller,
        from_date: FromDate = None,
        to_date: ToDate = None,
        district_code: str = "",
        status_: Annotated[list[StatusName], Query(alias="status")] = [],  # noqa: B006 (FastAPI copies it)
        q: str = "",
        page_size: int = 0,
        page_token: str = "",
    ) -> ClassPage:
        flt = ClassFilter(
            from_date=from_date, to_date=to_date, district_code=district_code.strip(),
            statuses=tuple(ClassStatus(s) for s in status_), q=q,
        )  # fmt: skip
        page, token = await training.list_classes(
            uow(), training.ListClasses(flt, page_size, page_token), caller
        )
        return ClassPage(items=[ClassRead.model_validate(c) for c in page], next_page_token=token)

    @api.get("/classes/{class_id}", response_model=ClassRead)
    async def get_class(class_id: str, caller: Caller) -> ClassRead:
        return ClassRead.model_validate(await training.get_class(uow(), training.GetClass(class_id), caller))

    @api.patch("/classes/{class_id}", response_model=ClassRead, dependencies=[allowed(*training.ORGANISERS)])
    async def update_class(class_id: str, body: ClassUpdate, caller: Caller) -> ClassRead:
        cmd = UpdateClass(class_id=parse_uuid(class_id, "class_id"), **body.model_dump())
        return ClassRead.model_validate(await training.update_class(uow(), cmd, caller))

    @api.post(
        "/classes/{class_id}/cancel", response_model=ClassRead, dependencies=[allowed(*training.ORGANISERS)]
    )
    async def cancel_class(class_id: str, body: ClassCancel, caller: Caller) -> ClassRead:
        cls = await training.cancel_class(
            uow(), training.CancelClass(class_id, body.version, body.reason), caller
        )
        return ClassRead.model_validate(cls)

    @api.post(
        "/classes/{class_id}/attendances", status_code=status.HTTP_201_CREATED, response_model=AttendanceRead
    )
    async def enrol_guard(class_id: str, body: AttendanceCreate, caller: Caller) -> AttendanceRead:
        [att] = await training.enrol_guards(uow(), training.EnrolGuards(class_id, [body.guard_id]), caller)
        return AttendanceRead.model_validate(att)

    @api.post(
        "/classes/{class_id}/attendances/batch",
        status_code=status.HTTP_201_CREATED,
        response_model=AttendanceBatchRead,
    )
    async def enrol_guards(class_id: str, body: AttendanceBatchCreate, caller: Caller) -> AttendanceBatchRead:
        atts = await training.enrol_guards(uow(), training.EnrolGuards(class_id, body.guard_ids), caller)
        return AttendanceBatchRead(items=[AttendanceRead.model_validate(a) for a in atts])

    @api.put(
        "/classes/{class_id}/attendances/{guard_id}/completion",
        response_model=AttendanceRead,
        dependencies=[allowed(*training.ORGANISERS)],
    )
    async def record_completion(
        class_id: str, guard_id: str, body: AttendanceCompletion, caller: Caller
    ) -> AttendanceRead:
        cmd = RecordCompletion(
            class_id=parse_uuid(class_id, "class_id"),
            guard_id=parse_uuid(guard_id, "guard_id"),
            version=body.version,
            completed=body.completed,
            result=body.result,
        )
        return AttendanceRead.model_validate(await training.record_completion(uow(), cmd, caller))

    @api.get("/attendances", response_model=AttendancePage)
    async def list_attendances(
        caller: Caller,
        class_id: str | None = None,
        guard_id: str | None = None,
        unit_id: str | None = None,
        from_date: FromDate = None,
        to_date: ToDate = None,
        district_code: str = "",
        class_status: Annotated[list[StatusName], Query()] = [],  # noqa: B006 (FastAPI copies it)
        outcome: OutcomeName | None = None,
        page_size: int = 0,
        page_token: str = "",
    ) -> AttendancePage:
        flt = AttendanceFilter(
            class_id=_optional_id(class_id, "class_id"),
            guard_id=_optional_id(guard_id, "guard_id"),
            unit_id=_optional_id(unit_id, "unit_id"),
            from_date=from_date,
            to_date=to_date,
            district_code=district_code.strip(),
            class_statuses=tuple(ClassStatus(s) for s in class_status),
            outcome=Outcome(outcome) if outcome else None,
        )
        page, token = await training.list_attendances(
            uow(), training.ListAttendances(flt, page_size, page_token), caller
        )
        return AttendancePage(items=[AttendanceRead.model_validate(a) for a in page], next_page_token=token)

    @api.get("/figures", response_model=TrainingFiguresRead)
    async def training_figures(
        caller: Caller, from_date: FromDate = None, to_date: ToDate = None, district_code: str = ""
    ) -> TrainingFiguresRead:
        figures = await training.training_figures(
            uow(), training.GetFigures(from_date, to_date, district_code), caller
        )
        return TrainingFiguresRead.model_validate(figures)

    return api
