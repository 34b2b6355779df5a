"""SQL of units (asyncpg). Every statement about units lives here.

A unit's `in_scope` is computed by the statement that reads it, from `unit_scope_rules`: the rules are data,
and a change of the rules shows in the very next read.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg

from d07.platform.db import Conn
from d07.platform.db.query import Where, from_row, like_pattern
from d07.platform.text import fold
from registry.units.domain import (
    ChangeKind,
    CreateUnit,
    ScopeRule,
    StatusChange,
    SubKind,
    Unit,
    UnitFilter,
    UnitKind,
    UnitStatus,
)

# Out of scope when some rule matches on every condition it sets (NULL conditions match anything; a NULL
# staff count or sub-kind of the unit matches no condition on it).
IN_SCOPE = """NOT EXISTS (
    SELECT 1 FROM unit_scope_rules r
     WHERE (r.kind IS NULL OR r.kind = u.kind)
       AND (r.sub_kind IS NULL OR r.sub_kind = u.sub_kind)
       AND (r.staff_below IS NULL OR u.staff_count < r.staff_below))"""

SELECT = f"""SELECT u.id, u.code, u.name, u.kind, u.district_code, u.commune_code, u.address, u.status,
       u.version, u.created_at, u.updated_at, coalesce(u.sub_kind, '') AS sub_kind,
       coalesce(sk.label, '') AS sub_kind_label, u.parent_unit_id, u.parent_name, u.head_name, u.head_title,
       u.phone, u.email, u.staff_count, u.search_name, {IN_SCOPE} AS in_scope
  FROM units u LEFT JOIN unit_sub_kinds sk ON sk.code = u.sub_kind"""


def _unit(row: asyncpg.Record) -> Unit:
    return from_row(Unit, dict(row), kind=UnitKind(row["kind"]), status=UnitStatus(row["status"]))


def _values(cmd: CreateUnit) -> tuple[Any, ...]:
    """The stored columns of a unit's details, in the order of DETAIL_COLUMNS."""
    return (
        cmd.name,
        fold(cmd.name),
        cmd.kind,
        cmd.sub_kind or None,
        cmd.district_code,
        cmd.commune_code,
        cmd.address,
        uuid.UUID(cmd.parent_unit_id) if cmd.parent_unit_id else None,
        cmd.parent_name,
        cmd.head_name,
        cmd.head_title,
        cmd.phone,
        cmd.email,
        cmd.staff_count,
    )


DETAIL_COLUMNS = (
    "name, search_name, kind, sub_kind, district_code, commune_code, address, parent_unit_id, parent_name, "
    "head_name, head_title, phone, email, staff_count"
)
DETAIL_TYPES = ("text",) * 7 + ("uuid",) + ("text",) * 5 + ("int",)


# --- reference data ------------------------------------------------------------------------------------


# --- status history ------------------------------------------------------------------------------------


