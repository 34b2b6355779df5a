"""SQL of movement models (asyncpg). Every statement about models lives here.

`_where` turns a ModelFilter into SQL once, so a count and the list behind it select the same records.
"""

from __future__ import annotations

import uuid
from datetime import date

import asyncpg

from d07.platform.db import Conn
from d07.platform.db.query import Where, from_row, like_pattern
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
    return from_row(
        Model,
        dict(row),
        host=_host(row),
        host_name=row["host_name"] or "",
        formation=Formation(row["formation"]),
        status=ModelStatus(row["status"]),
    )


def _host_columns(host: Host) -> tuple[str, uuid.UUID | None, str | None, str]:
    if isinstance(host, UnitHost):
        return HostType.UNIT.value, host.unit_id, None, ""
    return HostType.COMMUNITY.value, None, host.commune_code, host.residential_area


def _where(f: ModelFilter) -> Where:
    where = Where()
    where.add_if(f.kind, "m.kind = {}")
    if f.status is not None:
        where.add("m.status = {}", f.status.value)
    if f.host_type is not None:
        where.add("m.host_type = {}", f.host_type.value)
    where.add_if(f.district_code, "m.district_code = {}")
    if f.unit_id is not None:
        where.add("m.unit_id = {}", f.unit_id)
    where.add_if(f.commune_code, "m.commune_code = {}")
    if f.q:
        where.add("m.search_name LIKE {}", like_pattern(f.q))
    if f.period is not None:
        where.add(IN_PERIOD.format(start=where.param(f.period.start), end=where.param(f.period.end)))
    return where


class ModelRepository:
    """Movement models, their status history and kinds, and the hosts they name (read only)."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def kinds(self) -> dict[str, ModelKind]:
        rows = await self.conn.fetch(
            "SELECT code, label, host_types FROM model_kinds ORDER BY position, code"
        )
        return {
            r["code"]: ModelKind(r["code"], r["label"], frozenset(HostType(t) for t in r["host_types"]))
            for r in rows
        }

    async def unit_district(self, *, unit_id: uuid.UUID) -> str | None:
        """The district of a unit of the registry; None when there is no such unit."""
        value: str | None = await self.conn.fetchval("SELECT district_code FROM units WHERE id = $1", unit_id)
        return value

    async def commune_district(self, *, commune_code: str) -> str | None:
        value: str | None = await self.conn.fetchval(
            "SELECT district_code FROM communes WHERE code = $1", commune_code
        )
        return value

    async def add(
        self,
        *,
        model_id: uuid.UUID,
        draft: ModelDraft,
        district_code: str,
        status: ModelStatus,
        actor: str,
    ) -> Model:
        """Insert the model and its registration row of history."""
        host_type, unit_id, commune_code, area = _host_columns(draft.host)
        await self.conn.execute(
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
        await self.add_change(
            model_id=model_id,
            change=StatusChange(None, status, draft.formed_on, "", actor),
        )
        model = await self.get(model_id=model_id)
        assert model is not None
        return model

    async def get(self, *, model_id: uuid.UUID, for_update: bool = False) -> Model | None:
        lock = " FOR UPDATE OF m" if for_update else ""
        row = await self.conn.fetchrow(f"{SELECT} WHERE m.id = $1{lock}", model_id)
        return _model(row) if row else None

    async def update(
        self,
        *,
        model_id: uuid.UUID,
        draft: ModelDraft,
        district_code: str,
        status: ModelStatus,
        status_on: date,
    ) -> Model:
        """Replace the editable fields (the caller holds the row lock and checked the version)."""
        host_type, unit_id, commune_code, area = _host_columns(draft.host)
        await self.conn.execute(
            """UPDATE models
                  SET name = $2, search_name = $3, kind = $4, host_type = $5, unit_id = $6, commune_code = $7,
                      residential_area = $8, district_code = $9, formation = $10, formed_on = $11,
                      status = $12,
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
        model = await self.get(model_id=model_id)
        assert model is not None
        return model

    async def rewrite_registration(self, *, model_id: uuid.UUID, status: ModelStatus, on: date) -> None:
        """Correct the registration row of history after the formation or its date were corrected."""
        await self.conn.execute(
            "UPDATE model_status_history SET to_status = $2, changed_on = $3 WHERE model_id = $1 AND seq = 1",
            model_id,
            status.value,
            on,
        )

    async def set_status(self, *, model_id: uuid.UUID, change: StatusChange) -> Model:
        await self.conn.execute(
            """UPDATE models SET status = $2, status_on = $3, version = version + 1, updated_at = now()
                WHERE id = $1""",
            model_id,
            change.to_status.value,
            change.changed_on,
        )
        await self.add_change(model_id=model_id, change=change)
        model = await self.get(model_id=model_id)
        assert model is not None
        return model

    async def add_change(self, *, model_id: uuid.UUID, change: StatusChange) -> None:
        """Append one history row (the model's row lock, or its insertion, orders the sequence numbers)."""
        await self.conn.execute(
            """INSERT INTO model_status_history
                   (model_id, seq, from_status, to_status, changed_on, note, actor)
               SELECT $1, coalesce(max(seq), 0) + 1, $2, $3, $4, $5, $6
                 FROM model_status_history WHERE model_id = $1""",
            model_id,
            change.from_status.value if change.from_status else None,
            change.to_status.value,
            change.changed_on,
            change.note,
            change.actor,
        )

    async def history(self, *, model_id: uuid.UUID) -> list[StatusChange]:
        rows = await self.conn.fetch(
            """SELECT from_status, to_status, changed_on, note, actor, recorded_at
                 FROM model_status_history WHERE model_id = $1 ORDER BY seq""",
            model_id,
        )
        return [
            from_row(
                StatusChange,
                dict(r),
                to_status=ModelStatus(r["to_status"]),
                from_status=ModelStatus(r["from_status"]) if r["from_status"] else None,
            )
            for r in rows
        ]

    async def first_later_change(self, *, model_id: uuid.UUID) -> date | None:
        """The date of the first status change after the registration, if any."""
        value: date | None = await self.conn.fetchval(
            "SELECT min(changed_on) FROM model_status_history WHERE model_id = $1 AND seq > 1", model_id
        )
        return value

    async def list_models(
        self, *, where: ModelFilter, after: tuple[str, uuid.UUID] | None, limit: int
    ) -> list[tuple[Model, str]]:
        """One page ordered by folded name then id, with each model's sort key for the next cursor."""
        clauses = _where(where)
        if after is not None:
            clauses.add("(m.search_name, m.id) > ({}, {})", *after)
        rows = await self.conn.fetch(
            f"{SELECT} WHERE {clauses.sql()} ORDER BY m.search_name, m.id LIMIT {clauses.param(limit)}",
            *clauses.args,
        )
        return [(_model(r), r["search_name"]) for r in rows]

    async def count_models(self, *, where: ModelFilter) -> ModelCounts:
        clauses = _where(where)
        row = await self.conn.fetchrow(
            f"""SELECT count(*) AS total,
                       count(*) FILTER (WHERE m.host_type = 'unit') AS in_units,
                       count(*) FILTER (WHERE m.host_type = 'community') AS in_communities
                  FROM models m WHERE {clauses.sql()}""",
            *clauses.args,
        )
        assert row is not None
        return from_row(ModelCounts, dict(row))
