"""HTTP door of violation handling (FastAPI): the same handlers as gRPC, JSON in and out.

WatchViolations over HTTP is a long-polling page of the same feed: `GET /v1/violation-activity?cursor=N`
answers with the entries after N (waiting up to `wait_seconds` for some) and the cursor to ask from next.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status
from pydantic import AliasPath, BaseModel, Field

from cameras.violations import service
from cameras.violations.domain import (
    Acknowledge,
    Assign,
    Command,
    CommentOnViolation,
    Dismiss,
    GetViolation,
    HandleViolation,
    HandOver,
    ListViolations,
    ReadFeed,
    Resolve,
    StartHandling,
)
from cameras.violations.service import ViolationsDeps, ViolationsUnitOfWork
from d07.platform.http import Caller, allowed
from d07.platform.readmodel import ReadModel

MAX_WAIT_SECONDS = 25.0


class ViolationRead(ReadModel):
    id: uuid.UUID
    camera_id: uuid.UUID
    camera_code: str
    unit_id: uuid.UUID | None
    kind: str
    priority: str
    status: str
    opened_at: datetime
    first_seen_at: datetime
    last_seen_at: datetime
    detection_count: int
    max_confidence: float
    react_by: datetime
    overdue_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    handed_over_at: datetime | None
    handed_over_by: str | None
    handed_over_to: str | None
    assignee: str | None
    team: str | None
    closed_at: datetime | None
    outcome: str | None
    version: int


class ActivityRead(ReadModel):
    seq: int
    violation_id: uuid.UUID
    at: datetime
    actor: str
    action: str
    details: dict[str, Any]


class CommentRead(ReadModel):
    """A comment is an activity row: its actor is the author, its details' text the text."""

    seq: int
    author: str = Field(validation_alias="actor")
    at: datetime
    text: str = Field("", validation_alias=AliasPath("details", "text"))


class ViolationDetail(ViolationRead):
    activity: list[ActivityRead]
    comments: list[CommentRead]


class DetectionKindRead(ReadModel):
    kind: str = Field(examples=["intrusion"])
    label: str = Field(examples=["Xâm nhập trái phép"])
    open_threshold: float = Field(description="At or above this confidence (0..1) a detection opens one")
    priority: str = Field(examples=["high"])
    reaction_minutes: int = Field(description="Minutes from opening to the reaction deadline (react_by)")


class DetectionKindList(BaseModel):
    items: list[DetectionKindRead]


class ViolationPage(BaseModel):
    items: list[ViolationRead]
    next_page_token: str


class FeedEntry(BaseModel):
    cursor: int
    activity: ActivityRead
    violation: ViolationRead


class FeedPage(BaseModel):
    items: list[FeedEntry]
    cursor: int = Field(
        description="Ask from here next time (the last entry's, or further past rows of others)"
    )


class Versioned(BaseModel):
    version: int = Field(description="The version of the violation as read")


class AcknowledgeIn(Versioned):
    note: str = ""


class HandOverIn(Versioned):
    to: str = Field(examples=["Phòng Cảnh sát QLHC về TTXH, Công an tỉnh"])
    note: str = ""


class AssignIn(Versioned):
    assignee: str = Field(default="", examples=["Thượng úy Nguyễn Văn Hùng"])
    team: str = Field(default="", examples=["Tổ tuần tra 141"])
    note: str = ""


class StartIn(Versioned):
    note: str = ""


class ResolveIn(Versioned):
    outcome: str = Field(examples=["Đã xác minh, lập biên bản xử phạt vi phạm hành chính"])


class DismissIn(Versioned):
    reason: str = Field(examples=["Báo động nhầm: bóng cây lay động trước ống kính"])


class CommentIn(BaseModel):
    text: str = Field(examples=["Đã liên hệ bảo vệ của trường để xác minh"])


