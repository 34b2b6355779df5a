"""HTTP door of the award counts."""

from __future__ import annotations

import uuid
from datetime import date

from fastapi import APIRouter

from d07.platform.http import Caller
from d07.platform.readmodel import ReadModel
from reporting.awards import service
from reporting.awards.service import AwardCountsQuery, AwardsUnitOfWork
from reporting.config import ReportingDeps


class AwardCountRead(ReadModel):
    form_code: str
    recipient_kind: str
    awards: int


def router(deps: ReportingDeps) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["projections"])

    @api.get("/awards/counts")
    async def get_award_counts(
        caller: Caller,
        round_id: uuid.UUID | None = None,
        decided_from: date | None = None,
        decided_to: date | None = None,
    ) -> list[AwardCountRead]:
        query = AwardCountsQuery(round_id=round_id, decided_from=decided_from, decided_to=decided_to)
        counts = await service.award_counts(deps.uow(AwardsUnitOfWork), query, caller)
        return [AwardCountRead.model_validate(c) for c in counts]

    return api
