"""SQL of the derived criteria: the read models kept from events, and the facts the rules read.

Every write is guarded by the version of the snapshot it comes from, so applying an event twice, or an older
event after a newer one (a replay from an earlier offset), leaves the newer state in place.
"""

from __future__ import annotations

import uuid
from datetime import date

from assessment.derived.domain import (
    AttendanceRow,
    ClassRow,
    ModelPeriod,
    ModelRow,
    ReviewFlag,
    TrainingRecord,
    UnitFacts,
    ViolationRecord,
    ViolationRow,
    year_bounds,
)
from d07.platform.db import Conn
from d07.platform.db.query import from_row, from_rows


class DerivedRepository:
    """The read models of the derived criteria (kept from events) and the facts the rules read from them."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    # --- movement models -----------------------------------------------------------------------------------

    async def upsert_model(self, m: ModelRow) -> None:
        await self.conn.execute(
            """INSERT INTO known_models (model_id, unit_id, name, kind_label, status, status_on, version)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (model_id) DO UPDATE SET unit_id = EXCLUDED.unit_id, name = EXCLUDED.name,
                   kind_label = EXCLUDED.kind_label, status = EXCLUDED.status, status_on = EXCLUDED.status_on,
                   version = EXCLUDED.version
               WHERE known_models.version < EXCLUDED.version""",
            m.model_id, m.unit_id, m.name, m.kind_label, m.status, m.status_on, m.version,
        )  # fmt: skip

    async def enter_model_status(self, m: ModelRow) -> None:
        """The model entered its status at this version (its registration, or a status change)."""
        await self.conn.execute(
            """INSERT INTO known_model_statuses (model_id, from_version, status, status_on, version)
               VALUES ($1, $2, $3, $4, $2)
               ON CONFLICT (model_id, from_version) DO NOTHING""",
            m.model_id, m.version, m.status, m.status_on,
        )  # fmt: skip

    async def correct_model_status(self, m: ModelRow) -> None:
        """A change of fields at this version may move the date of the status entry current at it
        (correcting the formation of a model that has not changed status since). Without any entry yet (events
        before it were never seen), the snapshot starts the history."""
        done = await self.conn.fetchval(
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
            await self.conn.execute(
                """INSERT INTO known_model_statuses (model_id, from_version, status, status_on, version)
                   SELECT $1, $2, $3, $4, $2
                    WHERE NOT EXISTS (SELECT 1 FROM known_model_statuses
                                       WHERE model_id = $1 AND from_version <= $2)
                   ON CONFLICT (model_id, from_version) DO NOTHING""",
                m.model_id, m.version, m.status, m.status_on,
            )  # fmt: skip

    async def model_periods(self, *, unit_id: uuid.UUID, year: int) -> list[ModelPeriod]:
        """The effective periods of the models the unit hosts now that reach into the year (a model that moved
        to another host counts for its current host)."""
        rows = await self.conn.fetch(
            """SELECT * FROM (
                   SELECT m.model_id, m.name, s.status, s.status_on AS starts_on,
                          lead(s.status_on) OVER (PARTITION BY s.model_id ORDER BY s.from_version) AS ends_on
                     FROM known_models m JOIN known_model_statuses s USING (model_id)
                    WHERE m.unit_id = $1) p
                WHERE p.status = 'effective' AND p.starts_on <= $3
                  AND (p.ends_on IS NULL OR p.ends_on > $2)""",
            unit_id, date(year, 1, 1), date(year, 12, 31),
        )  # fmt: skip
        return from_rows(ModelPeriod, rows)

    # --- training ------------------------------------------------------------------------------------------

    async def upsert_class(self, c: ClassRow) -> None:
        await self.conn.execute(
            """INSERT INTO known_classes (class_id, title, starts_on, ends_on, status, version)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (class_id) DO UPDATE SET title = EXCLUDED.title, starts_on = EXCLUDED.starts_on,
                   ends_on = EXCLUDED.ends_on, status = EXCLUDED.status, version = EXCLUDED.version
               WHERE known_classes.version < EXCLUDED.version""",
            c.class_id, c.title, c.starts_on, c.ends_on, c.status, c.version,
        )  # fmt: skip

    async def upsert_attendance(self, a: AttendanceRow) -> None:
        await self.conn.execute(
            """INSERT INTO known_attendances (attendance_id, class_id, guard_id, unit_id, guard_full_name,
                                              outcome, version)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (attendance_id) DO UPDATE SET guard_full_name = EXCLUDED.guard_full_name,
                   outcome = EXCLUDED.outcome, version = EXCLUDED.version
               WHERE known_attendances.version < EXCLUDED.version""",
            a.attendance_id, a.class_id, a.guard_id, a.unit_id, a.guard_full_name, a.outcome, a.version,
        )  # fmt: skip

    async def training_records(self, *, unit_id: uuid.UUID, year: int) -> list[TrainingRecord]:
        """The unit's attendances in classes that start in the year (a class not seen yet is left out)."""
        rows = await self.conn.fetch(
            """SELECT a.attendance_id, a.guard_full_name, a.outcome, c.title AS class_title,
                      c.status AS class_status, c.starts_on, c.ends_on
                 FROM known_attendances a JOIN known_classes c USING (class_id)
                WHERE a.unit_id = $1 AND c.starts_on BETWEEN $2 AND $3""",
            unit_id, date(year, 1, 1), date(year, 12, 31),
        )  # fmt: skip
        return from_rows(TrainingRecord, rows)

    # --- violations ----------------------------------------------------------------------------------------

    async def get_violation(self, violation_id: uuid.UUID) -> ViolationRow | None:
        r = await self.conn.fetchrow("SELECT * FROM known_violations WHERE violation_id = $1", violation_id)
        return from_row(ViolationRow, r) if r else None

    async def upsert_violation(self, v: ViolationRow) -> None:
        # `<=`: detections joining a violation keep its version; the fields kept here do not change with them.
        await self.conn.execute(
            """INSERT INTO known_violations (violation_id, unit_id, camera_code, kind, priority, status,
                                             opened_at, version)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
               ON CONFLICT (violation_id) DO UPDATE SET unit_id = EXCLUDED.unit_id,
                   camera_code = EXCLUDED.camera_code, kind = EXCLUDED.kind, priority = EXCLUDED.priority,
                   status = EXCLUDED.status, opened_at = EXCLUDED.opened_at, version = EXCLUDED.version
               WHERE known_violations.version <= EXCLUDED.version""",
            v.violation_id, v.unit_id, v.camera_code, v.kind, v.priority, v.status, v.opened_at, v.version,
        )  # fmt: skip

    async def violations(self, *, unit_id: uuid.UUID, year: int) -> list[ViolationRecord]:
        start, end = year_bounds(year)
        rows = await self.conn.fetch(
            """SELECT violation_id, camera_code, kind, priority, status, opened_at FROM known_violations
                WHERE unit_id = $1 AND opened_at >= $2 AND opened_at < $3""",
            unit_id, start, end,
        )  # fmt: skip
        return from_rows(ViolationRecord, rows)

    # --- criteria ------------------------------------------------------------------------------------------

    async def derived_criteria(self, *, unit_id: uuid.UUID, year: int) -> list[tuple[str, str]]:
        """(code, derivation) of the derived criteria, in the set's order, of the set the unit is judged by in
        the year: its assessment's set when it has one, else the set in force for its kind (the newest when
        several are). Empty for a unit assessment does not know yet."""
        rows = await self.conn.fetch(
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

    async def facts(self, *, unit_id: uuid.UUID, year: int) -> UnitFacts:
        return UnitFacts(
            model_periods=await self.model_periods(unit_id=unit_id, year=year),
            training=await self.training_records(unit_id=unit_id, year=year),
            violations=await self.violations(unit_id=unit_id, year=year),
        )


class ReviewFlagRepository:
    """The review flags of finalised assessments (`review_flags`), and what their verifier saw."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    # --- what the verifier saw -----------------------------------------------------------------------------

    async def needs_review(self, *, unit_id: uuid.UUID, year: int, kind: str, source_id: str) -> bool:
        """Whether the unit's assessment of the year is finalised without this source in view and not flagged
        for it yet. In view: kept among its derived answers' sources (the prefill stored at submission and
        finalisation), so its verifier judged with it."""
        found: bool = await self.conn.fetchval(
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

    async def flag(
        self, *, unit_id: uuid.UUID, year: int, reason: str, source_kind: str, source_id: str
    ) -> uuid.UUID | None:
        """Flag the unit's FINALISED assessment of `year` for review because of `source` (for example a
        confirmed serious violation that arrived after finalisation). The assessment itself does not change.

        Returns the flagged assessment's id; None when the unit has no finalised assessment that year (an open
        one takes the new data in its derived criteria instead). Flagging twice for one source is a no-op."""
        flagged: uuid.UUID | None = await self.conn.fetchval(
            """WITH target AS (
                   SELECT assessment_id FROM assessments
                    WHERE unit_id = $1 AND year = $2 AND status = 'finalised'),
               added AS (
                   INSERT INTO review_flags (assessment_id, reason, source_kind, source_id)
                   SELECT assessment_id, $3, $4, $5 FROM target
                   ON CONFLICT (assessment_id, source_kind, source_id) DO NOTHING)
               SELECT assessment_id FROM target""",
            unit_id, year, reason, source_kind, source_id,
        )  # fmt: skip
        return flagged

    async def of_assessment(self, *, assessment_id: uuid.UUID) -> list[ReviewFlag]:
        rows = await self.conn.fetch(
            "SELECT * FROM review_flags WHERE assessment_id = $1 ORDER BY flagged_at, flag_id", assessment_id
        )
        return from_rows(ReviewFlag, rows)

    async def resolve(self, *, assessment_id: uuid.UUID) -> None:
        """A revision answers every open flag of the assessment."""
        await self.conn.execute(
            "UPDATE review_flags SET resolved_at = now() WHERE assessment_id = $1 AND resolved_at IS NULL",
            assessment_id,
        )
