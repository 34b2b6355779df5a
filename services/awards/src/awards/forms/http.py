"""HTTP door of award forms."""

from __future__ import annotations

from fastapi import APIRouter

from awards.config import AwardsDeps
from awards.forms import service
from awards.forms.service import FormsUnitOfWork, ListForms
from d07.platform.http import Caller
from d07.platform.readmodel import ReadModel


class AwardFormRead(ReadModel):
    code: str
    name: str
    issuer: str
    deciding_role: str


def router(deps: AwardsDeps) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["award forms"])

    @api.get("/award-forms")
    async def list_award_forms(caller: Caller) -> list[AwardFormRead]:
        forms = await service.list_forms(deps.uow(FormsUnitOfWork), ListForms(), caller)
        return [AwardFormRead.model_validate(f) for f in forms]

    return api
