"""HTTP door of reporting."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import date
from typing import Any

import asyncpg
from fastapi import APIRouter

from d07.platform.http import Caller
from reporting.service.awards import award_counts
from reporting.service.status import projection_status


def router(pool: asyncpg.Pool) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["projections"])

    @api.get("/projections/status")
    async def get_projection_status(caller: Caller) -> dict[str, Any]:
        return asdict(await projection_status(pool, principal=caller))

    @api.get("/awards/counts")
    async def get_award_counts(
        caller: Caller,
        round_id: uuid.UUID | None = None,
        decided_from: date | None = None,
        decided_to: date | None = None,
    ) -> list[dict[str, Any]]:
        return await award_counts(
            pool, round_id=round_id, decided_from=decided_from, decided_to=decided_to, principal=caller
        )

    return api
