"""HTTP door of awards."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import asyncpg
from fastapi import APIRouter

from awards.service.forms import list_forms
from d07.platform.http import Caller


def router(pool: asyncpg.Pool) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["award forms"])

    @api.get("/award-forms")
    async def list_award_forms(caller: Caller) -> list[dict[str, Any]]:
        return [asdict(f) for f in await list_forms(pool, principal=caller)]

    return api