def router(deps: ViolationsDeps) -> APIRouter:
    settings, signal = deps.settings, deps.signal
    api = APIRouter(prefix="/v1", tags=["violations"])

    def uow() -> ViolationsUnitOfWork:
        return deps.uow(ViolationsUnitOfWork)

    async def handle(violation_id: str, version: int, cmd: Command, caller: Caller) -> ViolationRead:
        violation = await service.handle(uow(), HandleViolation(violation_id, version, cmd), caller)
        return ViolationRead.model_validate(violation)

    @api.get("/detection-kinds", response_model=DetectionKindList)
    async def list_detection_kinds(caller: Caller) -> DetectionKindList:
        """The detection kinds' thresholds, priorities and reaction minutes (every authenticated role)."""
        kinds = await service.list_detection_kinds(uow(), caller)
        return DetectionKindList(items=[DetectionKindRead.model_validate(k) for k in kinds])

    @api.get("/violations", response_model=ViolationPage)
    async def list_violations(
        caller: Caller,
        status_: Annotated[
            Literal["new", "acknowledged", "in_progress", "resolved", "dismissed"] | None,
            Query(alias="status"),
        ] = None,
        kind: str = "",
        priority: Literal["critical", "high", "medium", "low"] | None = None,
        camera_id: str = "",
        unit_id: str = "",
        district_code: str = "",
        overdue: bool | None = None,
        opened_from: datetime | None = None,
        opened_to: datetime | None = None,
        page_size: int | None = None,
        page_token: str = "",
    ) -> ViolationPage:
        query = ListViolations(
            status=status_ or "", kind=kind, priority=priority or "", camera_id=camera_id, unit_id=unit_id,
            district_code=district_code, overdue=overdue, opened_from=opened_from, opened_to=opened_to,
            page_size=page_size, page_token=page_token,
        )  # fmt: skip
        items, token = await service.list_violations(uow(), query, caller)
        return ViolationPage(items=[ViolationRead.model_validate(v) for v in items], next_page_token=token)

    @api.get("/violations/{violation_id}", response_model=ViolationDetail)
    async def get_violation(violation_id: str, caller: Caller) -> ViolationDetail:
        violation, log = await service.get_violation(uow(), GetViolation(violation_id), caller)
        return ViolationDetail(
            **ViolationRead.model_validate(violation).model_dump(),
            activity=[ActivityRead.model_validate(a) for a in log],
            comments=[CommentRead.model_validate(a) for a in log if a.action == "commented"],
        )

    @api.post(
        "/violations/{violation_id}/acknowledge",
        response_model=ViolationRead,
        dependencies=[allowed(*service.ROLES[Acknowledge])],
    )
    async def acknowledge(violation_id: str, body: AcknowledgeIn, caller: Caller) -> ViolationRead:
        return await handle(violation_id, body.version, Acknowledge(note=body.note), caller)

    @api.post(
        "/violations/{violation_id}/hand-over",
        response_model=ViolationRead,
        dependencies=[allowed(*service.ROLES[HandOver])],
    )
    async def hand_over(violation_id: str, body: HandOverIn, caller: Caller) -> ViolationRead:
        return await handle(violation_id, body.version, HandOver(to=body.to, note=body.note), caller)

    @api.post(
        "/violations/{violation_id}/assign",
        response_model=ViolationRead,
        dependencies=[allowed(*service.ROLES[Assign])],
    )
    async def assign(violation_id: str, body: AssignIn, caller: Caller) -> ViolationRead:
        cmd = Assign(assignee=body.assignee, team=body.team, note=body.note)
        return await handle(violation_id, body.version, cmd, caller)

    @api.post(
        "/violations/{violation_id}/start",
        response_model=ViolationRead,
        dependencies=[allowed(*service.ROLES[StartHandling])],
    )
    async def start(violation_id: str, body: StartIn, caller: Caller) -> ViolationRead:
        return await handle(violation_id, body.version, StartHandling(note=body.note), caller)

    @api.post(
        "/violations/{violation_id}/resolve",
        response_model=ViolationRead,
        dependencies=[allowed(*service.ROLES[Resolve])],
    )
    async def resolve(violation_id: str, body: ResolveIn, caller: Caller) -> ViolationRead:
        return await handle(violation_id, body.version, Resolve(outcome=body.outcome), caller)

    @api.post(
        "/violations/{violation_id}/dismiss",
        response_model=ViolationRead,
        dependencies=[allowed(*service.ROLES[Dismiss])],
    )
    async def dismiss(violation_id: str, body: DismissIn, caller: Caller) -> ViolationRead:
        return await handle(violation_id, body.version, Dismiss(reason=body.reason), caller)

    @api.post(
        "/violations/{violation_id}/comments",
        status_code=status.HTTP_201_CREATED,
        response_model=CommentRead,
        dependencies=[allowed(*service.COMMENTERS)],
    )
    async def add_comment(violation_id: str, body: CommentIn, caller: Caller) -> CommentRead:
        entry = await service.comment(uow(), CommentOnViolation(violation_id, body.text), caller)
        return CommentRead.model_validate(entry)

    @api.get("/violation-activity", response_model=FeedPage)
    async def violation_activity(
        caller: Caller,
        cursor: Annotated[int, Query(ge=0)] = 0,
        wait_seconds: Annotated[float, Query(ge=0, le=MAX_WAIT_SECONDS)] = 0.0,
    ) -> FeedPage:
        query = ReadFeed(
            cursor=cursor, poll_seconds=settings.violation_watch_poll_seconds, wait_seconds=wait_seconds
        )
        entries, next_cursor = await service.feed_page(uow(), query, caller, signal=signal)
        items = [
            FeedEntry(
                cursor=a.seq,
                activity=ActivityRead.model_validate(a),
                violation=ViolationRead.model_validate(v),
            )
            for a, v in entries
        ]
        return FeedPage(items=items, cursor=next_cursor)

    return api
