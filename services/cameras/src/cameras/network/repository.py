"""SQL of the camera network (asyncpg): cameras, installation plans, health and online intervals."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from cameras.network.domain import (
    Camera,
    CameraFilter,
    CameraStatus,
    CreateCamera,
    HealthCounts,
    HealthRow,
    InstallationPlan,
    Interval,
    PlanInput,
    StatusCounts,
    StatusDates,
    UpdateCamera,
)
from d07.platform.db import Conn
from d07.platform.db.query import Where, from_row, from_rows, like_pattern
from d07.platform.text import fold

COLUMNS = (
    "id, code, name, unit_id, latitude, longitude, address, status, version, created_at, district_code, "
    "commune_code, agency, planned_on, installed_on, decommissioned_on, updated_at, online, last_seen_at"
)
HEALTH_COLUMNS = "id, code, unit_id, online, last_seen_at"
PLAN_COLUMNS = "id, name, target, starts_on, deadline, version, created_at"


def _camera(row: Mapping[str, Any]) -> Camera:
    return from_row(Camera, row, status=CameraStatus(row["status"]))


def search_name(code: str, name: str) -> str:
    return fold(f"{code} {name}")


def _uuid_or_none(value: str) -> uuid.UUID | None:
    return uuid.UUID(value) if value else None


class CameraRepository:
    """The cameras, their online state and online intervals."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def add(self, *, camera_id: uuid.UUID, cmd: CreateCamera) -> Camera | None:
        """Insert; None when the code is taken."""
        row = await self.conn.fetchrow(
            f"""INSERT INTO cameras (id, code, name, search_name, unit_id, latitude, longitude, address,
                                     status, district_code, commune_code, agency, planned_on, installed_on)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
                ON CONFLICT (code) DO NOTHING RETURNING {COLUMNS}""",
            camera_id,
            cmd.code,
            cmd.name,
            search_name(cmd.code, cmd.name),
            _uuid_or_none(cmd.unit_id),
            cmd.latitude,
            cmd.longitude,
            cmd.address,
            cmd.status,
            cmd.district_code,
            cmd.commune_code,
            cmd.agency,
            cmd.planned_on,
            cmd.installed_on,
        )
        return _camera(row) if row else None

    async def get(self, camera_id: uuid.UUID, *, for_update: bool = False) -> Camera | None:
        lock = " FOR NO KEY UPDATE" if for_update else ""
        row = await self.conn.fetchrow(f"SELECT {COLUMNS} FROM cameras WHERE id = $1{lock}", camera_id)
        return _camera(row) if row else None

    async def update(self, *, camera: Camera, cmd: UpdateCamera) -> Camera | None:
        """Write new details if the camera is still at `camera.version`; None when it moved on."""
        row = await self.conn.fetchrow(
            f"""UPDATE cameras
                   SET name = $3, search_name = $4, latitude = $5, longitude = $6, address = $7,
                       district_code = $8, commune_code = $9, unit_id = $10, agency = $11, planned_on = $12,
                       version = version + 1, updated_at = now()
                 WHERE id = $1 AND version = $2
                RETURNING {COLUMNS}""",
            camera.id,
            camera.version,
            cmd.name,
            search_name(camera.code, cmd.name),
            cmd.latitude,
            cmd.longitude,
            cmd.address,
            cmd.district_code,
            cmd.commune_code,
            _uuid_or_none(cmd.unit_id),
            cmd.agency,
            cmd.planned_on,
        )
        return _camera(row) if row else None

    async def set_status(self, *, camera: Camera, status: CameraStatus, dates: StatusDates) -> Camera | None:
        """Move the camera to `status` if it is still at `camera.version`. A decommissioned camera stops being
        online: its open online interval ends at its last sign of life."""
        row = await self.conn.fetchrow(
            f"""UPDATE cameras
                   SET status = $3, planned_on = $4, installed_on = $5, decommissioned_on = $6,
                       online = online AND $3 <> 'decommissioned',
                       health_changed_at = CASE WHEN online AND $3 = 'decommissioned' THEN now()
                                                ELSE health_changed_at END,
                       version = version + 1, updated_at = now()
                 WHERE id = $1 AND version = $2
                RETURNING {COLUMNS}""",
            camera.id,
            camera.version,
            status.value,
            dates.planned_on,
            dates.installed_on,
            dates.decommissioned_on,
        )
        if row is None:
            return None
        if status == CameraStatus.DECOMMISSIONED:
            await self.close_intervals(ended=[(camera.id, camera.last_seen_at)])
        return _camera(row)

    async def page(
        self, *, where: CameraFilter, after: tuple[str, uuid.UUID] | None, limit: int
    ) -> list[Camera]:
        """Up to `limit` cameras matching `where`, ordered by code then id, after the keyset `after`."""
        w = Where()
        w.add_if(where.status, "status = {}")
        w.add_if(where.district_code, "district_code = {}")
        w.add_if(where.commune_code, "commune_code = {}")
        w.add_if(where.unit_id, "unit_id = {}")
        if where.online is not None:
            w.add("online = {}", where.online)
        for word in fold(where.query).split():
            w.add("search_name LIKE {}", like_pattern(word))
        if after is not None:
            w.add("(code, id) > ({}, {})", after[0], after[1])
        sql = f"SELECT {COLUMNS} FROM cameras WHERE {w.sql()} ORDER BY code, id LIMIT {w.param(limit)}"
        return [_camera(r) for r in await self.conn.fetch(sql, *w.args)]

    # --- health ------------------------------------------------------------------------------------------

    async def ids_by_code(self, codes: Sequence[str]) -> dict[str, tuple[uuid.UUID, CameraStatus]]:
        rows = await self.conn.fetch(
            "SELECT code, id, status FROM cameras WHERE code = ANY($1::text[])", list(codes)
        )
        return {r["code"]: (r["id"], CameraStatus(r["status"])) for r in rows}

    async def statuses(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, CameraStatus]:
        rows = await self.conn.fetch("SELECT id, status FROM cameras WHERE id = ANY($1::uuid[])", list(ids))
        return {r["id"]: CameraStatus(r["status"]) for r in rows}

    async def registered_at(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, datetime]:
        """Since when each camera exists (no heartbeat is dated before it): its registration, or the start of
        its planning or installation day in the province when it was entered later with an earlier date (a
        camera registered from the paper records of its plan and installation)."""
        rows = await self.conn.fetch(
            """SELECT id, LEAST(created_at,
                                planned_on::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh',
                                installed_on::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh') AS since
                 FROM cameras WHERE id = ANY($1::uuid[])""",
            list(ids),
        )
        return {r["id"]: r["since"] for r in rows}

    async def lock_for_seen(
        self, *, ids: Sequence[uuid.UUID], ats: Sequence[datetime], resolution_seconds: float
    ) -> list[HealthRow]:
        """Lock (in id order, so concurrent callers cannot deadlock) the cameras that a sign of life at the
        given time would change: offline ones, and online ones last seen more than `resolution_seconds` before
        it. A camera seen a moment ago is left alone, so a stream of detections does not rewrite its row per
        batch. The lock is FOR NO KEY UPDATE: it does not block detections referencing the camera."""
        rows = await self.conn.fetch(
            """SELECT c.id, c.code, c.unit_id, c.online, c.last_seen_at
                 FROM cameras c JOIN unnest($1::uuid[], $2::timestamptz[]) AS s (id, at) ON s.id = c.id
                WHERE c.status <> 'decommissioned'
                  AND (NOT c.online OR c.last_seen_at IS NULL
                       OR c.last_seen_at < s.at - make_interval(secs => $3))
                ORDER BY c.id
                  FOR NO KEY UPDATE OF c""",
            list(ids),
            list(ats),
            resolution_seconds,
        )
        return from_rows(HealthRow, rows)

    async def touch(self, *, ids: Sequence[uuid.UUID], ats: Sequence[datetime]) -> None:
        """Online cameras seen again: the newest sign of life wins."""
        await self.conn.execute(
            """UPDATE cameras c SET last_seen_at = greatest(c.last_seen_at, s.at)
                 FROM unnest($1::uuid[], $2::timestamptz[]) AS s (id, at) WHERE c.id = s.id""",
            list(ids),
            list(ats),
        )

    async def bring_online(self, *, ids: Sequence[uuid.UUID], ats: Sequence[datetime]) -> None:
        """Offline cameras seen again: online from `at`, an online interval opened there."""
        await self.conn.execute(
            """UPDATE cameras c SET online = true, last_seen_at = s.at, health_changed_at = s.at
                 FROM unnest($1::uuid[], $2::timestamptz[]) AS s (id, at) WHERE c.id = s.id""",
            list(ids),
            list(ats),
        )
        await self.conn.execute(
            """INSERT INTO camera_online_intervals (camera_id, started_at)
               SELECT id, at FROM unnest($1::uuid[], $2::timestamptz[]) AS s (id, at)
               ON CONFLICT DO NOTHING""",
            list(ids),
            list(ats),
        )

    async def take_offline(self, *, offline_after_seconds: float, limit: int) -> list[HealthRow]:
        """Cameras online but silent longer than the threshold, now marked offline (each once: the statement
        rechecks the condition on the row it locks, and skips rows a heartbeat holds right now)."""
        rows = await self.conn.fetch(
            f"""UPDATE cameras c SET online = false, health_changed_at = now()
                WHERE c.id IN (SELECT id FROM cameras
                                WHERE online AND last_seen_at < now() - make_interval(secs => $1)
                                ORDER BY id LIMIT $2 FOR NO KEY UPDATE SKIP LOCKED)
                  AND c.online AND c.last_seen_at < now() - make_interval(secs => $1)
               RETURNING {", ".join(f"c.{c.strip()}" for c in HEALTH_COLUMNS.split(","))}""",
            offline_after_seconds,
            limit,
        )
        found = from_rows(HealthRow, rows)
        await self.close_intervals(ended=[(h.id, h.last_seen_at) for h in found])
        return found

    async def close_intervals(self, *, ended: Sequence[tuple[uuid.UUID, datetime | None]]) -> None:
        """End the open online intervals of these cameras at their last sign of life."""
        if not ended:
            return
        await self.conn.execute(
            """UPDATE camera_online_intervals i
                   SET ended_at = greatest(i.started_at, coalesce(s.at, i.started_at))
                 FROM unnest($1::uuid[], $2::timestamptz[]) AS s (id, at)
                WHERE i.camera_id = s.id AND i.ended_at IS NULL""",
            [cid for cid, _ in ended],
            [at for _, at in ended],
        )

    async def intervals(self, *, camera_id: uuid.UUID, start: datetime, end: datetime) -> list[Interval]:
        rows = await self.conn.fetch(
            """SELECT started_at, ended_at FROM camera_online_intervals
                WHERE camera_id = $1 AND started_at < $3 AND (ended_at IS NULL OR ended_at > $2)
                ORDER BY started_at""",
            camera_id,
            start,
            end,
        )
        return from_rows(Interval, rows)

    async def health_counts(self) -> HealthCounts:
        """Cameras in service that are online, installed ones that are not, and the installed ones."""
        row = await self.conn.fetchrow(
            """SELECT count(*) FILTER (WHERE online AND status <> 'decommissioned') AS online,
                      count(*) FILTER (WHERE NOT online AND status = 'installed') AS offline,
                      count(*) FILTER (WHERE status = 'installed') AS installed
                 FROM cameras"""
        )
        assert row is not None
        return HealthCounts(row["online"], row["offline"], row["installed"])


