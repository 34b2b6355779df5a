"""HTTP door of this aggregate (its routes arrive with the aggregate's work)."""

from __future__ import annotations

import asyncpg
from fastapi import APIRouter


def router(pool: asyncpg.Pool) -> APIRouter:
    return APIRouter(prefix="/v1")
