"""SQL of violation handling (asyncpg). The violations and their activity log are shared with the detections,
which open them; this module changes only the handling fields and appends handling activity."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from cameras.violations.domain import OPEN, Action, Activity, Violation, ViolationFilter, ViolationStatus
from d07.platform.db import Conn

_FIELDS = (
    "id, camera_id, unit_id, kind, priority, status, opened_at, first_seen_at, last_seen_at, "
    "detection_count, max_confidence, react_by, overdue_at, acknowledged_at, acknowledged_by, "
    "handed_over_at, handed_over_by, handed_over_to, assignee, team, closed_at, outcome, version"
)
# A violation's columns (alias v) and its camera's code (alias c): every read joins the camera.
COLUMNS = ", ".join(f"v.{name.strip()}" for name in _FIELDS.split(",")) + ", c.code AS camera_code"
FROM = "violations v JOIN cameras c ON c.id = v.camera_id"
# The columns a handling change may set (a guard: names below are put into SQL text).
SETTABLE = frozenset(
    {"acknowledged_at", "acknowledged_by", "handed_over_at", "handed_over_by", "handed_over_to", "assignee",
     "team", "closed_at", "outcome"}
)  # fmt: skip
OPEN_STATUSES = sorted(s.value for s in OPEN)


def violation_of(row: Mapping[str, Any]) -> Violation:
    return Violation(
        id=row["id"],
        camera_id=row["camera_id"],
        camera_code=row["camera_code"],
        unit_id=row["unit_id"],
        kind=row["kind"],
        priority=row["priority"],
        status=ViolationStatus(row["status"]),
        opened_at=row["opened_at"],
        first_seen_at=row["first_seen_at"],
        last_seen_at=row["last_seen_at"],
        detection_count=row["detection_count"],
        max_confidence=row["max_confidence"],
        react_by=row["react_by"],
        overdue_at=row["overdue_at"],
        acknowledged_at=row["acknowledged_at"],
        acknowledged_by=row["acknowledged_by"],
        handed_over_at=row["handed_over_at"],
        handed_over_by=row["handed_over_by"],
        handed_over_to=row["handed_over_to"],
        assignee=row["assignee"],
        team=row["team"],
        closed_at=row["closed_at"],
        outcome=row["outcome"],
        version=row["version"],
    )


def _activity(row: Mapping[str, Any]) -> Activity:
    return Activity(
        seq=row["seq"],
        violation_id=row["violation_id"],
        at=row["at"],
        actor=row["actor"],
        action=row["action"],
        details=row["details"] or {},
    )


async def get(conn: Conn, *, violation_id: uuid.UUID, for_update: bool = False) -> Violation | None:
    lock = " FOR UPDATE OF v" if for_update else ""
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM {FROM} WHERE v.id = $1{lock}", violation_id)
    return violation_of(row) if row else None


async def apply(
    conn: Conn, *, violation_id: uuid.UUID, status: ViolationStatus, fields: Mapping[str, Any], bump: bool
) -> Violation:
    """Write a handling change: the status, the given fields, and (for a transition) the next version."""
    unknown = set(fields) - SETTABLE
    if unknown:
        raise ValueError(f"not a handling field: {sorted(unknown)}")
    names = sorted(fields)
    sets = ["status = $2", *(f"{n} = ${i}" for i, n in enumerate(names, start=3))]
    if bump:
        sets.append("version = v.version + 1")
    row = await conn.fetchrow(
        f"""UPDATE violations v SET {", ".join(sets)} FROM cameras c
             WHERE v.id = $1 AND c.id = v.camera_id RETURNING {COLUMNS}""",
        violation_id,
        status.value,
        *(fields[n] for n in names),
    )
    assert row is not None  # the caller holds the row lock
    return violation_of(row)


async def append_activity(
    conn: Conn,
    *,
    violation_id: uuid.UUID,
    actor: str,
    action: Action,
    details: Mapping[str, Any],
    at: datetime,
) -> Activity:
    row = await conn.fetchrow(
        """INSERT INTO violation_activity (violation_id, at, actor, action, details)
           VALUES ($1, $2, $3, $4, $5) RETURNING seq, violation_id, at, actor, action, details""",
        violation_id,
        at,
        actor,
        action.value,
        dict(details),
    )
    assert row is not None
    return _activity(row)


async def activity(conn: Conn, *, violation_id: uuid.UUID) -> list[Activity]:
    rows = await conn.fetch(
        """SELECT seq, violation_id, at, actor, action, details FROM violation_activity
            WHERE violation_id = $1 ORDER BY seq""",
        violation_id,
    )
    return [_activity(r) for r in rows]


def _where(where: ViolationFilter, args: list[Any]) -> list[str]:
    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    clauses: list[str] = []
    if where.status is not None:
        clauses.append(f"v.status = {arg(where.status.value)}")
    if where.kind:
        clauses.append(f"v.kind = {arg(where.kind)}")
    if where.priority:
        clauses.append(f"v.priority = {arg(where.priority)}")
    if where.camera_id is not None:
        clauses.append(f"v.camera_id = {arg(where.camera_id)}")
    if where.unit_id is not None:
        clauses.append(f"v.unit_id = {arg(where.unit_id)}")
    if where.district_code:
        clauses.append(f"c.district_code = {arg(where.district_code)}")
    if where.overdue is True:
        clauses.append("v.overdue_at IS NOT NULL")
    elif where.overdue is False:
        clauses.append("v.overdue_at IS NULL")
    if where.opened_from is not None:
        clauses.append(f"v.opened_at >= {arg(where.opened_from)}")
    if where.opened_to is not None:
        clauses.append(f"v.opened_at < {arg(where.opened_to)}")
    return clauses


async def list_violations(
    conn: Conn, *, where: ViolationFilter, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[Violation]:
    """Newest first, keyset after `(opened_at, id)` of the previous page's last row."""
    args: list[Any] = []
    clauses = _where(where, args)
    if after is not None:
        args.extend(after)
        clauses.append(f"(v.opened_at, v.id) < (${len(args) - 1}, ${len(args)})")
    args.append(limit)
    sql = (
        f"SELECT {COLUMNS} FROM {FROM}"
        f"{' WHERE ' + ' AND '.join(clauses) if clauses else ''}"
        f" ORDER BY v.opened_at DESC, v.id DESC LIMIT ${len(args)}"
    )
    return [violation_of(r) for r in await conn.fetch(sql, *args)]


