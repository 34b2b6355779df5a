"""HTTP door of training (FastAPI): the same handlers as gRPC, JSON in and out."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import asyncpg
from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from d07.platform.http import Caller
from registry.training import service as training
from registry.training.domain import (
    Attendance,
    AttendanceFilter,
    ClassFilter,
    ClassStatus,
    Outcome,
    RecordCompletion,
    ScheduleClass,
    TrainingClass,
    UpdateClass,
)

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


class ClassRead(BaseModel):
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

    @classmethod
    def of(cls, c: TrainingClass) -> ClassRead:
        return cls(
            id=c.id, title=c.title, organiser=c.organiser, starts_on=c.starts_on, ends_on=c.ends_on,
            place=c.place, capacity=c.capacity, district_code=c.district_code, status=c.status.value,
            enrolled=c.enrolled, cancel_reason=c.cancel_reason, version=c.version, created_at=c.created_at,
            updated_at=c.updated_at,
        )  # fmt: skip


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


class AttendanceRead(BaseModel):
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

    @classmethod
    def of(cls, a: Attendance) -> AttendanceRead:
        return cls(
            id=a.id, class_id=a.class_id, guard_id=a.guard_id, unit_id=a.unit_id,
            guard_full_name=a.guard_full_name, outcome=a.outcome.value, result=a.result, version=a.version,
            enrolled_at=a.enrolled_at, completion_recorded_at=a.completion_recorded_at,
        )  # fmt: skip


class AttendancePage(BaseModel):
    items: list[AttendanceRead]
    next_page_token: str


class AttendanceBatchRead(BaseModel):
    items: list[AttendanceRead]


class TrainingFiguresRead(BaseModel):
    """Counted over the period's classes that are not cancelled (see GET /v1/training/figures)."""

    classes: int
    attendances: int
    completed_attendances: int
    guards_attended: int
    guards_completed: int


FromDate = Annotated[date | None, Query(alias="from", description="classes that start on or after")]
ToDate = Annotated[date | None, Query(alias="to", description="classes that start on or before")]


def _optional_id(value: str | None, field: str) -> uuid.UUID | None:
    return training.parse_id(value, field) if value else None


def router(pool: asyncpg.Pool) -> APIRouter:
    api = APIRouter(prefix="/v1/training", tags=["training"])

    @api.post("/classes", status_code=status.HTTP_201_CREATED, response_model=ClassRead)
    async def schedule_class(body: ClassCreate, caller: Caller) -> ClassRead:
        cls = await training.schedule_class(pool, ScheduleClass(**body.model_dump()), principal=caller)
        return ClassRead.of(cls)

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
            pool, flt, size=page_size, page_token=page_token, principal=caller
        )
        return ClassPage(items=[ClassRead.of(c) for c in page], next_page_token=token)

    @api.get("/classes/{class_id}", response_model=ClassRead)
    async def get_class(class_id: str, caller: Caller) -> ClassRead:
        return ClassRead.of(await training.get_class(pool, class_id, principal=caller))

    @api.patch("/classes/{class_id}", response_model=ClassRead)
    async def update_class(class_id: str, body: ClassUpdate, caller: Caller) -> ClassRead:
        cmd = UpdateClass(class_id=training.parse_id(class_id, "class_id"), **body.model_dump())
        return ClassRead.of(await training.update_class(pool, cmd, principal=caller))

    @api.post("/classes/{class_id}/cancel", response_model=ClassRead)
    async def cancel_class(class_id: str, body: ClassCancel, caller: Caller) -> ClassRead:
        cls = await training.cancel_class(
            pool, class_id, version=body.version, reason=body.reason, principal=caller
        )
        return ClassRead.of(cls)

    @api.post(
        "/classes/{class_id}/attendances", status_code=status.HTTP_201_CREATED, response_model=AttendanceRead
    )
    async def enrol_guard(class_id: str, body: AttendanceCreate, caller: Caller) -> AttendanceRead:
        [att] = await training.enrol_guards(pool, class_id, [body.guard_id], principal=caller)
        return AttendanceRead.of(att)

    @api.post(
        "/classes/{class_id}/attendances/batch",
        status_code=status.HTTP_201_CREATED,
        response_model=AttendanceBatchRead,
    )
    async def enrol_guards(class_id: str, body: AttendanceBatchCreate, caller: Caller) -> AttendanceBatchRead:
        atts = await training.enrol_guards(pool, class_id, body.guard_ids, principal=caller)
        return AttendanceBatchRead(items=[AttendanceRead.of(a) for a in atts])

    @api.put("/classes/{class_id}/attendances/{guard_id}/completion", response_model=AttendanceRead)
    async def record_completion(
        class_id: str, guard_id: str, body: AttendanceCompletion, caller: Caller
    ) -> AttendanceRead:
        cmd = RecordCompletion(
            class_id=training.parse_id(class_id, "class_id"),
            guard_id=training.parse_id(guard_id, "guard_id"),
            version=body.version,
            completed=body.completed,
            result=body.result,
        )
        return AttendanceRead.of(await training.record_completion(pool, cmd, principal=caller))

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
            pool, flt, size=page_size, page_token=page_token, principal=caller
        )
        return AttendancePage(items=[AttendanceRead.of(a) for a in page], next_page_token=token)

    @api.get("/figures", response_model=TrainingFiguresRead)
    async def training_figures(
        caller: Caller, from_date: FromDate = None, to_date: ToDate = None, district_code: str = ""
    ) -> TrainingFiguresRead:
        figures = await training.training_figures(
            pool, from_date=from_date, to_date=to_date, district_code=district_code, principal=caller
        )
        return TrainingFiguresRead(**figures.__dict__)

    return api