class PlanRepository:
    """Installation plans with their district targets, and the network counted against them."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def _plan(self, row: Mapping[str, Any]) -> InstallationPlan:
        targets = await self.conn.fetch(
            "SELECT district_code, target FROM installation_plan_districts WHERE plan_id = $1 ORDER BY 1",
            row["id"],
        )
        return from_row(
            InstallationPlan, row, district_targets={t["district_code"]: t["target"] for t in targets}
        )

    async def _set_district_targets(self, plan_id: uuid.UUID, targets: dict[str, int]) -> None:
        await self.conn.execute("DELETE FROM installation_plan_districts WHERE plan_id = $1", plan_id)
        await self.conn.execute(
            """INSERT INTO installation_plan_districts (plan_id, district_code, target)
               SELECT $1, d, t FROM unnest($2::text[], $3::int[]) AS x (d, t)""",
            plan_id,
            list(targets),
            list(targets.values()),
        )

    async def add(self, *, plan_id: uuid.UUID, cmd: PlanInput) -> InstallationPlan:
        row = await self.conn.fetchrow(
            f"""INSERT INTO installation_plans (id, name, target, starts_on, deadline)
                VALUES ($1, $2, $3, $4, $5) RETURNING {PLAN_COLUMNS}""",
            plan_id,
            cmd.name,
            cmd.target,
            cmd.starts_on,
            cmd.deadline,
        )
        await self._set_district_targets(plan_id, dict(cmd.district_targets))
        assert row is not None
        return await self._plan(row)

    async def update(self, *, plan: InstallationPlan, cmd: PlanInput) -> InstallationPlan | None:
        row = await self.conn.fetchrow(
            f"""UPDATE installation_plans
                   SET name = $3, target = $4, starts_on = $5, deadline = $6, version = version + 1,
                       updated_at = now()
                 WHERE id = $1 AND version = $2 RETURNING {PLAN_COLUMNS}""",
            plan.id,
            plan.version,
            cmd.name,
            cmd.target,
            cmd.starts_on,
            cmd.deadline,
        )
        if row is None:
            return None
        await self._set_district_targets(plan.id, dict(cmd.district_targets))
        return await self._plan(row)

    async def get(self, plan_id: uuid.UUID | None) -> InstallationPlan | None:
        """One plan by id, or (no id) the plan created last."""
        if plan_id is None:
            row = await self.conn.fetchrow(
                f"SELECT {PLAN_COLUMNS} FROM installation_plans ORDER BY created_at DESC, id DESC LIMIT 1"
            )
        else:
            row = await self.conn.fetchrow(
                f"SELECT {PLAN_COLUMNS} FROM installation_plans WHERE id = $1", plan_id
            )
        return await self._plan(row) if row else None

    async def snapshot(self) -> None:
        """Make the rest of this transaction one read-only snapshot (its first statement)."""
        await self.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")

    async def status_counts(self, *, deadline: date) -> dict[str, StatusCounts]:
        """Cameras by district and status, now (one scan of 3.200 rows)."""
        rows = await self.conn.fetch(
            """SELECT district_code,
                      count(*) FILTER (WHERE status = 'planned') AS planned,
                      count(*) FILTER (WHERE status = 'installed') AS installed,
                      count(*) FILTER (WHERE status = 'decommissioned') AS decommissioned,
                      count(*) FILTER (WHERE status = 'installed' AND installed_on <= $1) AS by_deadline
                 FROM cameras GROUP BY district_code""",
            deadline,
        )
        return {
            r["district_code"]: from_row(StatusCounts, r, installed_by_deadline=r["by_deadline"])
            for r in rows
        }
