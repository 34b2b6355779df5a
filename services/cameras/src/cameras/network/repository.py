"""SQL of cameras (asyncpg)."""

from __future__ import annotations

import uuid

import asyncpg

from cameras.network.domain import Camera, CameraStatus, CreateCamera
from d07.platform.db import Conn

COLUMNS = "id, code, name, unit_id, latitude, longitude, address, status, version, created_at"


def _camera(row: asyncpg.Record) -> Camera:
    return Camera(
        id=row["id"],
        code=row["code"],
        name=row["name"],
        unit_id=row["unit_id"],
        latitude=row["latitude"],
        longitude=row["longitude"],
        address=row["address"],
        status=CameraStatus(row["status"]),
        version=row["version"],
        created_at=row["created_at"],
    )


async def add(conn: Conn, *, camera_id: uuid.UUID, cmd: CreateCamera) -> Camera | None:
    row = await conn.fetchrow(
        f"""INSERT INTO cameras (id, code, name, unit_id, latitude, longitude, address, status)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (code) DO NOTHING RETURNING {COLUMNS}""",
        camera_id,
        cmd.code,
        cmd.name,
        uuid.UUID(cmd.unit_id) if cmd.unit_id else None,
        cmd.latitude,
        cmd.longitude,
        cmd.address,
        cmd.status,
    )
    return _camera(row) if row else None


async def get(conn: Conn, *, camera_id: uuid.UUID) -> Camera | None:
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM cameras WHERE id = $1", camera_id)
    return _camera(row) if row else None
