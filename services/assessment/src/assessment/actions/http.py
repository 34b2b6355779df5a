"""HTTP door of the corrective actions."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from fastapi import APIRouter, status
from pydantic import BaseModel

from assessment.actions import service
from assessment.actions.domain import (
    CloseCorrectiveAction,
    CreateCorrectiveAction,
    ListCorrectiveActions,
    NewCorrectiveAction,
)
from assessment.config import AssessmentDeps
from d07.platform.http import Caller, allowed
from d07.platform.readmodel import ReadModel


class ActionCreate(BaseModel):
    criterion_code: str
    action: str
    owner: str
    due_on: date | None = None


class ActionClose(BaseModel):
    note: str = ""


class ActionRead(ReadModel):
    id: uuid.UUID
    assessment_id: uuid.UUID
    unit_id: uuid.UUID
    criterion_code: str
    action: str
    owner: str
    due_on: date
    status: str
    created_by: str
    created_at: datetime
    closed_by: str | None
    closed_at: datetime | None
    closing_note: str


def router(deps: AssessmentDeps) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["rounds and assessments"])

    def uow() -> service.ActionsUnitOfWork:
        return deps.uow(service.ActionsUnitOfWork)

    @api.post(
        "/assessments/{assessment_id}/corrective-actions",
        status_code=status.HTTP_201_CREATED,
        response_model=ActionRead,
        dependencies=[allowed(*service.CREATORS)],
    )
    async def create_action(assessment_id: str, body: ActionCreate, caller: Caller) -> ActionRead:
        new = NewCorrectiveAction(body.criterion_code, body.action, body.owner, body.due_on)
        created = await service.create_action(uow(), CreateCorrectiveAction(assessment_id, new), caller)
        return ActionRead.model_validate(created)

    @api.get("/corrective-actions", response_model=list[ActionRead])
    async def list_actions(
        caller: Caller, assessment_id: str = "", unit_id: str = "", status: str = ""
    ) -> list[ActionRead]:
        query = ListCorrectiveActions(assessment_id, unit_id, status)
        return [ActionRead.model_validate(c) for c in await service.list_actions(uow(), query, caller)]

    @api.post(
        "/corrective-actions/{action_id}:close",
        response_model=ActionRead,
        dependencies=[allowed(*service.CLOSERS)],
    )
    async def close_action(action_id: str, body: ActionClose, caller: Caller) -> ActionRead:
        closed = await service.close_action(uow(), CloseCorrectiveAction(action_id, body.note), caller)
        return ActionRead.model_validate(closed)

    return api
