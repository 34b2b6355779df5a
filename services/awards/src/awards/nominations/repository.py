"""SQL of rounds, nominations, votes, awards and the read models kept from events (asyncpg, the service's
schema). Every read returns the domain's dataclasses."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any

import asyncpg

from awards.nominations.domain import (
    PENDING,
    AssessmentFact,
    Award,
    Facts,
    GuardFact,
    Nomination,
    Nominee,
    Quota,
    Round,
    RuleOutcome,
    ViolationFact,
)
from d07.platform.db import Conn
from d07.platform.db.query import from_row, from_rows

NOMINATION_COLUMNS = """n.nomination_id, n.round_id, n.form_code, n.recipient_kind, n.unit_id, n.guard_id,
    n.person_name, n.achievements, n.proposer, n.status, n.eligibility, n.needs_review, n.review_reason,
    n.rejected_reason, n.version,
    (SELECT count(*) FILTER (WHERE approve) FROM council_votes v WHERE v.nomination_id = n.nomination_id)
        AS votes_for,
    (SELECT count(*) FILTER (WHERE NOT approve) FROM council_votes v WHERE v.nomination_id = n.nomination_id)
        AS votes_against"""


def outcomes_of(value: Any) -> tuple[RuleOutcome, ...]:
    """The eligibility column (jsonb, as text or decoded) as rule outcomes."""
    items = json.loads(value) if isinstance(value, str) else value
    return tuple(RuleOutcome(i["rule"], i["passed"], i["reason"], tuple(i["sources"])) for i in items)


def _outcomes_json(outcomes: list[RuleOutcome] | tuple[RuleOutcome, ...]) -> str:
    return json.dumps([asdict(o) for o in outcomes], ensure_ascii=False)


def _nomination(row: Any) -> Nomination:
    return from_row(Nomination, row, eligibility=outcomes_of(row["eligibility"]))


class RoundRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def insert(self, r: Round, *, opened_by: str) -> None:
        await self.conn.execute(
            """INSERT INTO rounds (round_id, title, period_start, period_end, nominations_open,
                   nominations_close, min_passed_years, require_training, council_members, opened_by,
                   historical)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
            r.id, r.title, r.period_start, r.period_end, r.nominations_open, r.nominations_close,
            r.min_passed_years, r.require_training, list(r.council_members), opened_by, r.historical,
        )  # fmt: skip
        await self.conn.executemany(
            "INSERT INTO round_quotas (round_id, form_code, recipient_kind, quota) VALUES ($1, $2, $3, $4)",
            [(r.id, q.form_code, q.recipient_kind, q.quota) for q in r.quotas],
        )

    async def get(self, round_id: uuid.UUID) -> Round | None:
        row = await self.conn.fetchrow("SELECT * FROM rounds WHERE round_id = $1", round_id)
        if row is None:
            return None
        quotas = await self.conn.fetch(
            "SELECT form_code, recipient_kind, quota FROM round_quotas WHERE round_id = $1 ORDER BY 1, 2",
            round_id,
        )
        return from_row(
            Round, row, id=row["round_id"], council_members=tuple(row["council_members"]),
            quotas=tuple(from_rows(Quota, quotas)),
        )  # fmt: skip


class NominationRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def facts(
        self, round_: Round, form_code: str, nominee: Nominee, *, exclude: uuid.UUID | None = None
    ) -> Facts:
        """What the read models know about the nominee, for `domain.evaluate`."""
        conn = self.conn
        f = Facts()
        rows = await conn.fetch(
            "SELECT assessment_id, year, result FROM rm_assessment_results WHERE unit_id = $1 ORDER BY year",
            nominee.unit_id,
        )
        f.assessments = from_rows(AssessmentFact, rows)
        rows = await conn.fetch(
            "SELECT violation_id, priority, status FROM rm_violations WHERE unit_id = $1 ORDER BY opened_at",
            nominee.unit_id,
        )
        f.violations = from_rows(ViolationFact, rows)
        if nominee.guard_id is not None:
            g = await conn.fetchrow("SELECT * FROM rm_guards WHERE guard_id = $1", nominee.guard_id)
            if g is not None:
                f.guard = from_row(GuardFact, g)
            rows = await conn.fetch(
                "SELECT attendance_id FROM rm_training WHERE guard_id = $1 AND outcome = 'completed'",
                nominee.guard_id,
            )
            f.completed_attendances = [r["attendance_id"] for r in rows]
        rows = await conn.fetch(
            """SELECT nomination_id FROM nominations
                WHERE round_id = $1 AND form_code = $2 AND person_key = $3
                  AND status <> 'rejected' AND nomination_id IS DISTINCT FROM $4""",
            round_.id, form_code, nominee.key(), exclude,
        )  # fmt: skip
        f.same_form = [f"nomination:{r['nomination_id']}" for r in rows]
        return f

    async def guard(self, guard_id: uuid.UUID) -> GuardFact | None:
        """What the registry's events told of a guard (its unit), or None."""
        g = await self.conn.fetchrow("SELECT * FROM rm_guards WHERE guard_id = $1", guard_id)
        return None if g is None else from_row(GuardFact, g)

    async def guard_name(self, guard_id: uuid.UUID) -> str | None:
        name = await self.conn.fetchval("SELECT full_name FROM rm_guards WHERE guard_id = $1", guard_id)
        return None if name is None else str(name)

    async def insert(self, n: Nomination) -> bool:
        """A new draft; False when the nominee holds a nomination of the form in the round (concurrently)."""
        try:
            async with self.conn.transaction():
                await self.conn.execute(
                    """INSERT INTO nominations (nomination_id, round_id, form_code, recipient_kind, unit_id,
                           guard_id, person_name, person_key, achievements, proposer, eligibility,
                           nominated_on)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb,
                               coalesce($12::date, (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date))""",
                    n.nomination_id, n.round_id, n.form_code, n.recipient_kind, n.unit_id, n.guard_id,
                    n.person_name, n.nominee.key(), n.achievements, n.proposer, _outcomes_json(n.eligibility),
                    n.nominated_on,
                )  # fmt: skip
        except asyncpg.UniqueViolationError:
            return False
        return True

    async def get(self, nomination_id: uuid.UUID, *, lock: bool = False) -> Nomination | None:
        if lock:
            await self.conn.execute(
                "SELECT 1 FROM nominations WHERE nomination_id = $1 FOR UPDATE", nomination_id
            )
        row = await self.conn.fetchrow(
            f"SELECT {NOMINATION_COLUMNS} FROM nominations n WHERE nomination_id = $1", nomination_id
        )
        return _nomination(row) if row is not None else None

    async def of_round(
        self, round_id: uuid.UUID, status: str | None, unit_id: uuid.UUID | None
    ) -> list[Nomination]:
        rows = await self.conn.fetch(
            f"""SELECT {NOMINATION_COLUMNS} FROM nominations n WHERE round_id = $1
                  AND ($2::text IS NULL OR status = $2) AND ($3::uuid IS NULL OR unit_id = $3)
                ORDER BY created_at, nomination_id""",
            round_id, status, unit_id,
        )  # fmt: skip
        return [_nomination(r) for r in rows]

    async def pending_of_unit(self, unit_id: uuid.UUID) -> list[uuid.UUID]:
        rows = await self.conn.fetch(
            "SELECT nomination_id FROM nominations WHERE unit_id = $1 AND status = ANY($2::text[])",
            unit_id, list(PENDING),
        )  # fmt: skip
        return [r["nomination_id"] for r in rows]

    async def set_status(
        self,
        nomination_id: uuid.UUID,
        status: str,
        *,
        outcomes: list[RuleOutcome] | None = None,
        rejected_reason: str | None = None,
    ) -> None:
        """A new status; with `outcomes` the eligibility is stored anew and the review flag cleared."""
        await self.conn.execute(
            """UPDATE nominations SET status = $2, eligibility = coalesce($3::jsonb, eligibility),
                   rejected_reason = coalesce($4, rejected_reason),
                   needs_review = CASE WHEN $3::jsonb IS NULL THEN needs_review ELSE false END,
                   review_reason = CASE WHEN $3::jsonb IS NULL THEN review_reason ELSE NULL END,
                   version = version + 1, updated_at = now()
               WHERE nomination_id = $1""",
            nomination_id,
            status,
            _outcomes_json(outcomes) if outcomes is not None else None,
            rejected_reason,
        )

    async def add_vote(self, nomination_id: uuid.UUID, member: str, approve: bool) -> bool:
        """False when the member has voted on it already."""
        row = await self.conn.fetchval(
            """INSERT INTO council_votes (nomination_id, member, approve) VALUES ($1, $2, $3)
               ON CONFLICT DO NOTHING RETURNING 1""",
            nomination_id, member, approve,
        )  # fmt: skip
        return row is not None

    async def flag_pending(self, nomination_id: uuid.UUID, reason: str) -> bool:
        """Flag a pending nomination for review, once per reason. True when flagged now."""
        row = await self.conn.fetchval(
            """UPDATE nominations SET needs_review = true, review_reason = $2, version = version + 1,
                   updated_at = now()
               WHERE nomination_id = $1 AND status = ANY($3::text[]) AND review_reason IS DISTINCT FROM $2
               RETURNING 1""",
            nomination_id, reason, list(PENDING),
        )  # fmt: skip
        return row is not None


