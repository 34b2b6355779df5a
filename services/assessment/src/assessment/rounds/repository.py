"""SQL of rounds, assessments, answers, revisions, corrective actions and review flags.

Opening a round is set-based: one `INSERT ... SELECT` makes every unit's assessment, choosing for each unit
the criteria set in force in the round's year for the unit's kind (the latest such set if several are).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg

from assessment.rounds.domain import (
    ActionStatus,
    Assessment,
    AssessmentFilter,
    AssessmentStatus,
    CorrectiveAction,
    Judgement,
    NewCorrectiveAction,
    OpenRound,
    ProgressRow,
    Result,
    ReviewFlag,
    Revision,
    Round,
    SelfAnswer,
    Verdict,
)
from d07.platform.db import Conn

# --- rounds ---------------------------------------------------------------------------------------------


def _round(r: asyncpg.Record) -> Round:
    return Round(
        id=r["round_id"],
        year=r["year"],
        district_code=r["district_code"] or "",
        title=r["title"],
        self_assessment_due=r["self_assessment_due"],
        verification_due=r["verification_due"],
        status=r["status"],
        unit_count=r["unit_count"],
        opened_by=r["opened_by"],
        opened_at=r["opened_at"],
    )


async def round_exists(conn: Conn, *, year: int, district_code: str) -> bool:
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM rounds WHERE year = $1 AND coalesce(district_code, '') = $2)",
        year,
        district_code,
    )
    return found


async def open_round(
    conn: Conn, *, round_id: uuid.UUID, cmd: OpenRound, opened_by: str
) -> tuple[Round, list[Assessment]]:
    """The round and the assessments it made: one per active in-scope unit (of the district, if given) that
    has a criteria set for its kind in force that year and no assessment of that year yet."""
    await conn.execute(
        """INSERT INTO rounds (round_id, year, district_code, title, self_assessment_due, verification_due,
                               opened_by)
           VALUES ($1, $2, nullif($3, ''), $4, $5, $6, $7)""",
        round_id,
        cmd.year,
        cmd.district_code,
        cmd.title,
        cmd.self_assessment_due,
        cmd.verification_due,
        opened_by,
    )
    rows = await conn.fetch(
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
           SELECT made.*, u.code AS unit_code, u.name AS unit_name FROM made JOIN units u USING (unit_id)""",
        round_id,
        cmd.year,
        cmd.district_code,
    )
    row = await conn.fetchrow(
        "UPDATE rounds SET unit_count = $2 WHERE round_id = $1 RETURNING *", round_id, len(rows)
    )
    assert row is not None
    return _round(row), [_assessment(r) for r in rows]


async def get_round(conn: Conn, *, round_id: uuid.UUID) -> Round | None:
    row = await conn.fetchrow("SELECT * FROM rounds WHERE round_id = $1", round_id)
    return _round(row) if row else None


async def list_rounds(conn: Conn, *, year: int = 0) -> list[Round]:
    rows = await conn.fetch(
        "SELECT * FROM rounds WHERE ($1 = 0 OR year = $1) ORDER BY year DESC, district_code NULLS FIRST", year
    )
    return [_round(r) for r in rows]


