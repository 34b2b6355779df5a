"""HTTP door of the units read copy."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from assessment.config import AssessmentDeps
from assessment.known_units import service
from assessment.known_units.domain import GetKnownUnit
from d07.platform.http import Caller


def router(deps: AssessmentDeps) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["criteria"])

    @api.get("/known-units/{unit_id}")
    async def get_known_unit(unit_id: str, caller: Caller) -> dict[str, Any]:
        found = await service.get_known_unit(
            deps.uow(service.KnownUnitsUnitOfWork), GetKnownUnit(unit_id), caller
        )
        return asdict(found)

    return api