class AwardRepository:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def lock_quota(self, round_id: uuid.UUID, form_code: str, recipient_kind: str) -> int:
        """Serialise decisions of one quota (the quota row is locked) and count the awards that hold it."""
        await self.conn.execute(
            """SELECT 1 FROM round_quotas WHERE round_id = $1 AND form_code = $2 AND recipient_kind = $3
               FOR UPDATE""",
            round_id, form_code, recipient_kind,
        )  # fmt: skip
        count = await self.conn.fetchval(
            """SELECT count(*) FROM awards WHERE round_id = $1 AND form_code = $2 AND recipient_kind = $3
                 AND status = 'decided'""",
            round_id, form_code, recipient_kind,
        )  # fmt: skip
        return int(count)

    async def insert(self, a: Award) -> None:
        await self.conn.execute(
            """INSERT INTO awards (id, nomination_id, round_id, form_code, recipient_kind, unit_id,
                   person_name, decision_number, decided_on, signer, issuer)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)""",
            a.id, a.nomination_id, a.round_id, a.form_code, a.recipient_kind, a.unit_id, a.person_name,
            a.decision_number, a.decided_on, a.signer, a.issuer,
        )  # fmt: skip

    async def get(self, award_id: uuid.UUID, *, lock: bool = False) -> Award | None:
        row = await self.conn.fetchrow(
            f"SELECT * FROM awards WHERE id = $1{' FOR UPDATE' if lock else ''}", award_id
        )
        return from_row(Award, row) if row is not None else None

    async def of_round(self, round_id: uuid.UUID) -> list[Award]:
        rows = await self.conn.fetch(
            "SELECT * FROM awards WHERE round_id = $1 ORDER BY decided_on, id", round_id
        )
        return from_rows(Award, rows)

    async def revoke(self, award_id: uuid.UUID, reason: str) -> None:
        await self.conn.execute(
            "UPDATE awards SET status = 'revoked', revoked_reason = $2 WHERE id = $1", award_id, reason
        )


class RecordRepository:
    """The read models kept from the registry's, assessment's and cameras' events. Version and revision
    guards make a replayed older event change nothing."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def upsert_unit(self, unit_id: uuid.UUID, name: str, status: str, version: int) -> None:
        await self.conn.execute(
            """INSERT INTO rm_units (unit_id, name, status, version) VALUES ($1, $2, $3, $4)
               ON CONFLICT (unit_id) DO UPDATE SET name = $2, status = $3, version = $4, updated_at = now()
               WHERE rm_units.version <= $4""",
            unit_id, name, status, version,
        )  # fmt: skip

    async def upsert_assessment(
        self, unit_id: uuid.UUID, year: int, assessment_id: uuid.UUID, result: str, revision: int
    ) -> bool:
        """Keep the latest revision of the unit's result of the year. True when the row changed."""
        row = await self.conn.fetchval(
            """INSERT INTO rm_assessment_results (unit_id, year, assessment_id, result, revision)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (unit_id, year) DO UPDATE SET assessment_id = $3, result = $4, revision = $5,
                   updated_at = now()
               WHERE rm_assessment_results.revision <= $5
               RETURNING 1""",
            unit_id, year, assessment_id, result, revision,
        )  # fmt: skip
        return row is not None

    async def upsert_violation(
        self,
        violation_id: uuid.UUID,
        unit_id: uuid.UUID,
        priority: str,
        status: str,
        opened_at: datetime | None,
        version: int,
    ) -> bool:
        row = await self.conn.fetchval(
            """INSERT INTO rm_violations (violation_id, unit_id, priority, status, opened_at, version)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (violation_id) DO UPDATE SET unit_id = $2, priority = $3, status = $4,
                   opened_at = $5, version = $6, updated_at = now()
               WHERE rm_violations.version <= $6
               RETURNING 1""",
            violation_id, unit_id, priority, status, opened_at, version,
        )  # fmt: skip
        return row is not None

    async def upsert_guard(
        self, guard_id: uuid.UUID, unit_id: uuid.UUID, full_name: str, active: bool, version: int
    ) -> None:
        await self.conn.execute(
            """INSERT INTO rm_guards (guard_id, unit_id, full_name, active, version)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (guard_id) DO UPDATE SET unit_id = $2, full_name = $3, active = $4, version = $5,
                   updated_at = now()
               WHERE rm_guards.version <= $5""",
            guard_id, unit_id, full_name, active, version,
        )  # fmt: skip

    async def upsert_attendance(
        self, attendance_id: uuid.UUID, guard_id: uuid.UUID, class_id: uuid.UUID, outcome: str, version: int
    ) -> None:
        await self.conn.execute(
            """INSERT INTO rm_training (attendance_id, guard_id, class_id, outcome, version)
               VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (attendance_id) DO UPDATE SET outcome = $4, version = $5, updated_at = now()
               WHERE rm_training.version <= $5""",
            attendance_id, guard_id, class_id, outcome, version,
        )  # fmt: skip
