"""SQL of rounds, assessments, their answers and their revisions.

Opening a round is set-based: one `INSERT ... SELECT` makes every unit's assessment, choosing for each unit
the criteria set in force in the round's year for the unit's kind (the latest such set if several are).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from assessment.derived.domain import DerivedResult
from assessment.rounds.domain import (
    Assessment,
    AssessmentFilter,
    AssessmentStatus,
    Judgement,
    OpenRound,
    ProgressRow,
    Result,
    Revision,
    Round,
    SelfAnswer,
    SourceView,
    StoredAnswer,
    Verdict,
)
from d07.platform.db import Conn
from d07.platform.db.query import Where, from_row, from_rows


def _round(r: Mapping[str, Any]) -> Round:
    return from_row(Round, r, id=r["round_id"], district_code=r["district_code"] or "")


def _assessment(r: Mapping[str, Any]) -> Assessment:
    return from_row(
        Assessment, r,
        id=r["assessment_id"],
        status=AssessmentStatus(r["status"]),
        result=Result(r["result"]) if r["result"] else None,
        unmet_criteria=tuple(r["unmet_criteria"]),
    )  # fmt: skip


def _answer(r: Mapping[str, Any]) -> StoredAnswer:
    return from_row(
        StoredAnswer, r,
        evidence_links=tuple(r["evidence_links"]),
        derived_sources=tuple(SourceView(s["kind"], s["id"], s["label"]) for s in r["derived_sources"]),
    )  # fmt: skip


class RoundRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def exists(self, *, year: int, district_code: str) -> bool:
        found: bool = await self.conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM rounds WHERE year = $1 AND coalesce(district_code, '') = $2)",
            year,
            district_code,
        )
        return found

    async def open(
        self, *, round_id: uuid.UUID, cmd: OpenRound, opened_by: str
    ) -> tuple[Round, list[Assessment]]:
        """The round and the assessments it made: one per active in-scope unit (of the district, if given)
        that has a criteria set for its kind in force that year and no assessment of that year yet."""
        await self.conn.execute(
            """INSERT INTO rounds (round_id, year, district_code, title, self_assessment_due,
                                   verification_due, opened_by)
               VALUES ($1, $2, nullif($3, ''), $4, $5, $6, $7)""",
            round_id, cmd.year, cmd.district_code, cmd.title, cmd.self_assessment_due, cmd.verification_due,
            opened_by,
        )  # fmt: skip
        rows = await self.conn.fetch(
            """WITH made AS (
                   INSERT INTO assessments (assessment_id, round_id, unit_id, year, unit_kind, district_code,
                                            set_code, set_version)
                   SELECT gen_random_uuid(), $1, u.unit_id, $2, u.kind, u.district_code, s.code, s.version
                     FROM units u
                     JOIN LATERAL (
                          SELECT code, version FROM criteria_sets s
                           WHERE u.kind = ANY (s.unit_kinds) AND s.valid_from_year <= $2
                             AND (s.valid_to_year IS NULL OR $2 <= s.valid_to_year)
                           ORDER BY s.valid_from_year DESC, s.version DESC LIMIT 1) s ON true
                    WHERE u.status = 'active' AND u.in_scope AND ($3 = '' OR u.district_code = $3)
                   ON CONFLICT (unit_id, year) DO NOTHING
                   RETURNING *)
               SELECT made.*, u.code AS unit_code, u.name AS unit_name
                 FROM made JOIN units u USING (unit_id)""",
            round_id, cmd.year, cmd.district_code,
        )  # fmt: skip
        row = await self.conn.fetchrow(
            "UPDATE rounds SET unit_count = $2 WHERE round_id = $1 RETURNING *", round_id, len(rows)
        )
        assert row is not None
        return _round(row), [_assessment(r) for r in rows]

    async def get(self, *, round_id: uuid.UUID) -> Round | None:
        row = await self.conn.fetchrow("SELECT * FROM rounds WHERE round_id = $1", round_id)
        return _round(row) if row else None

    async def by_year(self, *, year: int = 0) -> list[Round]:
        rows = await self.conn.fetch(
            "SELECT * FROM rounds WHERE ($1 = 0 OR year = $1) ORDER BY year DESC, district_code NULLS FIRST",
            year,
        )
        return [_round(r) for r in rows]

    async def progress(self, *, round_id: uuid.UUID) -> list[ProgressRow]:
        """Counts by district and unit kind, then the round's total (district and kind '')."""
        rows = await self.conn.fetch(
            """SELECT coalesce(district_code, '') AS district_code, coalesce(unit_kind, '') AS unit_kind,
                      count(*) AS total,
                      count(*) FILTER (WHERE status <> 'draft') AS submitted,
                      count(*) FILTER (WHERE verified_at IS NOT NULL) AS verified,
                      count(*) FILTER (WHERE status = 'finalised') AS finalised,
                      count(*) FILTER (WHERE result = 'passed') AS passed
                 FROM assessments WHERE round_id = $1
                GROUP BY GROUPING SETS ((district_code, unit_kind), ())
                ORDER BY grouping(district_code, unit_kind), district_code, unit_kind""",
            round_id,
        )
        return from_rows(ProgressRow, rows)