class UnitRepository:
    """Units, their status history and the reference data they are classified by."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def add(self, *, unit_id: uuid.UUID, cmd: CreateUnit) -> Unit | None:
        """Insert; None when the code is taken."""
        inserted = await self.conn.fetchval(
            f"""INSERT INTO units (id, code, {DETAIL_COLUMNS})
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
                ON CONFLICT (code) DO NOTHING
                RETURNING id""",
            unit_id,
            cmd.code,
            *_values(cmd),
        )
        return await self.get(unit_id=unit_id) if inserted else None

    async def add_many(self, *, units: Sequence[tuple[uuid.UUID, CreateUnit]]) -> list[str]:
        """Insert many units with one statement; the codes that were inserted (a taken code is skipped)."""
        columns: list[list[Any]] = [[uid for uid, _ in units], [cmd.code for _, cmd in units]]
        details = [_values(cmd) for _, cmd in units]
        columns += [[row[i] for row in details] for i in range(len(DETAIL_TYPES))]
        casts = ", ".join(f"${n}::{t}[]" for n, t in enumerate(("uuid", "text", *DETAIL_TYPES), start=1))
        rows = await self.conn.fetch(
            f"""INSERT INTO units (id, code, {DETAIL_COLUMNS})
                SELECT * FROM unnest({casts})
                ON CONFLICT (code) DO NOTHING
                RETURNING code""",
            *columns,
        )
        return [r["code"] for r in rows]

    async def update(self, *, unit: Unit, details: CreateUnit) -> Unit | None:
        """Write new details if the unit is still at `unit.version`; None when it moved on."""
        updated = await self.conn.fetchval(
            f"""UPDATE units SET ({DETAIL_COLUMNS}, version, updated_at)
                    = ($3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, version + 1, now())
                 WHERE id = $1 AND version = $2
                RETURNING id""",
            unit.id,
            unit.version,
            *_values(details),
        )
        return await self.get(unit_id=unit.id) if updated else None

    async def set_status(self, *, unit_ids: Sequence[uuid.UUID], status: UnitStatus) -> None:
        await self.conn.execute(
            "UPDATE units SET status = $2, version = version + 1, updated_at = now()"
            " WHERE id = ANY($1::uuid[])",
            list(unit_ids),
            status.value,
        )

    async def get(self, *, unit_id: uuid.UUID) -> Unit | None:
        row = await self.conn.fetchrow(f"{SELECT} WHERE u.id = $1", unit_id)
        return _unit(row) if row else None

    async def get_many(self, *, unit_ids: Sequence[uuid.UUID], for_update: bool = False) -> list[Unit]:
        """The units among `unit_ids`; `for_update` locks their rows (in id order, so two changes that lock
        the same units cannot deadlock) until the transaction ends."""
        if for_update:
            await self.conn.execute(
                "SELECT 1 FROM units WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE", list(unit_ids)
            )
        rows = await self.conn.fetch(f"{SELECT} WHERE u.id = ANY($1::uuid[])", list(unit_ids))
        return [_unit(r) for r in rows]

    async def get_many_by_code(self, *, codes: Sequence[str]) -> list[Unit]:
        rows = await self.conn.fetch(f"{SELECT} WHERE u.code = ANY($1::text[]) ORDER BY u.code", list(codes))
        return [_unit(r) for r in rows]

    async def existing_codes(self, *, codes: Sequence[str]) -> set[str]:
        rows = await self.conn.fetch("SELECT code FROM units WHERE code = ANY($1::text[])", list(codes))
        return {r["code"] for r in rows}

    async def exists(self, *, unit_id: uuid.UUID) -> bool:
        return bool(await self.conn.fetchval("SELECT 1 FROM units WHERE id = $1", unit_id))

    async def is_ancestor(self, *, ancestor: uuid.UUID, of: uuid.UUID) -> bool:
        """Whether `ancestor` is `of` or lies above it on its chain of parent units."""
        found = await self.conn.fetchval(
            """WITH RECURSIVE chain (id, parent_unit_id) AS (
                   SELECT id, parent_unit_id FROM units WHERE id = $2
                   UNION
                   SELECT u.id, u.parent_unit_id FROM units u JOIN chain c ON u.id = c.parent_unit_id)
               SELECT 1 FROM chain WHERE id = $1""",
            ancestor,
            of,
        )
        return bool(found)

    async def page(self, *, where: UnitFilter, after: tuple[str, uuid.UUID] | None, limit: int) -> list[Unit]:
        """Up to `limit` units matching `where`, ordered by folded name then id, after the keyset `after`."""
        where_ = Where()
        for column, value in (
            ("u.kind", where.kind),
            ("u.sub_kind", where.sub_kind),
            ("u.district_code", where.district_code),
            ("u.commune_code", where.commune_code),
            ("u.status", where.status),
        ):
            where_.add_if(value, f"{column} = {{}}")
        if where.only_unit_id is not None:
            where_.add("u.id = {}", where.only_unit_id)
        if where.in_scope is not None:
            where_.add(f"({IN_SCOPE}) = {{}}", where.in_scope)
        if where.words:
            where_.add("u.search_name LIKE ALL({}::text[])", [like_pattern(w) for w in where.words])
        if after is not None:
            where_.add("(u.search_name, u.id) > ({}, {})", *after)
        sql = f"{SELECT} WHERE {where_.sql()} ORDER BY u.search_name, u.id LIMIT {where_.param(limit)}"
        return [_unit(r) for r in await self.conn.fetch(sql, *where_.args)]

    async def sub_kinds(self) -> dict[str, SubKind]:
        rows = await self.conn.fetch(
            "SELECT code, kind, label FROM unit_sub_kinds ORDER BY kind, position, code"
        )
        return {r["code"]: from_row(SubKind, dict(r), kind=UnitKind(r["kind"])) for r in rows}

    async def scope_rules(self) -> list[ScopeRule]:
        rows = await self.conn.fetch(
            "SELECT code, kind, sub_kind, staff_below, reason FROM unit_scope_rules ORDER BY code"
        )
        return [from_row(ScopeRule, dict(r), kind=UnitKind(r["kind"]) if r["kind"] else None) for r in rows]

    async def add_status_change(self, change: StatusChange) -> StatusChange:
        recorded_at = await self.conn.fetchval(
            """INSERT INTO unit_status_changes (id, kind, effective_on, decision, note)
               VALUES ($1, $2, $3, $4, $5)
               RETURNING recorded_at""",
            change.id,
            change.kind.value,
            change.effective_on,
            change.decision,
            change.note,
        )
        members = [(change.id, uid, "from", n) for n, uid in enumerate(change.from_ids)]
        members += [(change.id, uid, "to", n) for n, uid in enumerate(change.to_ids)]
        await self.conn.executemany(
            "INSERT INTO unit_status_change_units (change_id, unit_id, side, position)"
            " VALUES ($1, $2, $3, $4)",
            members,
        )
        return dataclasses.replace(change, recorded_at=recorded_at)

    async def status_changes(self, *, unit_id: uuid.UUID) -> list[StatusChange]:
        rows = await self.conn.fetch(
            """SELECT c.id, c.kind, c.effective_on, c.decision, c.note, c.recorded_at,
                      array_agg(m.unit_id ORDER BY m.position) FILTER (WHERE m.side = 'from') AS from_ids,
                      array_agg(m.unit_id ORDER BY m.position) FILTER (WHERE m.side = 'to') AS to_ids
                 FROM unit_status_changes c JOIN unit_status_change_units m ON m.change_id = c.id
                WHERE c.id IN (SELECT change_id FROM unit_status_change_units WHERE unit_id = $1)
                GROUP BY c.id
                ORDER BY c.effective_on, c.recorded_at, c.id""",
            unit_id,
        )
        return [
            from_row(
                StatusChange,
                dict(r),
                kind=ChangeKind(r["kind"]),
                from_ids=tuple(r["from_ids"] or ()),
                to_ids=tuple(r["to_ids"] or ()),
            )
            for r in rows
        ]
