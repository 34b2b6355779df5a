"""SQL of the derived criteria: the read models kept from events, and the facts the rules read.

Every write is guarded by the version of the snapshot it comes from, so applying an event twice, or an older
event after a newer one (a replay from an earlier offset), leaves the newer state in place.
"""

from __future__ import annotations

import uuid
from datetime import date

from assessment.derived.domain import (
    ModelPeriod,
    TrainingRecord,
    UnitFacts,
    ViolationRecord,
    year_bounds,
)
from assessment.derived.messages import AttendanceRow, ClassRow, ModelRow, ViolationRow
from d07.platform.db import Conn

# --- movement models --------------------------------------------------------------------------------------


async def upsert_model(conn: Conn, m: ModelRow) -> None:
    await conn.execute(
        """INSERT INTO known_models (model_id, unit_id, name, kind_label, status, status_on, version)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (model_id) DO UPDATE SET unit_id = EXCLUDED.unit_id, name = EXCLUDED.name,
               kind_label = EXCLUDED.kind_label, status = EXCLUDED.status, status_on = EXCLUDED.status_on,
               version = EXCLUDED.version
           WHERE known_models.version < EXCLUDED.version""",
        m.model_id, m.unit_id, m.name, m.kind_label, m.status, m.status_on, m.version,
    )  # fmt: skip


async def enter_model_status(conn: Conn, m: ModelRow) -> None:
    """The model entered its status at this version (its registration, or a status change)."""
    await conn.execute(
        """INSERT INTO known_model_statuses (model_id, from_version, status, status_on, version)
           VALUES ($1, $2, $3, $4, $2)
           ON CONFLICT (model_id, from_version) DO NOTHING""",
        m.model_id, m.version, m.status, m.status_on,
    )  # fmt: skip


async def correct_model_status(conn: Conn, m: ModelRow) -> None:
    """A change of fields at this version may move the date of the status entry current at it (correcting
    the formation of a model that has not changed status since). Without any entry yet (events before it were
    never seen), the snapshot starts the history."""
    done = await conn.fetchval(
        """WITH cur AS (
               SELECT max(from_version) AS v FROM known_model_statuses
                WHERE model_id = $1 AND from_version <= $2)
           UPDATE known_model_statuses s SET status = $3, status_on = $4, version = $2
             FROM cur
            WHERE s.model_id = $1 AND s.from_version = cur.v AND s.version < $2
           RETURNING true""",
        m.model_id, m.version, m.status, m.status_on,
    )  # fmt: skip
    if done is None:
        await conn.execute(
            """INSERT INTO known_model_statuses (model_id, from_version, status, status_on, version)
               SELECT $1, $2, $3, $4, $2
                WHERE NOT EXISTS (SELECT 1 FROM known_model_statuses
                                   WHERE model_id = $1 AND from_version <= $2)
               ON CONFLICT (model_id, from_version) DO NOTHING""",
            m.model_id, m.version, m.status, m.status_on,
        )  # fmt: skip


async def model_periods(conn: Conn, *, unit_id: uuid.UUID, year: int) -> list[ModelPeriod]:
    """The effective periods of the models the unit hosts now that reach into the year (a model that moved to
    another host counts for its current host)."""
    rows = await conn.fetch(
        """SELECT * FROM (
               SELECT m.model_id, m.name, s.status, s.status_on AS starts_on,
                      lead(s.status_on) OVER (PARTITION BY s.model_id ORDER BY s.from_version) AS ends_on
                 FROM known_models m JOIN known_model_statuses s USING (model_id)
                WHERE m.unit_id = $1) p
            WHERE p.status = 'effective' AND p.starts_on <= $3 AND (p.ends_on IS NULL OR p.ends_on > $2)""",
        unit_id, date(year, 1, 1), date(year, 12, 31),
    )  # fmt: skip
    return [ModelPeriod(r["model_id"], r["name"], r["status"], r["starts_on"], r["ends_on"]) for r in rows]


# --- training ---------------------------------------------------------------------------------------------


async def upsert_class(conn: Conn, c: ClassRow) -> None:
    await conn.execute(
        """INSERT INTO known_classes (class_id, title, starts_on, ends_on, status, version)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (class_id) DO UPDATE SET title = EXCLUDED.title, starts_on = EXCLUDED.starts_on,
               ends_on = EXCLUDED.ends_on, status = EXCLUDED.status, version = EXCLUDED.version
           WHERE known_classes.version < EXCLUDED.version""",
        c.class_id, c.title, c.starts_on, c.ends_on, c.status, c.version,
    )  # fmt: skip


async def upsert_attendance(conn: Conn, a: AttendanceRow) -> None:
    await conn.execute(
        """INSERT INTO known_attendances (attendance_id, class_id, guard_id, unit_id, guard_full_name,
                                          outcome, version)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (attendance_id) DO UPDATE SET guard_full_name = EXCLUDED.guard_full_name,
               outcome = EXCLUDED.outcome, version = EXCLUDED.version
           WHERE known_attendances.version < EXCLUDED.version""",
        a.attendance_id, a.class_id, a.guard_id, a.unit_id, a.guard_full_name, a.outcome, a.version,
    )  # fmt: skip


