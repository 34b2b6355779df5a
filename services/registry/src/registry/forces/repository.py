"""SQL of security forces and guards (asyncpg). Every statement about them lives here."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

import asyncpg

from d07.platform.db import Conn
from d07.platform.db.query import Where, from_row, like_pattern
from registry.forces.domain import DuplicateKey, ForceDetails, Guard, GuardDetails, GuardStatus, SecurityForce

# The actual size is counted, never stored: a unit's active guards.
_ACTUAL_SIZE = "(SELECT count(*) FROM guards g WHERE g.unit_id = f.unit_id AND g.status = 'active')::int"
FORCE_COLUMNS = (
    "f.id, f.unit_id, f.established_on, f.planned_size, f.leader_name, f.leader_phone, f.version, "
    f"f.created_at, f.updated_at, {_ACTUAL_SIZE} AS actual_size"
)
GUARD_COLUMNS = (
    "id, unit_id, full_name, search_name, birth_year, position, phone, status, joined_on, left_on, version, "
    "created_at, updated_at"
)


def _force(row: asyncpg.Record) -> SecurityForce:
    return from_row(SecurityForce, dict(row))


def _guard(row: asyncpg.Record) -> Guard:
    return from_row(Guard, dict(row), status=GuardStatus(row["status"]))


# --- units (read only: they belong to the units aggregate) ------------------------------------------


class ForceRepository:
    """Security forces and guards, and the units they belong to (read only)."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def unit_exists(self, *, unit_id: uuid.UUID) -> bool:
        return bool(await self.conn.fetchval("SELECT EXISTS (SELECT 1 FROM units WHERE id = $1)", unit_id))

    async def units_by_code(self, *, codes: Sequence[str]) -> dict[str, uuid.UUID]:
        rows = await self.conn.fetch("SELECT code, id FROM units WHERE code = ANY($1::text[])", list(codes))
        return {r["code"]: r["id"] for r in rows}

    async def add_force(
        self, *, force_id: uuid.UUID, unit_id: uuid.UUID, details: ForceDetails
    ) -> SecurityForce | None:
        """Insert; None when the unit has a force already."""
        row = await self.conn.fetchrow(
            f"""INSERT INTO security_forces AS f
                    (id, unit_id, established_on, planned_size, leader_name, leader_phone)
                VALUES ($1, $2, $3, $4, $5, $6)
                ON CONFLICT (unit_id) DO NOTHING
                RETURNING {FORCE_COLUMNS}""",
            force_id,
            unit_id,
            details.established_on,
            details.planned_size,
            details.leader_name,
            details.leader_phone,
        )
        return _force(row) if row else None

    async def get_force(self, *, unit_id: uuid.UUID, for_update: bool = False) -> SecurityForce | None:
        lock = " FOR UPDATE OF f" if for_update else ""
        row = await self.conn.fetchrow(
            f"SELECT {FORCE_COLUMNS} FROM security_forces f WHERE f.unit_id = $1{lock}", unit_id
        )
        return _force(row) if row else None

    async def update_force(self, *, unit_id: uuid.UUID, details: ForceDetails) -> SecurityForce:
        row = await self.conn.fetchrow(
            f"""UPDATE security_forces AS f
                SET established_on = $2, planned_size = $3, leader_name = $4, leader_phone = $5,
                    version = f.version + 1, updated_at = now()
                WHERE f.unit_id = $1
                RETURNING {FORCE_COLUMNS}""",
            unit_id,
            details.established_on,
            details.planned_size,
            details.leader_name,
            details.leader_phone,
        )
        assert row is not None, "the caller locked the row"
        return _force(row)

    async def add_guards(self, *, guards: Sequence[tuple[uuid.UUID, uuid.UUID, GuardDetails]]) -> list[Guard]:
        """Insert `(guard id, unit id, details)` rows with one statement; the guards in the order given."""
        ids = [g[0] for g in guards]
        rows = await self.conn.fetch(
            f"""INSERT INTO guards
                    (id, unit_id, full_name, search_name, birth_year, position, phone, joined_on)
                SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::int[], $6::text[],
                                     $7::text[], $8::date[])
                RETURNING {GUARD_COLUMNS}""",
            ids,
            [g[1] for g in guards],
            [g[2].full_name for g in guards],
            [g[2].search_name for g in guards],
            [g[2].birth_year for g in guards],
            [g[2].position for g in guards],
            [g[2].phone for g in guards],
            [g[2].joined_on for g in guards],
        )
        by_id = {r["id"]: _guard(r) for r in rows}
        return [by_id[i] for i in ids]

    async def get_guard(self, *, guard_id: uuid.UUID, for_update: bool = False) -> Guard | None:
        lock = " FOR UPDATE" if for_update else ""
        row = await self.conn.fetchrow(f"SELECT {GUARD_COLUMNS} FROM guards WHERE id = $1{lock}", guard_id)
        return _guard(row) if row else None

    async def get_guards(self, *, guard_ids: Sequence[uuid.UUID]) -> list[Guard]:
        rows = await self.conn.fetch(
            f"SELECT {GUARD_COLUMNS} FROM guards WHERE id = ANY($1::uuid[])", list(guard_ids)
        )
        return [_guard(r) for r in rows]

    async def update_guard(self, *, guard_id: uuid.UUID, details: GuardDetails) -> Guard:
        row = await self.conn.fetchrow(
            f"""UPDATE guards
                SET full_name = $2, search_name = $3, birth_year = $4, position = $5, phone = $6,
                    joined_on = $7,
                    version = version + 1, updated_at = now()
                WHERE id = $1
                RETURNING {GUARD_COLUMNS}""",
            guard_id,
            details.full_name,
            details.search_name,
            details.birth_year,
            details.position,
            details.phone,
            details.joined_on,
        )
        assert row is not None, "the caller locked the row"
        return _guard(row)

    async def mark_left(self, *, guard_id: uuid.UUID, left_on: date) -> Guard:
        row = await self.conn.fetchrow(
            f"""UPDATE guards SET status = 'left', left_on = $2, version = version + 1, updated_at = now()
                WHERE id = $1
                RETURNING {GUARD_COLUMNS}""",
            guard_id,
            left_on,
        )
        assert row is not None, "the caller locked the row"
        return _guard(row)

    async def list_guards(
        self,
        *,
        unit_id: uuid.UUID | None,
        status: GuardStatus | None,
        name_contains: str,
        after: tuple[str, uuid.UUID] | None,
        limit: int,
    ) -> list[Guard]:
        """Guards by folded name then id (keyset: the rows after `after`); `name_contains` is folded."""
        where = Where()
        if unit_id is not None:
            where.add("unit_id = {}", unit_id)
        if status is not None:
            where.add("status = {}", status.value)
        if name_contains:
            where.add("search_name LIKE {}", like_pattern(name_contains))
        if after is not None:
            where.add("(search_name, id) > ({}, {}::uuid)", *after)
        rows = await self.conn.fetch(
            f"""SELECT {GUARD_COLUMNS} FROM guards WHERE {where.sql()}
                ORDER BY search_name, id LIMIT {where.param(limit)}""",
            *where.args,
        )
        return [_guard(r) for r in rows]

    async def registered_keys(self, *, unit_ids: Sequence[uuid.UUID]) -> dict[DuplicateKey, uuid.UUID]:
        """The active guards of these units by (unit, folded name, birth year): not to be imported again."""
        rows = await self.conn.fetch(
            """SELECT unit_id, search_name, birth_year, id FROM guards
               WHERE unit_id = ANY($1::uuid[]) AND status = 'active'""",
            list(unit_ids),
        )
        return {(r["unit_id"], r["search_name"], r["birth_year"]): r["id"] for r in rows}
