"""SQL of training classes and attendance (asyncpg). Every statement about them lives here.

The figures are counted here from the rows, with the same WHERE clauses the lists use, so a figure and the
records behind it cannot drift apart.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any, Literal

import asyncpg

from d07.platform.db import Conn
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
    return TrainingClass(
        id=row["id"],
        title=row["title"],
        organiser=row["organiser"],
        starts_on=row["starts_on"],
        ends_on=row["ends_on"],
        place=row["place"],
        capacity=row["capacity"],
        district_code=row["district_code"],
        status=ClassStatus(row["status"]),
        enrolled=row["enrolled"],
        cancel_reason=row["cancel_reason"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _attendance(row: asyncpg.Record) -> Attendance:
    return Attendance(
        id=row["id"],
        class_id=row["class_id"],
        guard_id=row["guard_id"],
        unit_id=row["unit_id"],
        guard_full_name=row["full_name"],
        outcome=Outcome(row["outcome"]),
        result=row["result"],
        version=row["version"],
        enrolled_at=row["enrolled_at"],
        completion_recorded_at=row["completion_recorded_at"],
    )


class _Where:
    """Conditions and their numbered parameters, built up clause by clause."""

    def __init__(self) -> None:
        self.conditions: list[str] = []
        self.args: list[Any] = []

    def add(self, template: str, *values: Any) -> None:
        """Append a condition whose `{}` placeholders take `values` as the next parameters."""
        names = []
        for value in values:
            self.args.append(value)
            names.append(f"${len(self.args)}")
        self.conditions.append(template.format(*names))

    def sql(self) -> str:
        return " AND ".join(self.conditions) if self.conditions else "TRUE"


def _class_conditions(where: _Where, *, from_date: date | None, to_date: date | None,
                      district_code: str, statuses: Sequence[ClassStatus]) -> None:  # fmt: skip
    if from_date is not None:
        where.add("c.starts_on >= {}", from_date)
    if to_date is not None:
        where.add("c.starts_on <= {}", to_date)
    if district_code:
        where.add("c.district_code = {}", district_code)
    if statuses:
        where.add("c.status = ANY({}::text[])", [s.value for s in statuses])


# --- classes --------------------------------------------------------------------------------------------


async def add_class(conn: Conn, *, class_id: uuid.UUID, cmd: ScheduleClass) -> TrainingClass:
    await conn.execute(
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
    found = await get_class(conn, class_id=class_id)
    assert found is not None
    return found


async def get_class(
    conn: Conn, *, class_id: uuid.UUID, lock: Literal["", "UPDATE", "SHARE"] = ""
) -> TrainingClass | None:
    """One class, locked for the transaction when asked. Changes and enrolments take UPDATE (enrolments of one
    class queue behind each other, so the capacity check sees every earlier one); a completion takes SHARE,
    so a class cannot be cancelled between its check and the completion's commit."""
    clause = f" FOR {lock} OF c" if lock else ""
    row = await conn.fetchrow(
        f"SELECT {CLASS_COLUMNS} FROM training_classes c WHERE c.id = $1{clause}", class_id
    )
    return _class(row) if row else None


async def save_class(conn: Conn, cls: TrainingClass) -> TrainingClass:
    """Write the class's fields and bump its version (the caller holds the row lock, checked the version)."""
    await conn.execute(
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
    saved = await get_class(conn, class_id=cls.id)
    assert saved is not None
    return saved


async def list_classes(
    conn: Conn, flt: ClassFilter, *, after: tuple[date, uuid.UUID] | None, limit: int
) -> list[TrainingClass]:
    """Classes by start date, newest first, then id: a keyset page after `after`."""
    where = _Where()
    _class_conditions(
        where, from_date=flt.from_date, to_date=flt.to_date, district_code=flt.district_code,
        statuses=flt.statuses,
    )  # fmt: skip
    if flt.q:
        where.add("strpos(c.search_title, {}) > 0", fold(flt.q))
    if after is not None:
        where.add("(c.starts_on, c.id) < ({}::date, {}::uuid)", *after)
    rows = await conn.fetch(
        f"""SELECT {CLASS_COLUMNS} FROM training_classes c WHERE {where.sql()}
            ORDER BY c.starts_on DESC, c.id DESC LIMIT {int(limit)}""",
        *where.args,
    )
    return [_class(r) for r in rows]


async def has_completions(conn: Conn, *, class_id: uuid.UUID) -> bool:
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM training_attendances WHERE class_id = $1 AND outcome <> 'pending')",
        class_id,
    )
    return found


