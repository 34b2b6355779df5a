"""SQL of movement models (asyncpg). Every statement about models lives here.

`_where` turns a ModelFilter into SQL once, so a count and the list behind it select the same records.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import asyncpg

from d07.platform.db import Conn
from d07.platform.text import fold
from registry.models.domain import (
    CommunityHost,
    Formation,
    Host,
    HostType,
    Model,
    ModelCounts,
    ModelDraft,
    ModelFilter,
    ModelKind,
    ModelStatus,
    StatusChange,
    UnitHost,
)

SELECT = """
SELECT m.id, m.name, m.kind, k.label AS kind_label, m.host_type, m.unit_id, m.commune_code,
       m.residential_area, m.district_code, m.formation, m.formed_on, m.status, m.status_on, m.description,
       m.version, m.created_at, m.updated_at, m.search_name,
       CASE WHEN m.host_type = 'unit' THEN u.name
            WHEN m.residential_area <> '' THEN m.residential_area || ', ' || c.name
            ELSE c.name END AS host_name
  FROM models m
  JOIN model_kinds k ON k.code = m.kind
  LEFT JOIN units u ON u.id = m.unit_id
  LEFT JOIN communes c ON c.code = m.commune_code"""

# The counting rule of domain.counts_in_period, in SQL ({start} and {end} are parameter placeholders).
IN_PERIOD = """(m.formed_on BETWEEN {start} AND {end}
    OR EXISTS (SELECT 1 FROM model_status_history h
                WHERE h.model_id = m.id AND h.to_status = 'consolidated' AND h.from_status IS NOT NULL
                  AND h.changed_on BETWEEN {start} AND {end}))"""


def _host(row: asyncpg.Record) -> Host:
    if row["host_type"] == HostType.UNIT:
        return UnitHost(row["unit_id"])
    return CommunityHost(row["commune_code"], row["residential_area"])


def _model(row: asyncpg.Record) -> Model:
    return Model(
        id=row["id"],
        name=row["name"],
        kind=row["kind"],
        kind_label=row["kind_label"],
        host=_host(row),
        host_name=row["host_name"] or "",
        district_code=row["district_code"],
        formation=Formation(row["formation"]),
        formed_on=row["formed_on"],
        status=ModelStatus(row["status"]),
        status_on=row["status_on"],
        description=row["description"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _host_columns(host: Host) -> tuple[str, uuid.UUID | None, str | None, str]:
    if isinstance(host, UnitHost):
        return HostType.UNIT.value, host.unit_id, None, ""
    return HostType.COMMUNITY.value, None, host.commune_code, host.residential_area


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(f: ModelFilter, args: list[Any]) -> list[str]:
    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    clauses: list[str] = []
    if f.kind:
        clauses.append(f"m.kind = {arg(f.kind)}")
    if f.status is not None:
        clauses.append(f"m.status = {arg(f.status.value)}")
    if f.host_type is not None:
        clauses.append(f"m.host_type = {arg(f.host_type.value)}")
    if f.district_code:
        clauses.append(f"m.district_code = {arg(f.district_code)}")
    if f.unit_id is not None:
        clauses.append(f"m.unit_id = {arg(f.unit_id)}")
    if f.commune_code:
        clauses.append(f"m.commune_code = {arg(f.commune_code)}")
    if f.q:
        clauses.append(f"m.search_name LIKE {arg(_like(f.q))}")
    if f.period is not None:
        clauses.append(IN_PERIOD.format(start=arg(f.period.start), end=arg(f.period.end)))
    return clauses


async def kinds(conn: Conn) -> dict[str, ModelKind]:
    rows = await conn.fetch("SELECT code, label, host_types FROM model_kinds ORDER BY position, code")
    return {
        r["code"]: ModelKind(r["code"], r["label"], frozenset(HostType(t) for t in r["host_types"]))
        for r in rows
    }


async def unit_district(conn: Conn, *, unit_id: uuid.UUID) -> str | None:
    """The district of a unit of the registry; None when there is no such unit."""
    value: str | None = await conn.fetchval("SELECT district_code FROM units WHERE id = $1", unit_id)
    return value


async def commune_district(conn: Conn, *, commune_code: str) -> str | None:
    value: str | None = await conn.fetchval(
        "SELECT district_code FROM communes WHERE code = $1", commune_code
    )
    return value


async def add(
    conn: Conn,
    *,
    model_id: uuid.UUID,
    draft: ModelDraft,
    district_code: str,
    status: ModelStatus,
    actor: str,
) -> Model:
    """Insert the model and its registration row of history."""
    host_type, unit_id, commune_code, area = _host_columns(draft.host)
    await conn.execute(
        """INSERT INTO models (id, name, search_name, kind, host_type, unit_id, commune_code,
                               residential_area, district_code, formation, formed_on, status, status_on,
                               description)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $11, $13)""",
        model_id,
        draft.name,
        fold(draft.name),
        draft.kind,
        host_type,
        unit_id,
        commune_code,
        area,
        district_code,
        draft.formation.value,
        draft.formed_on,
        status.value,
        draft.description,
    )
    await add_change(
        conn,
        model_id=model_id,
        change=StatusChange(None, status, draft.formed_on, "", actor),
    )
    model = await get(conn, model_id=model_id)
    assert model is not None
    return model


async def get(conn: Conn, *, model_id: uuid.UUID, for_update: bool = False) -> Model | None:
    lock = " FOR UPDATE OF m" if for_update else ""
    row = await conn.fetchrow(f"{SELECT} WHERE m.id = $1{lock}", model_id)
    return _model(row) if row else None


async def update(
    conn: Conn,
    *,
    model_id: uuid.UUID,
    draft: ModelDraft,
    district_code: str,
    status: ModelStatus,
    status_on: date,
) -> Model:
    """Replace the editable fields (the caller holds the row lock and checked the version)."""
    host_type, unit_id, commune_code, area = _host_columns(draft.host)
    await conn.execute(
        """UPDATE models
              SET name = $2, search_name = $3, kind = $4, host_type = $5, unit_id = $6, commune_code = $7,
                  residential_area = $8, district_code = $9, formation = $10, formed_on = $11, status = $12,
                  status_on = $13, description = $14, version = version + 1, updated_at = now()
            WHERE id = $1""",
        model_id,
        draft.name,
        fold(draft.name),
        draft.kind,
        host_type,
        unit_id,
        commune_code,
        area,
        district_code,
        draft.formation.value,
        draft.formed_on,
        status.value,
        status_on,
        draft.description,
    )
    model = await get(conn, model_id=model_id)
    assert model is not None
    return model


async def rewrite_registration(conn: Conn, *, model_id: uuid.UUID, status: ModelStatus, on: date) -> None:
    """Correct the registration row of history after the formation or its date were corrected."""
    await conn.execute(
        "UPDATE model_status_history SET to_status = $2, changed_on = $3 WHERE model_id = $1 AND seq = 1",
        model_id,
        status.value,
        on,
    )


async def set_status(conn: Conn, *, model_id: uuid.UUID, change: StatusChange) -> Model:
    await conn.execute(
        """UPDATE models SET status = $2, status_on = $3, version = version + 1, updated_at = now()
            WHERE id = $1""",
        model_id,
        change.to_status.value,
        change.changed_on,
    )
    await add_change(conn, model_id=model_id, change=change)
    model = await get(conn, model_id=model_id)
    assert model is not None
    return model


async def add_change(conn: Conn, *, model_id: uuid.UUID, change: StatusChange) -> None:
    """Append one history row (the model's row lock, or its insertion, orders the sequence numbers)."""
    await conn.execute(
        """INSERT INTO model_status_history (model_id, seq, from_status, to_status, changed_on, note, actor)
           SELECT $1, coalesce(max(seq), 0) + 1, $2, $3, $4, $5, $6
             FROM model_status_history WHERE model_id = $1""",
        model_id,
        change.from_status.value if change.from_status else None,
        change.to_status.value,
        change.changed_on,
        change.note,
        change.actor,
    )


async def history(conn: Conn, *, model_id: uuid.UUID) -> list[StatusChange]:
    rows = await conn.fetch(
        """SELECT from_status, to_status, changed_on, note, actor, recorded_at
             FROM model_status_history WHERE model_id = $1 ORDER BY seq""",
        model_id,
    )
    return [
        StatusChange(
            ModelStatus(r["from_status"]) if r["from_status"] else None,
            ModelStatus(r["to_status"]),
            r["changed_on"],
            r["note"],
            r["actor"],
            r["recorded_at"],
        )
        for r in rows
    ]


async def first_later_change(conn: Conn, *, model_id: uuid.UUID) -> date | None:
    """The date of the first status change after the registration, if any."""
    value: date | None = await conn.fetchval(
        "SELECT min(changed_on) FROM model_status_history WHERE model_id = $1 AND seq > 1", model_id
    )
    return value


async def list_models(
    conn: Conn, *, where: ModelFilter, after: tuple[str, uuid.UUID] | None, limit: int
) -> list[tuple[Model, str]]:
    """One page ordered by folded name then id, with each model's sort key for the next cursor."""
    args: list[Any] = []
    clauses = _where(where, args)
    if after is not None:
        args.extend(after)
        clauses.append(f"(m.search_name, m.id) > (${len(args) - 1}, ${len(args)})")
    args.append(limit)
    where_sql = "WHERE " + " AND ".join(clauses) if clauses else ""
    rows = await conn.fetch(f"{SELECT} {where_sql} ORDER BY m.search_name, m.id LIMIT ${len(args)}", *args)
    return [(_model(r), r["search_name"]) for r in rows]


async def count_models(conn: Conn, *, where: ModelFilter) -> ModelCounts:
    args: list[Any] = []
    clauses = _where(where, args)
    row = await conn.fetchrow(
        f"""SELECT count(*) AS total,
                   count(*) FILTER (WHERE m.host_type = 'unit') AS in_units,
                   count(*) FILTER (WHERE m.host_type = 'community') AS in_communities
              FROM models m {"WHERE " + " AND ".join(clauses) if clauses else ""}""",
        *args,
    )
    assert row is not None
    return ModelCounts(row["total"], row["in_units"], row["in_communities"])
