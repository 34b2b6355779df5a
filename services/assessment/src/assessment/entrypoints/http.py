"""HTTP door of assessment."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import asyncpg
from fastapi import APIRouter

from assessment.service import handlers
from d07.platform.http import Caller


def router(pool: asyncpg.Pool) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["criteria"])

    @api.get("/criteria-sets")
    async def list_criteria_sets(caller: Caller) -> list[dict[str, Any]]:
        return [asdict(s) for s in await handlers.list_criteria_sets(pool, principal=caller)]

    @api.get("/known-units/{unit_id}")
    async def get_known_unit(unit_id: str, caller: Caller) -> dict[str, Any]:
        return asdict(await handlers.get_known_unit(pool, unit_id, principal=caller))

    return api