# --- attendance -----------------------------------------------------------------------------------------


async def guards_for_enrolment(conn: Conn, *, guard_ids: Sequence[uuid.UUID]) -> list[GuardRef]:
    """The guards that exist among `guard_ids`, share-locked so none leaves while being enrolled."""
    rows = await conn.fetch(
        """SELECT id, unit_id, full_name, status FROM guards WHERE id = ANY($1::uuid[]) FOR SHARE""",
        list(guard_ids),
    )
    return [GuardRef(r["id"], r["unit_id"], r["full_name"], r["status"]) for r in rows]


async def guard_unit(conn: Conn, *, guard_id: uuid.UUID) -> uuid.UUID | None:
    unit: uuid.UUID | None = await conn.fetchval("SELECT unit_id FROM guards WHERE id = $1", guard_id)
    return unit


async def enrolled_among(
    conn: Conn, *, class_id: uuid.UUID, guard_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    rows = await conn.fetch(
        "SELECT guard_id FROM training_attendances WHERE class_id = $1 AND guard_id = ANY($2::uuid[])",
        class_id,
        list(guard_ids),
    )
    return {r["guard_id"] for r in rows}


async def add_attendances(conn: Conn, *, class_id: uuid.UUID, guards: Sequence[GuardRef]) -> list[Attendance]:
    """One statement for the whole enrolment, in the order the guards were given."""
    rows = await conn.fetch(
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
    conn: Conn, *, class_id: uuid.UUID, guard_id: uuid.UUID, for_update: bool = False
) -> Attendance | None:
    lock = " FOR UPDATE OF a" if for_update else ""
    row = await conn.fetchrow(
        f"""SELECT {ATTENDANCE_COLUMNS} FROM training_attendances a JOIN guards g ON g.id = a.guard_id
             WHERE a.class_id = $1 AND a.guard_id = $2{lock}""",
        class_id,
        guard_id,
    )
    return _attendance(row) if row else None


async def save_completion(
    conn: Conn, *, attendance_id: uuid.UUID, outcome: Outcome, result: str
) -> Attendance:
    row = await conn.fetchrow(
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


def _attendance_where(flt: AttendanceFilter) -> _Where:
    where = _Where()
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


async def list_attendances(
    conn: Conn, flt: AttendanceFilter, *, after: int | None, limit: int
) -> list[tuple[int, Attendance]]:
    """A keyset page in the order attendances were recorded, each with its position (seq) for the cursor."""
    where = _attendance_where(flt)
    if after is not None:
        where.add("a.seq > {}", after)
    rows = await conn.fetch(
        f"""SELECT {ATTENDANCE_COLUMNS}
              FROM training_attendances a
              JOIN training_classes c ON c.id = a.class_id
              JOIN guards g ON g.id = a.guard_id
             WHERE {where.sql()}
             ORDER BY a.seq LIMIT {int(limit)}""",
        *where.args,
    )
    return [(r["seq"], _attendance(r)) for r in rows]


async def figures(conn: Conn, *, flt: AttendanceFilter) -> TrainingFigures:
    """Counted with the list's own conditions: classes as ListClasses, the rest as ListAttendances."""
    classes = _Where()
    _class_conditions(
        classes, from_date=flt.from_date, to_date=flt.to_date, district_code=flt.district_code,
        statuses=flt.class_statuses,
    )  # fmt: skip
    n_classes = await conn.fetchval(
        f"SELECT count(*) FROM training_classes c WHERE {classes.sql()}", *classes.args
    )
    where = _attendance_where(flt)
    row = await conn.fetchrow(
        f"""SELECT count(*) AS attendances,
                   count(*) FILTER (WHERE a.outcome = 'completed') AS completed,
                   count(DISTINCT a.guard_id) AS guards,
                   count(DISTINCT a.guard_id) FILTER (WHERE a.outcome = 'completed') AS guards_completed
              FROM training_attendances a JOIN training_classes c ON c.id = a.class_id
             WHERE {where.sql()}""",
        *where.args,
    )
    assert row is not None
    return TrainingFigures(
        classes=n_classes,
        attendances=row["attendances"],
        completed_attendances=row["completed"],
        guards_attended=row["guards"],
        guards_completed=row["guards_completed"],
    )
