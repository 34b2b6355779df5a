"""Divisions: loaded at start from the data file; read by everyone; used to check places."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg

from d07.platform.auth import Principal
from d07.platform.db import Conn
from d07.platform.errors import FieldProblem
from d07.platform.logging import get_logger
from registry.divisions import repository
from registry.divisions.domain import District, Divisions, parse, place_problems

log = get_logger(__name__)
DATA_FILE = Path(__file__).resolve().parents[3] / "data" / "divisions.json"


def read(path: Path = DATA_FILE) -> Divisions:
    return parse(json.loads(path.read_text(encoding="utf-8")))


async def ensure_loaded(pool: asyncpg.Pool, path: Path = DATA_FILE) -> None:
    divisions = await asyncio.to_thread(read, path)
    async with pool.acquire() as conn, conn.transaction():
        # One replica loads; the others wait on the lock, then find the version loaded.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('d07-registry-divisions'))")
        if await repository.load(conn, divisions):
            log.info("divisions_loaded", version=divisions.version, districts=len(divisions.districts))


async def list_divisions(pool: asyncpg.Pool, *, principal: Principal) -> list[District]:
    # The province's divisions are public reference data: every authenticated caller may read them.
    async with pool.acquire() as conn:
        return await repository.all_districts(conn)


async def check_place(conn: Conn, *, district_code: str, commune_code: str) -> list[FieldProblem]:
    """Problems with a place given by codes (empty list when it is a real district and commune of it)."""
    districts, district_of = await repository.index(conn)
    return place_problems(district_code, commune_code, district_of=district_of, districts=districts)