async def progress(conn: Conn, *, round_id: uuid.UUID) -> list[ProgressRow]:
    """Counts by district and unit kind, then the round's total (district and kind '')."""
    rows = await conn.fetch(
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
    return [
        ProgressRow(
            r["district_code"],
            r["unit_kind"],
            r["total"],
            r["submitted"],
            r["verified"],
            r["finalised"],
            r["passed"],
        )
        for r in rows
    ]


# --- assessments ----------------------------------------------------------------------------------------

_SELECT = """SELECT a.*, u.code AS unit_code, u.name AS unit_name
               FROM assessments a JOIN units u USING (unit_id)"""


def _assessment(r: asyncpg.Record) -> Assessment:
    return Assessment(
        id=r["assessment_id"],
        round_id=r["round_id"],
        unit_id=r["unit_id"],
        unit_code=r["unit_code"],
        unit_name=r["unit_name"],
        year=r["year"],
        unit_kind=r["unit_kind"],
        district_code=r["district_code"],
        set_code=r["set_code"],
        set_version=r["set_version"],
        status=AssessmentStatus(r["status"]),
        result=Result(r["result"]) if r["result"] else None,
        score=r["score"],
        unmet_criteria=tuple(r["unmet_criteria"]),
        revision=r["revision"],
        submitted_by=r["submitted_by"],
        submitted_at=r["submitted_at"],
        verified_at=r["verified_at"],
        finalised_by=r["finalised_by"],
        finalised_at=r["finalised_at"],
        version=r["version"],
    )


async def get(conn: Conn, *, assessment_id: uuid.UUID, for_update: bool = False) -> Assessment | None:
    lock = " FOR UPDATE OF a" if for_update else ""
    row = await conn.fetchrow(f"{_SELECT} WHERE a.assessment_id = $1{lock}", assessment_id)
    return _assessment(row) if row else None


def _where(f: AssessmentFilter, args: list[Any]) -> list[str]:
    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    clauses = []
    if f.round_id is not None:
        clauses.append(f"a.round_id = {arg(f.round_id)}")
    if f.district_code:
        clauses.append(f"a.district_code = {arg(f.district_code)}")
    if f.unit_kind:
        clauses.append(f"a.unit_kind = {arg(f.unit_kind)}")
    if f.status is not None:
        clauses.append(f"a.status = {arg(f.status.value)}")
    if f.unit_id is not None:
        clauses.append(f"a.unit_id = {arg(f.unit_id)}")
    if f.year:
        clauses.append(f"a.year = {arg(f.year)}")
    return clauses


async def list_assessments(
    conn: Conn, *, where: AssessmentFilter, after: tuple[str, uuid.UUID] | None, limit: int
) -> list[Assessment]:
    """One page ordered by unit code then assessment id."""
    args: list[Any] = []
    clauses = _where(where, args)
    if after is not None:
        args.extend(after)
        clauses.append(f"(u.code, a.assessment_id) > (${len(args) - 1}, ${len(args)})")
    args.append(limit)
    where_sql = "WHERE " + " AND ".join(clauses) if clauses else ""
    rows = await conn.fetch(
        f"{_SELECT} {where_sql} ORDER BY u.code, a.assessment_id LIMIT ${len(args)}", *args
    )
    return [_assessment(r) for r in rows]


async def answers(conn: Conn, *, assessment_id: uuid.UUID) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch("SELECT * FROM assessment_answers WHERE assessment_id = $1", assessment_id)
    return {r["criterion_code"]: r for r in rows}


async def save_self_answers(conn: Conn, *, assessment_id: uuid.UUID, answers: Sequence[SelfAnswer]) -> None:
    await conn.executemany(
        """INSERT INTO assessment_answers
                  (assessment_id, criterion_code, self_met, self_notes, evidence_links)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (assessment_id, criterion_code) DO UPDATE SET self_met = EXCLUDED.self_met,
               self_notes = EXCLUDED.self_notes, evidence_links = EXCLUDED.evidence_links""",
        [(assessment_id, a.criterion_code, a.met, a.notes, list(a.evidence_links)) for a in answers],
    )


async def save_verdicts(
    conn: Conn, *, assessment_id: uuid.UUID, verdicts: Sequence[Verdict], by: str
) -> None:
    await conn.executemany(
        """INSERT INTO assessment_answers (assessment_id, criterion_code, verified_met, verified_notes,
                                           verified_by, verified_at)
           VALUES ($1, $2, $3, $4, $5, now())
           ON CONFLICT (assessment_id, criterion_code) DO UPDATE SET verified_met = EXCLUDED.verified_met,
               verified_notes = EXCLUDED.verified_notes, verified_by = EXCLUDED.verified_by,
               verified_at = EXCLUDED.verified_at""",
        [(assessment_id, v.criterion_code, v.met, v.notes, by) for v in verdicts],
    )


async def save_derived(
    conn: Conn, *, assessment_id: uuid.UUID, results: Sequence[tuple[str, bool, str, list[dict[str, str]]]]
) -> None:
    """Keep the derived prefill `(criterion, met, reason, sources)` as it stood at submission or at
    finalisation."""
    await conn.executemany(
        """INSERT INTO assessment_answers (assessment_id, criterion_code, derived_met, derived_reason,
                                           derived_sources, derived_at)
           VALUES ($1, $2, $3, $4, $5, now())
           ON CONFLICT (assessment_id, criterion_code) DO UPDATE SET derived_met = EXCLUDED.derived_met,
               derived_reason = EXCLUDED.derived_reason, derived_sources = EXCLUDED.derived_sources,
               derived_at = EXCLUDED.derived_at""",
        [(assessment_id, code, met, reason, sources) for code, met, reason, sources in results],
    )


async def mark_submitted(conn: Conn, *, assessment_id: uuid.UUID, by: str) -> None:
    await conn.execute(
        """UPDATE assessments SET status = 'submitted', submitted_by = $2, submitted_at = now(),
                  version = version + 1, updated_at = now() WHERE assessment_id = $1""",
        assessment_id,
        by,
    )


async def mark_verified(conn: Conn, *, assessment_id: uuid.UUID, complete: bool) -> None:
    """`verified_at` is set once every criterion has a verdict (what the round's progress counts)."""
    await conn.execute(
        """UPDATE assessments SET verified_at = CASE WHEN $2 THEN coalesce(verified_at, now()) END,
                  version = version + 1, updated_at = now() WHERE assessment_id = $1""",
        assessment_id,
        complete,
    )


async def record_result(
    conn: Conn,
    *,
    assessment_id: uuid.UUID,
    judgement: Judgement,
    verdicts: dict[str, bool],
    reason: str,
    by: str,
) -> int:
    """Write a result as the assessment's next revision (1 at finalisation) and keep it in the history."""
    revision: int = await conn.fetchval(
        """UPDATE assessments SET status = 'finalised', result = $2, score = $3, unmet_criteria = $4,
                  revision = revision + 1, finalised_by = $5, finalised_at = now(), version = version + 1,
                  updated_at = now()
            WHERE assessment_id = $1 RETURNING revision""",
        assessment_id,
        judgement.result.value,
        judgement.score,
        list(judgement.unmet),
        by,
    )
    await conn.execute(
        """INSERT INTO assessment_revisions (assessment_id, revision, result, score, unmet_criteria, verdicts,
                                             reason, actor)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        assessment_id,
        revision,
        judgement.result.value,
        judgement.score,
        list(judgement.unmet),
        verdicts,
        reason,
        by,
    )
    return revision


async def history(conn: Conn, *, assessment_id: uuid.UUID) -> list[Revision]:
    rows = await conn.fetch(
        "SELECT * FROM assessment_revisions WHERE assessment_id = $1 ORDER BY revision", assessment_id
    )
    return [
        Revision(
            r["revision"],
            Result(r["result"]),
            Decimal(r["score"]),
            tuple(r["unmet_criteria"]),
            r["reason"],
            r["actor"],
            r["recorded_at"],
        )
        for r in rows
    ]


# --- review flags ---------------------------------------------------------------------------------------


async def flag_for_review(
    conn: Conn, *, unit_id: uuid.UUID, year: int, reason: str, source_kind: str, source_id: str
) -> uuid.UUID | None:
    """Flag the unit's FINALISED assessment of `year` for review because of `source` (for example a confirmed
    serious violation that arrived after finalisation). The assessment itself does not change.

    Returns the flagged assessment's id; None when the unit has no finalised assessment that year (an open
    one takes the new data in its derived criteria instead). Flagging twice for one source is a no-op."""
    flagged: uuid.UUID | None = await conn.fetchval(
        """WITH target AS (
               SELECT assessment_id FROM assessments
                WHERE unit_id = $1 AND year = $2 AND status = 'finalised'),
           added AS (
               INSERT INTO review_flags (assessment_id, reason, source_kind, source_id)
               SELECT assessment_id, $3, $4, $5 FROM target
               ON CONFLICT (assessment_id, source_kind, source_id) DO NOTHING)
           SELECT assessment_id FROM target""",
        unit_id,
        year,
        reason,
        source_kind,
        source_id,
    )
    return flagged


async def review_flags(conn: Conn, *, assessment_id: uuid.UUID) -> list[ReviewFlag]:
    rows = await conn.fetch(
        "SELECT * FROM review_flags WHERE assessment_id = $1 ORDER BY flagged_at, flag_id", assessment_id
    )
    return [
        ReviewFlag(r["reason"], r["source_kind"], r["source_id"], r["flagged_at"], r["resolved_at"])
        for r in rows
    ]


async def resolve_flags(conn: Conn, *, assessment_id: uuid.UUID) -> None:
    """A revision answers every open flag of the assessment."""
    await conn.execute(
        "UPDATE review_flags SET resolved_at = now() WHERE assessment_id = $1 AND resolved_at IS NULL",
        assessment_id,
    )


# --- corrective actions ---------------------------------------------------------------------------------

_ACTIONS = """SELECT c.*, a.unit_id FROM corrective_actions c JOIN assessments a USING (assessment_id)"""


def _action(r: asyncpg.Record) -> CorrectiveAction:
    return CorrectiveAction(
        id=r["action_id"],
        assessment_id=r["assessment_id"],
        unit_id=r["unit_id"],
        criterion_code=r["criterion_code"],
        action=r["action"],
        owner=r["owner"],
        due_on=r["due_on"],
        status=ActionStatus(r["status"]),
        created_by=r["created_by"],
        created_at=r["created_at"],
        closed_by=r["closed_by"],
        closed_at=r["closed_at"],
        closing_note=r["closing_note"],
    )


async def add_action(
    conn: Conn, *, action_id: uuid.UUID, assessment_id: uuid.UUID, cmd: NewCorrectiveAction, by: str
) -> CorrectiveAction:
    await conn.execute(
        """INSERT INTO corrective_actions (action_id, assessment_id, criterion_code, action, owner, due_on,
                                           created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        action_id,
        assessment_id,
        cmd.criterion_code,
        cmd.action,
        cmd.owner,
        cmd.due_on,
        by,
    )
    found = await get_action(conn, action_id=action_id)
    assert found is not None
    return found