async def training_records(conn: Conn, *, unit_id: uuid.UUID, year: int) -> list[TrainingRecord]:
    """The unit's attendances in classes that start in the year (a class not seen yet is left out)."""
    rows = await conn.fetch(
        """SELECT a.attendance_id, a.guard_full_name, a.outcome, c.title, c.status, c.starts_on, c.ends_on
             FROM known_attendances a JOIN known_classes c USING (class_id)
            WHERE a.unit_id = $1 AND c.starts_on BETWEEN $2 AND $3""",
        unit_id, date(year, 1, 1), date(year, 12, 31),
    )  # fmt: skip
    return [
        TrainingRecord(
            r["attendance_id"], r["guard_full_name"], r["outcome"], r["title"], r["status"], r["starts_on"],
            r["ends_on"],
        )
        for r in rows
    ]  # fmt: skip


# --- violations -------------------------------------------------------------------------------------------


async def get_violation(conn: Conn, violation_id: uuid.UUID) -> ViolationRow | None:
    r = await conn.fetchrow("SELECT * FROM known_violations WHERE violation_id = $1", violation_id)
    if r is None:
        return None
    return ViolationRow(
        r["violation_id"], r["unit_id"], r["camera_code"], r["kind"], r["priority"], r["status"],
        r["opened_at"], r["version"],
    )  # fmt: skip


async def upsert_violation(conn: Conn, v: ViolationRow) -> None:
    # `<=`: detections joining a violation keep its version; the fields kept here do not change with them.
    await conn.execute(
        """INSERT INTO known_violations (violation_id, unit_id, camera_code, kind, priority, status,
                                         opened_at, version)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (violation_id) DO UPDATE SET unit_id = EXCLUDED.unit_id,
               camera_code = EXCLUDED.camera_code, kind = EXCLUDED.kind, priority = EXCLUDED.priority,
               status = EXCLUDED.status, opened_at = EXCLUDED.opened_at, version = EXCLUDED.version
           WHERE known_violations.version <= EXCLUDED.version""",
        v.violation_id, v.unit_id, v.camera_code, v.kind, v.priority, v.status, v.opened_at, v.version,
    )  # fmt: skip


async def violations(conn: Conn, *, unit_id: uuid.UUID, year: int) -> list[ViolationRecord]:
    start, end = year_bounds(year)
    rows = await conn.fetch(
        """SELECT violation_id, camera_code, kind, priority, status, opened_at FROM known_violations
            WHERE unit_id = $1 AND opened_at >= $2 AND opened_at < $3""",
        unit_id, start, end,
    )  # fmt: skip
    return [
        ViolationRecord(
            r["violation_id"], r["camera_code"], r["kind"], r["priority"], r["status"], r["opened_at"]
        )
        for r in rows
    ]


# --- criteria ---------------------------------------------------------------------------------------------


async def derived_criteria(conn: Conn, *, unit_id: uuid.UUID, year: int) -> list[tuple[str, str]]:
    """(code, derivation) of the derived criteria, in the set's order, of the set the unit is judged by in the
    year: its assessment's set when it has one, else the set in force for its kind (the newest when several
    are). Empty for a unit assessment does not know yet."""
    rows = await conn.fetch(
        """WITH s AS (
               SELECT code, version FROM (
                   SELECT a.set_code AS code, a.set_version AS version, 0 AS pick, 0 AS from_year
                     FROM assessments a WHERE a.unit_id = $1 AND a.year = $2
                   UNION ALL
                   SELECT s.code, s.version, 1, s.valid_from_year FROM units u
                     JOIN criteria_sets s ON u.kind = ANY (s.unit_kinds) AND s.valid_from_year <= $2
                                         AND (s.valid_to_year IS NULL OR s.valid_to_year >= $2)
                    WHERE u.unit_id = $1
                   ORDER BY pick, from_year DESC, version DESC) found
               LIMIT 1)
           SELECT c.code, c.derivation
             FROM criteria c JOIN s ON c.set_code = s.code AND c.set_version = s.version
            WHERE c.derivation IS NOT NULL
            ORDER BY c.position""",
        unit_id, year,
    )  # fmt: skip
    return [(r["code"], r["derivation"]) for r in rows]


async def facts(conn: Conn, *, unit_id: uuid.UUID, year: int) -> UnitFacts:
    return UnitFacts(
        model_periods=await model_periods(conn, unit_id=unit_id, year=year),
        training=await training_records(conn, unit_id=unit_id, year=year),
        violations=await violations(conn, unit_id=unit_id, year=year),
    )


# --- what the verifier saw --------------------------------------------------------------------------------


async def needs_review(conn: Conn, *, unit_id: uuid.UUID, year: int, kind: str, source_id: str) -> bool:
    """Whether the unit's assessment of the year is finalised without this source in view and not flagged for
    it yet. In view: kept among its derived answers' sources (the prefill stored at submission and
    finalisation), so its verifier judged with it."""
    found: bool = await conn.fetchval(
        """SELECT EXISTS (
               SELECT 1 FROM assessments a
                WHERE a.unit_id = $1 AND a.year = $2 AND a.status = 'finalised'
                  AND NOT EXISTS (
                      SELECT 1 FROM assessment_answers x
                       WHERE x.assessment_id = a.assessment_id
                         AND x.derived_sources
                             @> jsonb_build_array(jsonb_build_object('kind', $3::text, 'id', $4::text)))
                  AND NOT EXISTS (
                      SELECT 1 FROM review_flags f
                       WHERE f.assessment_id = a.assessment_id
                         AND f.source_kind = $3 AND f.source_id = $4))""",
        unit_id, year, kind, source_id,
    )  # fmt: skip
    return found
