"""HTTP door of this aggregate (its routes arrive with the aggregate's work)."""

from __future__ import annotations

from fastapi import APIRouter

from d07.platform.runtime import Deps


def router(deps: Deps) -> APIRouter:
    return APIRouter(prefix="/v1")
