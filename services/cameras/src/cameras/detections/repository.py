"""SQL of detections (asyncpg): the cameras they name, and the detections themselves, stored once; one
statement per batch, never one per row."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence

from cameras.detections.domain import Detection
from cameras.network.domain import CameraRef
from d07.platform.db import Conn
from d07.platform.db.query import from_rows

_CAMERAS = "SELECT id, code, status, unit_id FROM cameras"
_INSERT_DETECTIONS = """
INSERT INTO detections
    (detection_id, camera_id, occurred_at, kind, confidence, snapshot_url, attributes, door, violation_id)
SELECT d.id, d.camera_id, d.occurred_at, d.kind, d.confidence, d.snapshot_url, d.attributes::jsonb, $8, d.vid
FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::text[], $5::real[], $6::text[], $7::text[],
            $9::uuid[])
     AS d(id, camera_id, occurred_at, kind, confidence, snapshot_url, attributes, vid)
ON CONFLICT (detection_id) DO NOTHING
RETURNING detection_id
"""
_LINK = """
UPDATE detections AS d SET violation_id = l.violation_id
FROM unnest($1::uuid[], $2::uuid[]) AS l(detection_id, violation_id)
WHERE d.detection_id = l.detection_id
"""


class DetectionRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def cameras(self) -> list[CameraRef]:
        """The whole network, as the directory keeps it."""
        return from_rows(CameraRef, await self.conn.fetch(_CAMERAS))

    async def cameras_by_code(self, codes: Sequence[str]) -> list[CameraRef]:
        return from_rows(
            CameraRef, await self.conn.fetch(f"{_CAMERAS} WHERE code = ANY($1::text[])", list(codes))
        )

    async def insert(
        self,
        items: Sequence[tuple[Detection, CameraRef]],
        *,
        door: str,
        links: Mapping[uuid.UUID, uuid.UUID],
    ) -> set[uuid.UUID]:
        """Store the detections whose id is new, each with the violation `links` gives it; returns the ids
        stored (a repeat, from any door, is left out)."""
        rows = await self.conn.fetch(
            _INSERT_DETECTIONS,
            [d.detection_id for d, _ in items],
            [c.id for _, c in items],
            [d.occurred_at for d, _ in items],
            [d.kind for d, _ in items],
            [d.confidence for d, _ in items],
            [d.snapshot_url for d, _ in items],
            [json.dumps(d.attributes) if d.attributes else "{}" for d, _ in items],
            door,
            [links.get(d.detection_id) for d, _ in items],
        )
        return {r[0] for r in rows}

    async def link(self, assignments: Sequence[tuple[uuid.UUID, uuid.UUID | None]]) -> None:
        """Set (or clear) the violation of stored detections."""
        if assignments:
            await self.conn.execute(_LINK, [d for d, _ in assignments], [v for _, v in assignments])
