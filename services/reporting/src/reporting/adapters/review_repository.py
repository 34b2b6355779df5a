"""SQL of the review report. Every figure is one query of the records behind it (id, label); the report counts
those rows and the drill-down pages through them, so a figure and its drill-down cannot disagree.

The parameters of every statement are the same five, named once in the CTE `p`: the first and last day, the
district ('' for the province) and the first and last calendar year (assessment rounds).
"""

from __future__ import annotations

from typing import Any

from d07.platform.db import Conn
from reporting.domain.review import AWARD_FORMS, FIGURES, RECIPIENT_KINDS, Period

PARAMS = """p AS (SELECT $1::date AS f, $2::date AS t, NULLIF($3::text, '') AS d,
                    $4::int AS y1, $5::int AS y2)"""
VN = "'Asia/Ho_Chi_Minh'"

_ASSESSMENTS = """SELECT a.assessment_id::text AS id,
       concat_ws(' ', coalesce(u.name, a.unit_id::text), a.year, a.result) AS label
  FROM assessments a CROSS JOIN p LEFT JOIN units u ON u.unit_id = a.unit_id
 WHERE a.year BETWEEN p.y1 AND p.y2 AND (p.d IS NULL OR a.district_code = p.d)"""

# The registry's rule (registry.models.domain.counts_in_period): formed in the period, or consolidated in it.
_MODELS = """SELECT m.model_id::text AS id, m.name AS label
  FROM models m CROSS JOIN p
 WHERE (p.d IS NULL OR m.district_code = p.d)
   AND (m.formed_on BETWEEN p.f AND p.t
        OR EXISTS (SELECT 1 FROM model_consolidations c
                    WHERE c.model_id = m.model_id AND c.changed_on BETWEEN p.f AND p.t))"""

# The registry's rule (GetTrainingFigures): classes that start in the period and are not cancelled.
_CLASSES_WHERE = """c.status <> 'cancelled' AND c.starts_on BETWEEN p.f AND p.t
   AND (p.d IS NULL OR c.district_code = p.d)"""

_VIOLATIONS = """SELECT v.violation_id::text AS id,
       concat_ws(' ', v.kind, coalesce(c.code, v.camera_id::text)) AS label
  FROM violations v CROSS JOIN p LEFT JOIN cameras c ON c.camera_id = v.camera_id
 WHERE (p.d IS NULL OR c.district_code = p.d)"""
_OPENED_IN = f"(v.opened_at AT TIME ZONE {VN})::date BETWEEN p.f AND p.t"
_CLOSED_IN = f"(v.closed_at AT TIME ZONE {VN})::date BETWEEN p.f AND p.t"

_CAMERAS = """SELECT c.camera_id::text AS id, concat_ws(' ', c.code, c.name) AS label
  FROM cameras c CROSS JOIN p
 WHERE (p.d IS NULL OR c.district_code = p.d)"""


def _awards(form: str, kind: str) -> str:
    # form and kind come from the constant tuples of the domain, never from a request.
    return f"""SELECT a.award_id::text AS id,
       concat_ws(' ', a.decision_number, coalesce(u.name, a.unit_id::text)) AS label
  FROM awards a CROSS JOIN p LEFT JOIN units u ON u.unit_id = a.unit_id
 WHERE a.status = 'decided' AND a.decided_on BETWEEN p.f AND p.t AND (p.d IS NULL OR u.district_code = p.d)
   AND a.form_code = '{form}' AND a.recipient_kind = '{kind}'"""


RECORDS: dict[str, str] = {
    "assessments.total": _ASSESSMENTS,
    "assessments.passed": _ASSESSMENTS + " AND a.result = 'passed'",
    "models.total": _MODELS,
    "models.in_units": _MODELS + " AND m.host_type = 'unit'",
    "models.in_communities": _MODELS + " AND m.host_type = 'community'",
    "training.classes": f"""SELECT c.class_id::text AS id, c.title AS label
  FROM training_classes c CROSS JOIN p WHERE {_CLASSES_WHERE}""",
    "training.attendances": f"""SELECT a.attendance_id::text AS id,
       concat_ws(' — ', a.guard_full_name, c.title) AS label
  FROM attendances a JOIN training_classes c ON c.class_id = a.class_id CROSS JOIN p
 WHERE {_CLASSES_WHERE}""",
    "cameras.planned": _CAMERAS + " AND coalesce(c.planned_on, c.installed_on) BETWEEN p.f AND p.t",
    "cameras.installed": _CAMERAS + " AND c.installed_on BETWEEN p.f AND p.t",
    "violations.opened": _VIOLATIONS + f" AND {_OPENED_IN}",
    "violations.resolved": _VIOLATIONS + f" AND v.status = 'resolved' AND {_CLOSED_IN}",
    "violations.dismissed": _VIOLATIONS + f" AND v.status = 'dismissed' AND {_CLOSED_IN}",
    "violations.overdue": _VIOLATIONS + f" AND v.overdue AND {_OPENED_IN}",
    **{f"awards.{f}.{k}": _awards(f, k) for f in AWARD_FORMS for k in RECIPIENT_KINDS},
}
assert set(RECORDS) == set(FIGURES), "every figure needs its records query"

COUNTS = f"WITH {PARAMS} SELECT " + ", ".join(
    f'(SELECT count(*) FROM ({RECORDS[name]}) s) AS "{name}"' for name in FIGURES
)

# The target of the plan that covers the period (the newest one when several do); in a district scope the
# district's own target, of the newest covering plan that sets one.
TARGET = f"""WITH {PARAMS}
SELECT CASE WHEN p.d IS NULL THEN ip.target ELSE (ip.district_targets ->> p.d)::int END
  FROM installation_plans ip CROSS JOIN p
 WHERE (ip.starts_on IS NULL OR ip.starts_on <= p.t) AND (ip.deadline IS NULL OR ip.deadline >= p.f)
   AND (p.d IS NULL OR ip.district_targets ? p.d)
 ORDER BY ip.created_at DESC NULLS LAST, ip.plan_id DESC LIMIT 1"""


def _args(period: Period, district: str) -> tuple[Any, ...]:
    y1, y2 = period.years
    return period.start, period.end, district, y1, y2


async def counts(conn: Conn, *, period: Period, district: str) -> dict[str, int]:
    """Every figure of one period, in one statement."""
    row = await conn.fetchrow(COUNTS, *_args(period, district))
    assert row is not None
    return {name: int(row[name]) for name in FIGURES}


async def target(conn: Conn, *, period: Period, district: str) -> int | None:
    value = await conn.fetchval(TARGET, *_args(period, district))
    return None if value is None else int(value)


async def records(
    conn: Conn, *, figure: str, period: Period, district: str, after: str | None, limit: int
) -> list[tuple[str, str]]:
    """One page of the records behind a figure, by id, after the id `after` (None: from the first)."""
    rows = await conn.fetch(
        f"""WITH {PARAMS} SELECT id, label FROM ({RECORDS[figure]}) s
             WHERE $6::text IS NULL OR id COLLATE "C" > $6 ORDER BY id COLLATE "C" LIMIT $7""",
        *_args(period, district), after, limit,
    )  # fmt: skip
    return [(r["id"], r["label"] or "") for r in rows]
