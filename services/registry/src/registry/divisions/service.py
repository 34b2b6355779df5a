"""Divisions: loaded at start from the data file; read by everyone; used to check places."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path

from d07.platform.auth import Principal
from d07.platform.db import Conn
from d07.platform.errors import FieldProblem
from d07.platform.logging import get_logger
from d07.platform.uow import UnitOfWork
from registry.divisions.domain import District, Divisions, parse, place_problems
from registry.divisions.repository import DivisionRepository

log = get_logger(__name__)
DATA_FILE = Path(__file__).resolve().parents[3] / "data" / "divisions.json"


class DivisionsUnitOfWork(UnitOfWork):
    divisions: DivisionRepository

    def bind(self, conn: Conn) -> None:
        self.divisions = DivisionRepository(conn)


@dataclass(frozen=True)
class ListDivisions:
    pass


def read(path: Path = DATA_FILE) -> Divisions:
    return parse(json.loads(path.read_text(encoding="utf-8")))


async def ensure_loaded(uow: DivisionsUnitOfWork, path: Path = DATA_FILE) -> None:
    """Load the data file's divisions unless its version is loaded already (at start, before any call)."""
    divisions = await asyncio.to_thread(read, path)
    async with uow:
        await uow.divisions.lock_loading()
        if await uow.divisions.load(divisions):
            log.info("divisions_loaded", version=divisions.version, districts=len(divisions.districts))


async def list_divisions(
    uow: DivisionsUnitOfWork, query: ListDivisions, principal: Principal
) -> list[District]:
    # The province's divisions are public reference data: every authenticated caller may read them.
    async with uow:
        return await uow.divisions.all_districts()


async def check_place(
    divisions: DivisionRepository, *, district_code: str, commune_code: str
) -> list[FieldProblem]:
    """Problems with a place given by codes (empty list when it is a real district and commune of it)."""
    districts, district_of = await divisions.index()
    return place_problems(district_code, commune_code, district_of=district_of, districts=districts)
