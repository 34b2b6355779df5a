"""SQL of the units read copy (`units`)."""

from __future__ import annotations

import uuid

from assessment.known_units.domain import KnownUnit, UnitSnapshot
from d07.platform.db import Conn
from d07.platform.db.query import from_row


class KnownUnitRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def upsert(self, s: UnitSnapshot) -> None:
        """Keep the snapshot unless a newer version of the unit is kept already (a replay changes nothing)."""
        u = s.unit
        await self.conn.execute(
            """INSERT INTO units (unit_id, code, name, kind, district_code, version, status, in_scope)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
               ON CONFLICT (unit_id) DO UPDATE SET code = EXCLUDED.code, name = EXCLUDED.name,
                   kind = EXCLUDED.kind, district_code = EXCLUDED.district_code, version = EXCLUDED.version,
                   status = EXCLUDED.status, in_scope = EXCLUDED.in_scope
               WHERE units.version < EXCLUDED.version""",
            u.unit_id, u.code, u.name, u.kind, u.district_code, s.version, s.status, s.in_scope,
        )  # fmt: skip

    async def get(self, unit_id: uuid.UUID) -> KnownUnit | None:
        row = await self.conn.fetchrow("SELECT * FROM units WHERE unit_id = $1", unit_id)
        return from_row(KnownUnit, row) if row else None
