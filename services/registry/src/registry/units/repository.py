"""SQL of units (asyncpg). Every statement about units lives here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from d07.platform.db import Conn
from registry.units.domain import CreateUnit, Unit, UnitKind, UnitStatus

COLUMNS = (
    "id, code, name, kind, district_code, commune_code, address, status, version, created_at, updated_at"
)


def _unit(row: asyncpg.Record) -> Unit:
    return Unit(
        id=row["id"],
        code=row["code"],
        name=row["name"],
        kind=UnitKind(row["kind"]),
        district_code=row["district_code"],
        commune_code=row["commune_code"],
        address=row["address"],
        status=UnitStatus(row["status"]),
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def add(conn: Conn, *, unit_id: uuid.UUID, cmd: CreateUnit) -> Unit | None:
    """Insert; None when the code is taken."""
    row = await conn.fetchrow(
        f"""INSERT INTO units (id, code, name, kind, district_code, commune_code, address)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (code) DO NOTHING
            RETURNING {COLUMNS}""",
        unit_id,
        cmd.code,
        cmd.name,
        cmd.kind,
        cmd.district_code,
        cmd.commune_code,
        cmd.address,
    )
    return _unit(row) if row else None


async def get(conn: Conn, *, unit_id: uuid.UUID) -> Unit | None:
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM units WHERE id = $1", unit_id)
    return _unit(row) if row else None


async def get_many(conn: Conn, *, unit_ids: Sequence[uuid.UUID]) -> list[Unit]:
    rows = await conn.fetch(f"SELECT {COLUMNS} FROM units WHERE id = ANY($1::uuid[])", list(unit_ids))
    return [_unit(r) for r in rows]
