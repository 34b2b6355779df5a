"""HTTP door of the criteria sets."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from assessment.config import AssessmentDeps
from assessment.criteria import service
from assessment.criteria.domain import ListCriteriaSets
from d07.platform.http import Caller


def router(deps: AssessmentDeps) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["criteria"])

    @api.get("/criteria-sets")
    async def list_criteria_sets(caller: Caller) -> list[dict[str, Any]]:
        found = await service.list_criteria_sets(
            deps.uow(service.CriteriaUnitOfWork), ListCriteriaSets(), caller
        )
        return [asdict(s) for s in found]

    return api