_SELECT = """SELECT a.*, u.code AS unit_code, u.name AS unit_name
               FROM assessments a JOIN units u USING (unit_id)"""


class AssessmentRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def get(self, *, assessment_id: uuid.UUID, for_update: bool = False) -> Assessment | None:
        lock = " FOR UPDATE OF a" if for_update else ""
        row = await self.conn.fetchrow(f"{_SELECT} WHERE a.assessment_id = $1{lock}", assessment_id)
        return _assessment(row) if row else None

    async def page(
        self, *, where: AssessmentFilter, after: tuple[str, uuid.UUID] | None, limit: int
    ) -> list[Assessment]:
        """One page ordered by unit code then assessment id."""
        w = Where()
        if where.round_id is not None:
            w.add("a.round_id = {}", where.round_id)
        w.add_if(where.district_code, "a.district_code = {}")
        w.add_if(where.unit_kind, "a.unit_kind = {}")
        if where.status is not None:
            w.add("a.status = {}", where.status.value)
        if where.unit_id is not None:
            w.add("a.unit_id = {}", where.unit_id)
        if where.year:  # `add_if` takes 0 for a value (the platform's Where skips only None and empties)
            w.add("a.year = {}", where.year)
        if after is not None:
            w.add("(u.code, a.assessment_id) > ({}, {})", *after)
        rows = await self.conn.fetch(
            f"{_SELECT} WHERE {w.sql()} ORDER BY u.code, a.assessment_id LIMIT {w.param(limit)}", *w.args
        )
        return [_assessment(r) for r in rows]

    async def answers(self, *, assessment_id: uuid.UUID) -> dict[str, StoredAnswer]:
        rows = await self.conn.fetch(
            "SELECT * FROM assessment_answers WHERE assessment_id = $1", assessment_id
        )
        return {r["criterion_code"]: _answer(r) for r in rows}

    async def save_self_answers(self, *, assessment_id: uuid.UUID, answers: Sequence[SelfAnswer]) -> None:
        await self.conn.executemany(
            """INSERT INTO assessment_answers
                      (assessment_id, criterion_code, self_met, self_notes, evidence_links)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (assessment_id, criterion_code) DO UPDATE SET self_met = EXCLUDED.self_met,
                   self_notes = EXCLUDED.self_notes, evidence_links = EXCLUDED.evidence_links""",
            [(assessment_id, a.criterion_code, a.met, a.notes, list(a.evidence_links)) for a in answers],
        )

    async def save_verdicts(self, *, assessment_id: uuid.UUID, verdicts: Sequence[Verdict], by: str) -> None:
        await self.conn.executemany(
            """INSERT INTO assessment_answers (assessment_id, criterion_code, verified_met, verified_notes,
                                               verified_by, verified_at)
               VALUES ($1, $2, $3, $4, $5, now())
               ON CONFLICT (assessment_id, criterion_code) DO UPDATE SET verified_met = EXCLUDED.verified_met,
                   verified_notes = EXCLUDED.verified_notes, verified_by = EXCLUDED.verified_by,
                   verified_at = EXCLUDED.verified_at""",
            [(assessment_id, v.criterion_code, v.met, v.notes, by) for v in verdicts],
        )

    async def save_derived(self, *, assessment_id: uuid.UUID, results: Sequence[DerivedResult]) -> None:
        """Keep the derived prefill as it stood at submission or at finalisation, with its sources."""
        await self.conn.executemany(
            """INSERT INTO assessment_answers (assessment_id, criterion_code, derived_met, derived_reason,
                                               derived_sources, derived_at)
               VALUES ($1, $2, $3, $4, $5, now())
               ON CONFLICT (assessment_id, criterion_code) DO UPDATE SET derived_met = EXCLUDED.derived_met,
                   derived_reason = EXCLUDED.derived_reason, derived_sources = EXCLUDED.derived_sources,
                   derived_at = EXCLUDED.derived_at""",
            [
                (
                    assessment_id, r.criterion_code, r.met, r.reason,
                    [{"kind": s.kind, "id": s.id, "label": s.label} for s in r.sources],
                )
                for r in results
            ],
        )  # fmt: skip

    async def mark_submitted(self, *, assessment_id: uuid.UUID, by: str) -> None:
        await self.conn.execute(
            """UPDATE assessments SET status = 'submitted', submitted_by = $2, submitted_at = now(),
                      version = version + 1, updated_at = now() WHERE assessment_id = $1""",
            assessment_id,
            by,
        )

    async def mark_verified(self, *, assessment_id: uuid.UUID, complete: bool) -> None:
        """`verified_at` is set once every criterion has a verdict (what the round's progress counts)."""
        await self.conn.execute(
            """UPDATE assessments SET verified_at = CASE WHEN $2 THEN coalesce(verified_at, now()) END,
                      version = version + 1, updated_at = now() WHERE assessment_id = $1""",
            assessment_id,
            complete,
        )

    async def record_result(
        self,
        *,
        assessment_id: uuid.UUID,
        judgement: Judgement,
        verdicts: dict[str, bool],
        reason: str,
        by: str,
    ) -> int:
        """Write a result as the assessment's next revision (1 at finalisation) and keep it in the history."""
        revision: int = await self.conn.fetchval(
            """UPDATE assessments SET status = 'finalised', result = $2, score = $3, unmet_criteria = $4,
                      revision = revision + 1, finalised_by = $5, finalised_at = now(), version = version + 1,
                      updated_at = now()
                WHERE assessment_id = $1 RETURNING revision""",
            assessment_id, judgement.result.value, judgement.score, list(judgement.unmet), by,
        )  # fmt: skip
        await self.conn.execute(
            """INSERT INTO assessment_revisions (assessment_id, revision, result, score, unmet_criteria,
                                                 verdicts, reason, actor)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            assessment_id, revision, judgement.result.value, judgement.score, list(judgement.unmet), verdicts,
            reason, by,
        )  # fmt: skip
        return revision

    async def history(self, *, assessment_id: uuid.UUID) -> list[Revision]:
        rows = await self.conn.fetch(
            "SELECT * FROM assessment_revisions WHERE assessment_id = $1 ORDER BY revision", assessment_id
        )
        return [
            from_row(
                Revision, r, result=Result(r["result"]), unmet_criteria=tuple(r["unmet_criteria"]),
            )
            for r in rows
        ]  # fmt: skip
