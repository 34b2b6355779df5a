"""SQL of detections and of opening violations (asyncpg): one statement per batch, never one per row."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cameras.detections.domain import CameraRef, Detection, KindRule
from d07.platform.db import Conn

if TYPE_CHECKING:
    from cameras.detections.opening import Joining, Opening

Row = Mapping[str, Any]

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
_OPEN_VIOLATIONS = """
SELECT v.id, v.camera_id, v.kind, v.first_seen_at, v.last_seen_at
FROM unnest($1::uuid[], $2::text[]) AS p(camera_id, kind)
CROSS JOIN LATERAL (
    SELECT id, camera_id, kind, first_seen_at, last_seen_at FROM violations
    WHERE camera_id = p.camera_id AND kind = p.kind AND status = ANY($3::text[])
    ORDER BY last_seen_at DESC LIMIT 1
    FOR UPDATE
) AS v
"""
_INSERT_VIOLATIONS = """
INSERT INTO violations (id, camera_id, unit_id, kind, priority, opened_at, first_seen_at, last_seen_at,
                        detection_count, max_confidence, react_by)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[],
                     $7::timestamptz[], $8::timestamptz[], $9::int[], $10::real[], $11::timestamptz[])
"""
# Joining changes what detections say (count, first and last seen, top confidence), never what handling says:
# `version` counts handling changes, so a busy camera does not make the police's writes stale.
_JOIN_VIOLATIONS = """
UPDATE violations AS v SET
    detection_count = v.detection_count + j.added,
    first_seen_at = least(v.first_seen_at, j.first_seen_at),
    last_seen_at = greatest(v.last_seen_at, j.last_seen_at),
    max_confidence = greatest(v.max_confidence, j.max_confidence)
FROM unnest($1::uuid[], $2::int[], $3::timestamptz[], $4::timestamptz[], $5::real[])
     AS j(id, added, first_seen_at, last_seen_at, max_confidence)
WHERE v.id = j.id
RETURNING v.*
"""
_LINK = """
UPDATE detections AS d SET violation_id = l.violation_id
FROM unnest($1::uuid[], $2::uuid[]) AS l(detection_id, violation_id)
WHERE d.detection_id = l.detection_id
"""
_ACTIVITY = """
INSERT INTO violation_activity (violation_id, actor, action, details)
SELECT a.violation_id, 'system', a.action, a.details::jsonb
FROM unnest($1::uuid[], $2::text[], $3::text[]) AS a(violation_id, action, details)
"""


def _ref(row: Row) -> CameraRef:
    return CameraRef(id=row["id"], code=row["code"], status=row["status"], unit_id=row["unit_id"])


async def load_cameras(conn: Conn) -> list[CameraRef]:
    return [_ref(r) for r in await conn.fetch(_CAMERAS)]


async def find_cameras(conn: Conn, codes: Sequence[str]) -> list[CameraRef]:
    return [_ref(r) for r in await conn.fetch(f"{_CAMERAS} WHERE code = ANY($1::text[])", list(codes))]


async def load_kinds(conn: Conn) -> dict[str, KindRule]:
    rows = await conn.fetch("SELECT kind, open_threshold, priority, reaction_minutes FROM detection_kinds")
    # `real` is single precision: 0.80 reads back as 0.800000011920929, which a confidence of 0.8 would miss.
    return {
        r["kind"]: KindRule(r["kind"], round(r["open_threshold"], 6), r["priority"], r["reaction_minutes"])
        for r in rows
    }


async def insert_detections(
    conn: Conn,
    items: Sequence[tuple[Detection, CameraRef]],
    *,
    door: str,
    links: Mapping[uuid.UUID, uuid.UUID],
) -> set[uuid.UUID]:
    """Store the detections whose id is new, each with the violation `links` gives it; returns the ids stored
    (a repeat, from any door, is left out)."""
    rows = await conn.fetch(
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


async def lock_pairs(conn: Conn, keys: Sequence[int]) -> None:
    """Transaction-level advisory locks, taken in the order given (callers sort the keys)."""
    await conn.execute("SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS k", list(keys))


async def open_violations(
    conn: Conn, pairs: Sequence[tuple[uuid.UUID, str]], statuses: Sequence[str]
) -> list[Row]:
    """The newest open violation of each (camera, kind), locked for this transaction."""
    return list(
        await conn.fetch(_OPEN_VIOLATIONS, [c for c, _ in pairs], [k for _, k in pairs], list(statuses))
    )


async def insert_violations(conn: Conn, openings: Sequence[Opening]) -> None:
    await conn.execute(
        _INSERT_VIOLATIONS,
        [o.id for o in openings],
        [o.camera.id for o in openings],
        [o.camera.unit_id for o in openings],
        [o.kind for o in openings],
        [o.priority for o in openings],
        [o.opened_at for o in openings],
        [o.first_seen_at for o in openings],
        [o.last_seen_at for o in openings],
        [len(o.detection_ids) for o in openings],
        [o.max_confidence for o in openings],
        [o.react_by for o in openings],
    )


async def join_violations(conn: Conn, joinings: Sequence[Joining]) -> dict[uuid.UUID, Row]:
    """Grow the joined violations; returns their rows as they are now."""
    rows = await conn.fetch(
        _JOIN_VIOLATIONS,
        [j.id for j in joinings],
        [len(j.detection_ids) for j in joinings],
        [j.first_seen_at for j in joinings],
        [j.last_seen_at for j in joinings],
        [j.max_confidence for j in joinings],
    )
    return {r["id"]: r for r in rows}


async def link_detections(conn: Conn, assignments: Sequence[tuple[uuid.UUID, uuid.UUID | None]]) -> None:
    if assignments:
        await conn.execute(_LINK, [d for d, _ in assignments], [v for _, v in assignments])


async def add_activity(conn: Conn, rows: Sequence[tuple[uuid.UUID, str, str]]) -> None:
    if rows:
        await conn.execute(_ACTIVITY, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
