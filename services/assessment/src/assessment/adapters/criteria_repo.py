"""SQL of criteria sets and of the units read copy."""

from __future__ import annotations

import uuid

import asyncpg

from assessment.domain.criteria import CriteriaSet, Criterion, PassRule
from d07.platform.db import Conn


async def list_sets(conn: Conn) -> list[CriteriaSet]:
    sets = await conn.fetch("SELECT * FROM criteria_sets ORDER BY valid_from_year, code, version")
    rows = await conn.fetch("SELECT * FROM criteria ORDER BY set_code, set_version, position")
    return _assemble(sets, rows)


async def get_set(conn: Conn, *, code: str, version: int) -> CriteriaSet | None:
    """One set with its criteria (sets are few and small: the caller may also cache `list_sets`)."""
    sets = await conn.fetch("SELECT * FROM criteria_sets WHERE code = $1 AND version = $2", code, version)
    rows = await conn.fetch(
        "SELECT * FROM criteria WHERE set_code = $1 AND set_version = $2 ORDER BY position", code, version
    )
    found = _assemble(sets, rows)
    return found[0] if found else None


def _assemble(sets: list[asyncpg.Record], rows: list[asyncpg.Record]) -> list[CriteriaSet]:
    by_set: dict[tuple[str, int], list[Criterion]] = {}
    for r in rows:
        by_set.setdefault((r["set_code"], r["set_version"]), []).append(
            Criterion(
                code=r["code"],
                text=r["text"],
                mandatory=r["mandatory"],
                kind=r["kind"],
                derivation=r["derivation"],
            )
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
    status: str = "active",
    in_scope: bool = True,
) -> None:
    await conn.execute(
        """INSERT INTO units (unit_id, code, name, kind, district_code, version, status, in_scope)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (unit_id) DO UPDATE SET code = EXCLUDED.code, name = EXCLUDED.name,
               kind = EXCLUDED.kind, district_code = EXCLUDED.district_code, version = EXCLUDED.version,
               status = EXCLUDED.status, in_scope = EXCLUDED.in_scope
           WHERE units.version < EXCLUDED.version""",
        uuid.UUID(unit_id),
        code,
        name,
        kind,
        district_code,
        version,
        status,
        in_scope,
    )


async def get_unit(conn: Conn, unit_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM units WHERE unit_id = $1", unit_id)