# --- overdue --------------------------------------------------------------------------------------------


async def flag_overdue(conn: Conn, *, now: datetime, limit: int) -> list[Violation]:
    """Mark NEW violations past their deadline and not yet flagged as overdue at `now` (each once, also with
    several workers: rows another worker holds are skipped). The version stays: see the domain."""
    rows = await conn.fetch(
        f"""WITH due AS (
                SELECT id FROM violations
                 WHERE status = 'new' AND overdue_at IS NULL AND react_by <= $1
                 ORDER BY react_by LIMIT $2 FOR UPDATE SKIP LOCKED)
            UPDATE violations v SET overdue_at = $1 FROM due, cameras c
             WHERE v.id = due.id AND c.id = v.camera_id RETURNING {COLUMNS}""",
        now,
        limit,
    )
    return sorted((violation_of(r) for r in rows), key=lambda v: (v.react_by, str(v.id)))


async def append_overdue(conn: Conn, *, violations: Sequence[Violation], at: datetime) -> None:
    await conn.executemany(
        """INSERT INTO violation_activity (violation_id, at, actor, action, details)
           VALUES ($1, $2, 'system', $3, $4)""",
        [(v.id, at, Action.OVERDUE.value, {"react_by": v.react_by.isoformat()}) for v in violations],
    )


async def next_deadline(conn: Conn) -> datetime | None:
    """The earliest deadline of a NEW violation not flagged yet (the overdue check sleeps until then)."""
    value: datetime | None = await conn.fetchval(
        "SELECT min(react_by) FROM violations WHERE status = 'new' AND overdue_at IS NULL"
    )
    return value


async def gauges(conn: Conn) -> dict[str, tuple[int, int]]:
    """Per priority: (open violations, violations still NEW past their deadline)."""
    rows = await conn.fetch(
        """SELECT priority, count(*) AS open,
                  count(*) FILTER (WHERE status = 'new' AND overdue_at IS NOT NULL) AS overdue
             FROM violations WHERE status = ANY($1::text[]) GROUP BY priority""",
        OPEN_STATUSES,
    )
    return {r["priority"]: (r["open"], r["overdue"]) for r in rows}


# --- the feed -------------------------------------------------------------------------------------------


async def in_progress_transactions(conn: Conn) -> tuple[str, ...]:
    """The transaction ids in progress in the statement's snapshot (as text: asyncpg has no xid8 codec)."""
    values = await conn.fetchval("SELECT array(SELECT pg_snapshot_xip(pg_current_snapshot())::text)")
    return tuple(values or ())


async def all_ended(conn: Conn, xids: Sequence[str]) -> bool:
    ended: bool = await conn.fetchval(
        """SELECT NOT EXISTS (SELECT 1 FROM unnest($1::text[]) x
                              WHERE pg_xact_status(x::xid8) = 'in progress')""",
        list(xids),
    )
    return ended


async def feed(conn: Conn, *, after: int, limit: int) -> list[tuple[Activity, Violation]]:
    """Activity rows after seq `after` in seq order, each with its violation as it is now."""
    rows = await conn.fetch(
        f"""SELECT a.seq, a.violation_id, a.at, a.actor, a.action, a.details,
                   {COLUMNS}
              FROM violation_activity a JOIN violations v ON v.id = a.violation_id
              JOIN cameras c ON c.id = v.camera_id
             WHERE a.seq > $1 ORDER BY a.seq LIMIT $2""",
        after,
        limit,
    )
    return [(_activity(r), violation_of(r)) for r in rows]
