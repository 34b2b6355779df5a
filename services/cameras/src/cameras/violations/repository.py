"""SQL of violations (asyncpg): opening and joining them from detections, handling them, their activity log,
the overdue flag, and the feed of activity with its notifications (`ActivitySignal`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from cameras.violations.domain import (
    OPEN,
    Action,
    Activity,
    DetectionKind,
    Joining,
    KindRule,
    Opening,
    OpenViolation,
    Violation,
    ViolationFilter,
    ViolationStatus,
)
from d07.platform.db import Conn
from d07.platform.db.query import Where, from_row, from_rows
from d07.platform.logging import get_logger

log = get_logger(__name__)

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
_SYSTEM_ACTIVITY = """
INSERT INTO violation_activity (violation_id, actor, action, details)
SELECT a.violation_id, 'system', a.action, a.details::jsonb
FROM unnest($1::uuid[], $2::text[], $3::text[]) AS a(violation_id, action, details)
"""


def violation_of(row: Mapping[str, Any], **overrides: Any) -> Violation:
    return from_row(Violation, row, status=ViolationStatus(row["status"]), **overrides)


def _activity(row: Mapping[str, Any]) -> Activity:
    return from_row(Activity, row, details=row["details"] or {})


class ViolationRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def get(self, violation_id: uuid.UUID, *, for_update: bool = False) -> Violation | None:
        lock = " FOR UPDATE OF v" if for_update else ""
        row = await self.conn.fetchrow(f"SELECT {COLUMNS} FROM {FROM} WHERE v.id = $1{lock}", violation_id)
        return violation_of(row) if row else None

    async def apply(
        self, *, violation_id: uuid.UUID, status: ViolationStatus, fields: Mapping[str, Any], bump: bool
    ) -> Violation:
        """Write a handling change: the status, the given fields, and (for a transition) the next version."""
        unknown = set(fields) - SETTABLE
        if unknown:
            raise ValueError(f"not a handling field: {sorted(unknown)}")
        names = sorted(fields)
        sets = ["status = $2", *(f"{n} = ${i}" for i, n in enumerate(names, start=3))]
        if bump:
            sets.append("version = v.version + 1")
        row = await self.conn.fetchrow(
            f"""UPDATE violations v SET {", ".join(sets)} FROM cameras c
                 WHERE v.id = $1 AND c.id = v.camera_id RETURNING {COLUMNS}""",
            violation_id,
            status.value,
            *(fields[n] for n in names),
        )
        assert row is not None  # the caller holds the row lock
        return violation_of(row)

    async def append_activity(
        self,
        *,
        violation_id: uuid.UUID,
        actor: str,
        action: Action,
        details: Mapping[str, Any],
        at: datetime,
    ) -> Activity:
        row = await self.conn.fetchrow(
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

    async def activity(self, violation_id: uuid.UUID) -> list[Activity]:
        rows = await self.conn.fetch(
            """SELECT seq, violation_id, at, actor, action, details FROM violation_activity
                WHERE violation_id = $1 ORDER BY seq""",
            violation_id,
        )
        return [_activity(r) for r in rows]

    async def page(
        self, *, where: ViolationFilter, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Violation]:
        """Newest first, keyset after `(opened_at, id)` of the previous page's last row."""
        w = Where()
        if where.status is not None:
            w.add("v.status = {}", where.status.value)
        w.add_if(where.kind, "v.kind = {}")
        w.add_if(where.priority, "v.priority = {}")
        w.add_if(where.camera_id, "v.camera_id = {}")
        w.add_if(where.unit_id, "v.unit_id = {}")
        w.add_if(where.district_code, "c.district_code = {}")
        if where.overdue is True:
            w.add("v.overdue_at IS NOT NULL")
        elif where.overdue is False:
            w.add("v.overdue_at IS NULL")
        w.add_if(where.opened_from, "v.opened_at >= {}")
        w.add_if(where.opened_to, "v.opened_at < {}")
        if after is not None:
            w.add("(v.opened_at, v.id) < ({}, {})", *after)
        sql = (
            f"SELECT {COLUMNS} FROM {FROM} WHERE {w.sql()}"
            f" ORDER BY v.opened_at DESC, v.id DESC LIMIT {w.param(limit)}"
        )
        return [violation_of(r) for r in await self.conn.fetch(sql, *w.args)]

    # --- opening from detections -------------------------------------------------------------------------

    async def kind_rules(self) -> dict[str, KindRule]:
        """The kinds' thresholds, priorities and reaction times (`detection_kinds`)."""
        rows = await self.conn.fetch(
            "SELECT kind, open_threshold, priority, reaction_minutes FROM detection_kinds"
        )
        # `real` is single precision: 0.80 reads back as 0.800000011920929, which a confidence of 0.8 would
        # miss.
        return {
            r["kind"]: KindRule(
                r["kind"], round(r["open_threshold"], 6), r["priority"], r["reaction_minutes"]
            )
            for r in rows
        }

    async def detection_kinds(self) -> list[DetectionKind]:
        """Every kind with its label and rule, ordered by kind (`detection_kinds`)."""
        rows = await self.conn.fetch(
            "SELECT kind, label, open_threshold, priority, reaction_minutes"
            " FROM detection_kinds ORDER BY kind"
        )
        return [
            DetectionKind(
                r["kind"], r["label"], round(r["open_threshold"], 6), r["priority"], r["reaction_minutes"]
            )
            for r in rows
        ]

    async def lock_pairs(self, keys: Sequence[int]) -> None:
        """Transaction-level advisory locks, taken in the order given (callers sort the keys)."""
        await self.conn.execute("SELECT pg_advisory_xact_lock(k) FROM unnest($1::bigint[]) AS k", list(keys))

    async def open_violations(self, pairs: Sequence[tuple[uuid.UUID, str]]) -> list[OpenViolation]:
        """The newest open violation of each (camera, kind), locked for this transaction."""
        rows = await self.conn.fetch(
            _OPEN_VIOLATIONS, [c for c, _ in pairs], [k for _, k in pairs], OPEN_STATUSES
        )
        return from_rows(OpenViolation, rows)

    async def insert_openings(self, openings: Sequence[Opening]) -> None:
        await self.conn.execute(
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

    async def join(self, joinings: Sequence[Joining]) -> dict[uuid.UUID, Violation]:
        """Grow the joined violations; returns them as they are now."""
        rows = await self.conn.fetch(
            _JOIN_VIOLATIONS,
            [j.id for j in joinings],
            [len(j.detection_ids) for j in joinings],
            [j.first_seen_at for j in joinings],
            [j.last_seen_at for j in joinings],
            [j.max_confidence for j in joinings],
        )
        codes = {j.id: j.camera.code for j in joinings}
        return {r["id"]: violation_of(r, camera_code=codes[r["id"]]) for r in rows}

    async def add_system_activity(
        self, rows: Sequence[tuple[uuid.UUID, Action | str, Mapping[str, Any]]]
    ) -> None:
        """Activity rows by `system` (opened, joined), one statement for the batch."""
        if rows:
            await self.conn.execute(
                _SYSTEM_ACTIVITY,
                [r[0] for r in rows],
                [str(r[1]) for r in rows],
                [json.dumps(r[2]) for r in rows],
            )

    # --- overdue -----------------------------------------------------------------------------------------

    async def flag_overdue(self, *, now: datetime, limit: int) -> list[Violation]:
        """Mark NEW violations past their deadline and not yet flagged as overdue at `now` (each once, also
        with several workers: rows another worker holds are skipped). The version stays: see the domain."""
        rows = await self.conn.fetch(
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

    async def append_overdue(self, *, violations: Sequence[Violation], at: datetime) -> None:
        await self.conn.executemany(
            """INSERT INTO violation_activity (violation_id, at, actor, action, details)
               VALUES ($1, $2, 'system', $3, $4)""",
            [(v.id, at, Action.OVERDUE.value, {"react_by": v.react_by.isoformat()}) for v in violations],
        )

    async def next_deadline(self) -> datetime | None:
        """The earliest deadline of a NEW violation not flagged yet (the overdue check sleeps until then)."""
        value: datetime | None = await self.conn.fetchval(
            "SELECT min(react_by) FROM violations WHERE status = 'new' AND overdue_at IS NULL"
        )
        return value

    async def gauges(self) -> dict[str, tuple[int, int]]:
        """Per priority: (open violations, violations still NEW past their deadline)."""
        rows = await self.conn.fetch(
            """SELECT priority, count(*) AS open,
                      count(*) FILTER (WHERE status = 'new' AND overdue_at IS NOT NULL) AS overdue
                 FROM violations WHERE status = ANY($1::text[]) GROUP BY priority""",
            OPEN_STATUSES,
        )
        return {r["priority"]: (r["open"], r["overdue"]) for r in rows}

    # --- the feed ----------------------------------------------------------------------------------------

    async def snapshot(self) -> None:
        """Make the rest of this transaction one read-only snapshot (its first statement)."""
        await self.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")

    async def in_progress_transactions(self) -> tuple[str, ...]:
        """The transaction ids in progress in the statement's snapshot (text: asyncpg has no xid8 codec)."""
        values = await self.conn.fetchval("SELECT array(SELECT pg_snapshot_xip(pg_current_snapshot())::text)")
        return tuple(values or ())

    async def all_ended(self, xids: Sequence[str]) -> bool:
        ended: bool = await self.conn.fetchval(
            """SELECT NOT EXISTS (SELECT 1 FROM unnest($1::text[]) x
                                  WHERE pg_xact_status(x::xid8) = 'in progress')""",
            list(xids),
        )
        return ended

    async def feed(self, *, after: int, limit: int) -> list[tuple[Activity, Violation]]:
        """Activity rows after seq `after` in seq order, each with its violation as it is now."""
        rows = await self.conn.fetch(
            f"""SELECT a.seq, a.violation_id, a.at, a.actor, a.action, a.details,
                       {COLUMNS}
                  FROM violation_activity a JOIN violations v ON v.id = a.violation_id
                  JOIN cameras c ON c.id = v.camera_id
                 WHERE a.seq > $1 ORDER BY a.seq LIMIT $2""",
            after,
            limit,
        )
        return [(_activity(r), violation_of(r)) for r in rows]


# --- notifications of new activity ----------------------------------------------------------------------

RECONNECT_SECONDS = 5.0


class ActivitySignal:
    """Wakes readers of the feed when activity commits: one LISTEN connection per process on
    `d07_violations_<schema>` (migration 0003's trigger notifies there), opened while somebody reads; readers
    also poll, so a lost listener costs latency, never rows."""

    def __init__(self, dsn: str, schema: str) -> None:
        self._dsn = dsn
        self.channel = f"d07_violations_{schema}"
        self._conn: asyncpg.Connection | None = None
        self._users = 0
        self._tickets: set[asyncio.Future[None]] = set()
        self._connecting: asyncio.Task[None] | None = None
        self._last_attempt = -RECONNECT_SECONDS

    @contextlib.asynccontextmanager
    async def listening(self) -> AsyncIterator[None]:
        """Keep the listener open while the caller reads."""
        self._users += 1
        self._ensure_connected()
        try:
            yield
        finally:
            self._users -= 1
            if self._users == 0:
                await self._close()

    def ticket(self) -> asyncio.Future[None]:
        """A future resolved by the next notification; take it before reading, then `wait` on it, so a row
        that commits while the reader reads still wakes it."""
        self._ensure_connected()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tickets.add(future)
        return future

    async def wait(self, ticket: asyncio.Future[None], seconds: float) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(ticket), seconds)
        except TimeoutError:
            pass
        finally:
            self.discard(ticket)

    def discard(self, ticket: asyncio.Future[None]) -> None:
        self._tickets.discard(ticket)
        ticket.cancel()

    def _notified(self, *_: Any) -> None:
        tickets, self._tickets = self._tickets, set()
        for future in tickets:
            if not future.done():
                future.set_result(None)

    def _ensure_connected(self) -> None:
        loop = asyncio.get_running_loop()
        if self._conn is not None or self._connecting is not None or self._users == 0:
            return
        if loop.time() - self._last_attempt < RECONNECT_SECONDS:
            return
        self._last_attempt = loop.time()
        self._connecting = asyncio.create_task(self._connect(), name="violations-listener")

    async def _connect(self) -> None:
        try:
            conn = await asyncpg.connect(self._dsn, timeout=5)
            await conn.add_listener(self.channel, self._notified)
            conn.add_termination_listener(self._lost)
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
            log.warning("violations_listener_unavailable", error=str(exc))
            return
        finally:
            self._connecting = None
        if self._users == 0:  # everybody left while it connected
            await conn.close()
            return
        self._conn = conn
        self._notified()  # rows may have committed before LISTEN took effect: let readers look

    def _lost(self, *_: Any) -> None:
        self._conn = None

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(OSError, asyncpg.PostgresError):
                await conn.close(timeout=2)
