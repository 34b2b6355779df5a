"""SQL of criteria sets and of the units read copy."""

from __future__ import annotations

import uuid

import asyncpg

from assessment.domain.criteria import CriteriaSet, Criterion, PassRule
from d07.platform.db import Conn


async def list_sets(conn: Conn) -> list[CriteriaSet]:
    sets = await conn.fetch("SELECT * FROM criteria_sets ORDER BY valid_from_year, code, version")
    rows = await conn.fetch("SELECT * FROM criteria ORDER BY set_code, set_version, position")
    by_set: dict[tuple[str, int], list[Criterion]] = {}
    for r in rows:
        by_set.setdefault((r["set_code"], r["set_version"]), []).append(
            Criterion(code=r["code"], text=r["text"], mandatory=r["mandatory"])
        )
    return [
        CriteriaSet(
            code=s["code"],
            version=s["version"],
            title=s["title"],
            valid_from_year=s["valid_from_year"],
            valid_to_year=s["valid_to_year"],
            pass_rule=PassRule(s["pass_rule"]),
            unit_kinds=tuple(s["unit_kinds"]),
            criteria=tuple(by_set.get((s["code"], s["version"]), [])),
        )
        for s in sets
    ]


async def upsert_unit(
    conn: Conn,
    *,
    unit_id: str,
    code: str,
    name: str,
    kind: str,
    district_code: str,
    version: int,
) -> None:
    await conn.execute(
        """INSERT INTO units (unit_id, code, name, kind, district_code, version)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (unit_id) DO UPDATE SET code = EXCLUDED.code, name = EXCLUDED.name,
               kind = EXCLUDED.kind, district_code = EXCLUDED.district_code, version = EXCLUDED.version
           WHERE units.version < EXCLUDED.version""",
        uuid.UUID(unit_id),
        code,
        name,
        kind,
        district_code,
        version,
    )


async def get_unit(conn: Conn, unit_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM units WHERE unit_id = $1", unit_id)
