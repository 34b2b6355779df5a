"""SQL of units (asyncpg). Every statement about units lives here.

A unit's `in_scope` is computed by the statement that reads it, from `unit_scope_rules`: the rules are data,
and a change of the rules shows in the very next read.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg

from d07.platform.db import Conn
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
        sub_kind=row["sub_kind"],
        sub_kind_label=row["sub_kind_label"],
        parent_unit_id=row["parent_unit_id"],
        parent_name=row["parent_name"],
        head_name=row["head_name"],
        head_title=row["head_title"],
        phone=row["phone"],
        email=row["email"],
        staff_count=row["staff_count"],
        in_scope=row["in_scope"],
        search_name=row["search_name"],
    )


def _values(cmd: CreateUnit) -> tuple[Any, ...]:
    """The stored columns of a unit's details, in the order of DETAIL_COLUMNS."""
    return (
        cmd.name, fold(cmd.name), cmd.kind, cmd.sub_kind or None, cmd.district_code, cmd.commune_code,
        cmd.address, uuid.UUID(cmd.parent_unit_id) if cmd.parent_unit_id else None, cmd.parent_name,
        cmd.head_name, cmd.head_title, cmd.phone, cmd.email, cmd.staff_count,
    )  # fmt: skip


DETAIL_COLUMNS = (
    "name, search_name, kind, sub_kind, district_code, commune_code, address, parent_unit_id, parent_name, "
    "head_name, head_title, phone, email, staff_count"
)
DETAIL_TYPES = ("text",) * 7 + ("uuid",) + ("text",) * 5 + ("int",)


async def add(conn: Conn, *, unit_id: uuid.UUID, cmd: CreateUnit) -> Unit | None:
    """Insert; None when the code is taken."""
    inserted = await conn.fetchval(
        f"""INSERT INTO units (id, code, {DETAIL_COLUMNS})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
            ON CONFLICT (code) DO NOTHING
            RETURNING id""",
        unit_id,
        cmd.code,
        *_values(cmd),
    )
    return await get(conn, unit_id=unit_id) if inserted else None


async def add_many(conn: Conn, *, units: Sequence[tuple[uuid.UUID, CreateUnit]]) -> list[str]:
    """Insert many units with one statement; the codes that were inserted (a taken code is skipped)."""
    columns: list[list[Any]] = [[uid for uid, _ in units], [cmd.code for _, cmd in units]]
    details = [_values(cmd) for _, cmd in units]
    columns += [[row[i] for row in details] for i in range(len(DETAIL_TYPES))]
    casts = ", ".join(f"${n}::{t}[]" for n, t in enumerate(("uuid", "text", *DETAIL_TYPES), start=1))
    rows = await conn.fetch(
        f"""INSERT INTO units (id, code, {DETAIL_COLUMNS})
            SELECT * FROM unnest({casts})
            ON CONFLICT (code) DO NOTHING
            RETURNING code""",
        *columns,
    )
    return [r["code"] for r in rows]


async def update(conn: Conn, *, unit: Unit, details: CreateUnit) -> Unit | None:
    """Write new details if the unit is still at `unit.version`; None when it moved on."""
    updated = await conn.fetchval(
        f"""UPDATE units SET ({DETAIL_COLUMNS}, version, updated_at)
                = ($3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, version + 1, now())
             WHERE id = $1 AND version = $2
            RETURNING id""",
        unit.id,
        unit.version,
        *_values(details),
    )
    return await get(conn, unit_id=unit.id) if updated else None


async def set_status(conn: Conn, *, unit_ids: Sequence[uuid.UUID], status: UnitStatus) -> None:
    await conn.execute(
        "UPDATE units SET status = $2, version = version + 1, updated_at = now() WHERE id = ANY($1::uuid[])",
        list(unit_ids),
        status.value,
    )


async def get(conn: Conn, *, unit_id: uuid.UUID) -> Unit | None:
    row = await conn.fetchrow(f"{SELECT} WHERE u.id = $1", unit_id)
    return _unit(row) if row else None


async def get_many(conn: Conn, *, unit_ids: Sequence[uuid.UUID], for_update: bool = False) -> list[Unit]:
    """The units among `unit_ids`; `for_update` locks their rows (in id order, so two changes that lock the
    same units cannot deadlock) until the transaction ends."""
    if for_update:
        await conn.execute(
            "SELECT 1 FROM units WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE", list(unit_ids)
        )
    rows = await conn.fetch(f"{SELECT} WHERE u.id = ANY($1::uuid[])", list(unit_ids))
    return [_unit(r) for r in rows]


