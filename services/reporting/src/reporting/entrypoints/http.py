"""HTTP door of reporting."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import asyncpg
from fastapi import APIRouter

from d07.platform.http import Caller
from reporting.service.status import projection_status


def router(pool: asyncpg.Pool) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["projections"])

    @api.get("/projections/status")
    async def get_projection_status(caller: Caller) -> dict[str, Any]:
        return asdict(await projection_status(pool, principal=caller))

    return api
