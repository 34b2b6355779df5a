"""SQL of training classes and attendance (asyncpg). Every statement about them lives here.

The figures are counted here from the rows, with the same WHERE clauses the lists use, so a figure and the
records behind it cannot drift apart.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Literal

import asyncpg

from d07.platform.db import Conn
from d07.platform.db.query import Where, from_row
from d07.platform.text import fold
from registry.training.domain import (
    Attendance,
    AttendanceFilter,
    ClassFilter,
    ClassStatus,
    GuardRef,
    Outcome,
    ScheduleClass,
    TrainingClass,
    TrainingFigures,
)

CLASS_COLUMNS = """c.id, c.title, c.organiser, c.starts_on, c.ends_on, c.place, c.capacity, c.district_code,
    c.status, c.cancel_reason, c.version, c.created_at, c.updated_at,
    (SELECT count(*) FROM training_attendances x WHERE x.class_id = c.id) AS enrolled"""
ATTENDANCE_COLUMNS = """a.id, a.seq, a.class_id, a.guard_id, a.unit_id, g.full_name, a.outcome, a.result,
    a.version, a.enrolled_at, a.completion_recorded_at"""


def _class(row: asyncpg.Record) -> TrainingClass:
    return from_row(TrainingClass, dict(row), status=ClassStatus(row["status"]))


def _attendance(row: asyncpg.Record) -> Attendance:
    return from_row(Attendance, dict(row), guard_full_name=row["full_name"], outcome=Outcome(row["outcome"]))


def _class_conditions(where: Where, *, from_date: date | None, to_date: date | None,
                      district_code: str, statuses: Sequence[ClassStatus]) -> None:  # fmt: skip
    if from_date is not None:
        where.add("c.starts_on >= {}", from_date)
    if to_date is not None:
        where.add("c.starts_on <= {}", to_date)
    if district_code:
        where.add("c.district_code = {}", district_code)
    if statuses:
        where.add("c.status = ANY({}::text[])", [s.value for s in statuses])


def _attendance_where(flt: AttendanceFilter) -> Where:
    where = Where()
    if flt.class_id is not None:
        where.add("a.class_id = {}", flt.class_id)
    if flt.guard_id is not None:
        where.add("a.guard_id = {}", flt.guard_id)
    if flt.unit_id is not None:
        where.add("a.unit_id = {}", flt.unit_id)
    if flt.outcome is not None:
        where.add("a.outcome = {}", flt.outcome.value)
    _class_conditions(
        where, from_date=flt.from_date, to_date=flt.to_date, district_code=flt.district_code,
        statuses=flt.class_statuses,
    )  # fmt: skip
    return where


class TrainingRepository:
    """Training classes and attendances, and the guards they enrol (read only)."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def add_class(self, *, class_id: uuid.UUID, cmd: ScheduleClass) -> TrainingClass:
        await self.conn.execute(
            """INSERT INTO training_classes
                   (id, title, search_title, organiser, starts_on, ends_on, place, capacity, district_code)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
            class_id,
            cmd.title,
            fold(cmd.title),
            cmd.organiser,
            cmd.starts_on,
            cmd.ends_on,
            cmd.place,
            cmd.capacity,
            cmd.district_code,
        )
        found = await self.get_class(class_id=class_id)
        assert found is not None
        return found

    async def get_class(
        self, *, class_id: uuid.UUID, lock: Literal["", "UPDATE", "SHARE"] = ""
    ) -> TrainingClass | None:
        """One class, locked for the transaction when asked. Changes and enrolments take UPDATE (enrolments
        of one class queue behind each other, so the capacity check sees every earlier one); a completion
        takes SHARE, so a class cannot be cancelled between its check and the completion's commit."""
        clause = f" FOR {lock} OF c" if lock else ""
        row = await self.conn.fetchrow(
            f"SELECT {CLASS_COLUMNS} FROM training_classes c WHERE c.id = $1{clause}", class_id
        )
        return _class(row) if row else None

    async def save_class(self, cls: TrainingClass) -> TrainingClass:
        """Write the class's fields and bump its version (the caller holds the row lock and checked it)."""
        await self.conn.execute(
            """UPDATE training_classes
                  SET title = $2, search_title = $3, organiser = $4, starts_on = $5, ends_on = $6, place = $7,
                      capacity = $8, district_code = $9, status = $10, cancel_reason = $11,
                      version = version + 1, updated_at = now()
                WHERE id = $1""",
            cls.id,
            cls.title,
            fold(cls.title),
            cls.organiser,
            cls.starts_on,
            cls.ends_on,
            cls.place,
            cls.capacity,
            cls.district_code,
            cls.status.value,
            cls.cancel_reason,
        )
        saved = await self.get_class(class_id=cls.id)
        assert saved is not None
        return saved

    async def list_classes(
        self, flt: ClassFilter, *, after: tuple[date, uuid.UUID] | None, limit: int
    ) -> list[TrainingClass]:
        """Classes by start date, newest first, then id: a keyset page after `after`."""
        where = Where()
        _class_conditions(
            where, from_date=flt.from_date, to_date=flt.to_date, district_code=flt.district_code,
            statuses=flt.statuses,
        )  # fmt: skip
        if flt.q:
            where.add("strpos(c.search_title, {}) > 0", fold(flt.q))
        if after is not None:
            where.add("(c.starts_on, c.id) < ({}::date, {}::uuid)", *after)
        rows = await self.conn.fetch(
            f"""SELECT {CLASS_COLUMNS} FROM training_classes c WHERE {where.sql()}
                ORDER BY c.starts_on DESC, c.id DESC LIMIT {int(limit)}""",
            *where.args,
        )
        return [_class(r) for r in rows]

    async def has_completions(self, *, class_id: uuid.UUID) -> bool:
        found: bool = await self.conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM training_attendances WHERE class_id = $1 AND outcome <> 'pending')",
            class_id,
        )
        return found

    async def guards_for_enrolment(self, *, guard_ids: Sequence[uuid.UUID]) -> list[GuardRef]:
        """The guards that exist among `guard_ids`, share-locked so none leaves while being enrolled."""
        rows = await self.conn.fetch(
            """SELECT id, unit_id, full_name, status FROM guards WHERE id = ANY($1::uuid[]) FOR SHARE""",
            list(guard_ids),
        )
        return [from_row(GuardRef, dict(r)) for r in rows]

    async def guard_unit(self, *, guard_id: uuid.UUID) -> uuid.UUID | None:
        unit: uuid.UUID | None = await self.conn.fetchval(
            "SELECT unit_id FROM guards WHERE id = $1", guard_id
        )
        return unit

    async def enrolled_among(self, *, class_id: uuid.UUID, guard_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        rows = await self.conn.fetch(
            "SELECT guard_id FROM training_attendances WHERE class_id = $1 AND guard_id = ANY($2::uuid[])",
            class_id,
            list(guard_ids),
        )
        return {r["guard_id"] for r in rows}

    async def add_attendances(self, *, class_id: uuid.UUID, guards: Sequence[GuardRef]) -> list[Attendance]:
        """One statement for the whole enrolment, in the order the guards were given."""
        rows = await self.conn.fetch(
            f"""WITH a AS (
                    INSERT INTO training_attendances (id, class_id, guard_id, unit_id)
                    SELECT t.id, $1, t.guard_id, t.unit_id
                      FROM unnest($2::uuid[], $3::uuid[], $4::uuid[])
                           WITH ORDINALITY AS t(id, guard_id, unit_id, n)
                     ORDER BY t.n
                    RETURNING *)
                SELECT {ATTENDANCE_COLUMNS} FROM a JOIN guards g ON g.id = a.guard_id ORDER BY a.seq""",
            class_id,
            [uuid.uuid4() for _ in guards],
            [g.id for g in guards],
            [g.unit_id for g in guards],
        )
        return [_attendance(r) for r in rows]

    async def get_attendance(
        self, *, class_id: uuid.UUID, guard_id: uuid.UUID, for_update: bool = False
    ) -> Attendance | None:
        lock = " FOR UPDATE OF a" if for_update else ""
        row = await self.conn.fetchrow(
            f"""SELECT {ATTENDANCE_COLUMNS} FROM training_attendances a JOIN guards g ON g.id = a.guard_id
                 WHERE a.class_id = $1 AND a.guard_id = $2{lock}""",
            class_id,
            guard_id,
        )
        return _attendance(row) if row else None

    async def save_completion(self, *, attendance_id: uuid.UUID, outcome: Outcome, result: str) -> Attendance:
        row = await self.conn.fetchrow(
            f"""WITH a AS (
                    UPDATE training_attendances
                       SET outcome = $2, result = $3, completion_recorded_at = now(), version = version + 1,
                           updated_at = now()
                     WHERE id = $1
                    RETURNING *)
                SELECT {ATTENDANCE_COLUMNS} FROM a JOIN guards g ON g.id = a.guard_id""",
            attendance_id,
            outcome.value,
            result,
        )
        assert row is not None
        return _attendance(row)

    async def list_attendances(
        self, flt: AttendanceFilter, *, after: int | None, limit: int
    ) -> list[tuple[int, Attendance]]:
        """A keyset page in the order attendances were recorded, each with its position (seq, the cursor)."""
        where = _attendance_where(flt)
        if after is not None:
            where.add("a.seq > {}", after)
        rows = await self.conn.fetch(
            f"""SELECT {ATTENDANCE_COLUMNS}
                  FROM training_attendances a
                  JOIN training_classes c ON c.id = a.class_id
                  JOIN guards g ON g.id = a.guard_id
                 WHERE {where.sql()}
                 ORDER BY a.seq LIMIT {int(limit)}""",
            *where.args,
        )
        return [(r["seq"], _attendance(r)) for r in rows]

    async def figures(self, *, flt: AttendanceFilter) -> TrainingFigures:
        """Counted with the list's own conditions: classes as ListClasses, the rest as ListAttendances."""
        classes = Where()
        _class_conditions(
            classes, from_date=flt.from_date, to_date=flt.to_date, district_code=flt.district_code,
            statuses=flt.class_statuses,
        )  # fmt: skip
        n_classes = await self.conn.fetchval(
            f"SELECT count(*) FROM training_classes c WHERE {classes.sql()}", *classes.args
        )
        where = _attendance_where(flt)
        row = await self.conn.fetchrow(
            f"""SELECT count(*) AS attendances,
                       count(*) FILTER (WHERE a.outcome = 'completed') AS completed_attendances,
                       count(DISTINCT a.guard_id) AS guards_attended,
                       count(DISTINCT a.guard_id) FILTER (WHERE a.outcome = 'completed') AS guards_completed
                  FROM training_attendances a JOIN training_classes c ON c.id = a.class_id
                 WHERE {where.sql()}""",
            *where.args,
        )
        assert row is not None
        return from_row(TrainingFigures, dict(row), classes=n_classes)
