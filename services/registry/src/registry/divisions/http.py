"""HTTP door of divisions."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import asyncpg
from fastapi import APIRouter

from d07.platform.http import Caller
from registry.divisions import service


def router(pool: asyncpg.Pool) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["divisions"])

    @api.get("/divisions")
    async def list_divisions(caller: Caller) -> list[dict[str, Any]]:
        """The province's districts with their communes."""
        return [asdict(d) for d in await service.list_divisions(pool, principal=caller)]

    return api