async def get_action(
    conn: Conn, *, action_id: uuid.UUID, for_update: bool = False
) -> CorrectiveAction | None:
    lock = " FOR UPDATE OF c" if for_update else ""
    row = await conn.fetchrow(f"{_ACTIONS} WHERE c.action_id = $1{lock}", action_id)
    return _action(row) if row else None


async def close_action(conn: Conn, *, action_id: uuid.UUID, by: str, note: str) -> CorrectiveAction:
    await conn.execute(
        """UPDATE corrective_actions
              SET status = 'closed', closed_by = $2, closed_at = now(), closing_note = $3
            WHERE action_id = $1""",
        action_id,
        by,
        note,
    )
    found = await get_action(conn, action_id=action_id)
    assert found is not None
    return found


async def list_actions(
    conn: Conn,
    *,
    assessment_id: uuid.UUID | None,
    unit_id: uuid.UUID | None,
    status: ActionStatus | None,
    overdue_on: date | None = None,
) -> list[CorrectiveAction]:
    rows = await conn.fetch(
        f"""{_ACTIONS}
             WHERE ($1::uuid IS NULL OR c.assessment_id = $1) AND ($2::uuid IS NULL OR a.unit_id = $2)
               AND ($3::text IS NULL OR c.status = $3)
               AND ($4::date IS NULL OR (c.status = 'open' AND c.due_on < $4))
             ORDER BY c.due_on, c.created_at, c.action_id LIMIT 1000""",
        assessment_id,
        unit_id,
        status.value if status else None,
        overdue_on,
    )
    return [_action(r) for r in rows]