async def get_many_by_code(conn: Conn, *, codes: Sequence[str]) -> list[Unit]:
    rows = await conn.fetch(f"{SELECT} WHERE u.code = ANY($1::text[]) ORDER BY u.code", list(codes))
    return [_unit(r) for r in rows]


async def existing_codes(conn: Conn, *, codes: Sequence[str]) -> set[str]:
    rows = await conn.fetch("SELECT code FROM units WHERE code = ANY($1::text[])", list(codes))
    return {r["code"] for r in rows}


async def exists(conn: Conn, *, unit_id: uuid.UUID) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM units WHERE id = $1", unit_id))


async def is_ancestor(conn: Conn, *, ancestor: uuid.UUID, of: uuid.UUID) -> bool:
    """Whether `ancestor` is `of` or lies above it on its chain of parent units."""
    found = await conn.fetchval(
        """WITH RECURSIVE chain (id, parent_unit_id) AS (
               SELECT id, parent_unit_id FROM units WHERE id = $2
               UNION
               SELECT u.id, u.parent_unit_id FROM units u JOIN chain c ON u.id = c.parent_unit_id)
           SELECT 1 FROM chain WHERE id = $1""",
        ancestor,
        of,
    )
    return bool(found)


def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def page(
    conn: Conn, *, where: UnitFilter, after: tuple[str, uuid.UUID] | None, limit: int
) -> list[Unit]:
    """Up to `limit` units matching `where`, ordered by folded name then id, after the keyset `after`."""
    clauses: list[str] = []
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    for column, value in (
        ("u.kind", where.kind),
        ("u.sub_kind", where.sub_kind),
        ("u.district_code", where.district_code),
        ("u.commune_code", where.commune_code),
        ("u.status", where.status),
    ):
        if value:
            clauses.append(f"{column} = {arg(value)}")
    if where.only_unit_id is not None:
        clauses.append(f"u.id = {arg(where.only_unit_id)}")
    if where.in_scope is not None:
        clauses.append(f"({IN_SCOPE}) = {arg(where.in_scope)}")
    if where.words:
        clauses.append(f"u.search_name LIKE ALL({arg([_like(w) for w in where.words])}::text[])")
    if after is not None:
        clauses.append(f"(u.search_name, u.id) > ({arg(after[0])}, {arg(after[1])})")
    sql = SELECT
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    sql += f" ORDER BY u.search_name, u.id LIMIT {arg(limit)}"
    return [_unit(r) for r in await conn.fetch(sql, *args)]


# --- reference data ------------------------------------------------------------------------------------


async def sub_kinds(conn: Conn) -> dict[str, SubKind]:
    rows = await conn.fetch("SELECT code, kind, label FROM unit_sub_kinds ORDER BY kind, position, code")
    return {r["code"]: SubKind(r["code"], UnitKind(r["kind"]), r["label"]) for r in rows}


async def scope_rules(conn: Conn) -> list[ScopeRule]:
    rows = await conn.fetch(
        "SELECT code, kind, sub_kind, staff_below, reason FROM unit_scope_rules ORDER BY code"
    )
    return [
        ScopeRule(
            r["code"],
            UnitKind(r["kind"]) if r["kind"] else None,
            r["sub_kind"],
            r["staff_below"],
            r["reason"],
        )
        for r in rows
    ]


# --- status history ------------------------------------------------------------------------------------


async def add_status_change(conn: Conn, change: StatusChange) -> StatusChange:
    recorded_at = await conn.fetchval(
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
    await conn.executemany(
        "INSERT INTO unit_status_change_units (change_id, unit_id, side, position) VALUES ($1, $2, $3, $4)",
        members,
    )
    return StatusChange(
        change.id, change.kind, change.from_ids, change.to_ids, change.effective_on, change.decision,
        change.note, recorded_at,
    )  # fmt: skip


async def status_changes(conn: Conn, *, unit_id: uuid.UUID) -> list[StatusChange]:
    rows = await conn.fetch(
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
        StatusChange(
            r["id"],
            ChangeKind(r["kind"]),
            tuple(r["from_ids"] or ()),
            tuple(r["to_ids"] or ()),
            r["effective_on"],
            r["decision"],
            r["note"],
            r["recorded_at"],
        )
        for r in rows
    ]
