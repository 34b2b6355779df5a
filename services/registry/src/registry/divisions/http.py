"""HTTP door of divisions."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from d07.platform.http import Caller
from registry.config import RegistryDeps
from registry.divisions import service
from registry.divisions.service import DivisionsUnitOfWork, ListDivisions


def router(deps: RegistryDeps) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["divisions"])

    @api.get("/divisions")
    async def list_divisions(caller: Caller) -> list[dict[str, Any]]:
        """The province's districts with their communes."""
        districts = await service.list_divisions(deps.uow(DivisionsUnitOfWork), ListDivisions(), caller)
        return [asdict(d) for d in districts]

    return api
