"""SQL of the review report. Every figure is one query of the records behind it (id, label); the report counts
those rows (a quantity sums its records' amounts instead: seconds online, detections) and the drill-down pages
through them, so a figure and its drill-down cannot disagree.

The parameters of every statement are the same five, named once in the CTE `p`: the first and last day, the
district ('' for the province) and the first and last calendar year (assessment rounds). From them `p` also
derives the instants of camera online time (Vietnam time, Asia/Ho_Chi_Minh, no daylight saving):
- `ts`, the start of the first day;
- `moment`, the end of the period: the end of its last day, or now() when that comes first (a period
  ending today or later); the moment `cameras.online` is read at;
- `te`, the end of the online window: `moment`, never before `ts` (a period wholly in the future has none);
- `asof`, the day the installed cameras are counted at: the last day, or today when that is earlier.
An online interval counts inside [ts, te) only; an interval still open runs to `te`. now() is the start of
the transaction: the report reads both periods in one.

Beside them, how far the projections have applied each stream (stream_status, and the projections'
consumer's inbox: the last offset applied in each partition).
"""

from __future__ import annotations

from typing import Any

from d07.platform.db import Conn
from d07.platform.db.query import from_row
from reporting.projections.domain import CONSUMER_NAME
from reporting.review.domain import (
    AWARD_FORMS,
    BREAKDOWNS,
    FIGURES,
    QUANTITIES,
    RECIPIENT_KINDS,
    UNKNOWN_DISTRICT,
    Counts,
    PartitionOffset,
    Period,
    ProjectionStatus,
    Record,
    StreamStatus,
)

VN = "'Asia/Ho_Chi_Minh'"
PARAMS = f"""p AS (SELECT f, t, d, y1, y2, ts, moment, greatest(ts, moment) AS te,
                    least(t, (now() AT TIME ZONE {VN})::date) AS asof
               FROM (SELECT $1::date AS f, $2::date AS t, NULLIF($3::text, '') AS d, $4::int AS y1,
                            $5::int AS y2, $1::date::timestamp AT TIME ZONE {VN} AS ts,
                            least(now(), ($2::date + 1)::timestamp AT TIME ZONE {VN}) AS moment) p0)"""

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

# The columns `kind` and `district` are the keys of the breakdowns (BREAKDOWN_KEYS).
_VIOLATIONS = f"""SELECT v.violation_id::text AS id,
       concat_ws(' ', v.kind, coalesce(c.code, v.camera_id::text)) AS label,
       v.kind AS kind, coalesce(nullif(c.district_code, ''), '{UNKNOWN_DISTRICT}') AS district
  FROM violations v CROSS JOIN p LEFT JOIN cameras c ON c.camera_id = v.camera_id
 WHERE (p.d IS NULL OR c.district_code = p.d)"""
_OPENED_IN = f"(v.opened_at AT TIME ZONE {VN})::date BETWEEN p.f AND p.t"
# The violations opened in the period that rest on detections, each with their number (a quantity: the figure
# is their sum, the drill-down lists the violations with their detection counts). The count is the one of the
# violation's latest event: the cameras service announces a joining detection at most once a minute, and
# every change of handling carries the count of that moment.
_DETECTIONS = f"""SELECT v.violation_id::text AS id,
       concat_ws(' ', v.kind, coalesce(c.code, v.camera_id::text), '—', v.detection_count, 'lần phát hiện')
           AS label,
       v.detection_count AS detections
  FROM violations v CROSS JOIN p LEFT JOIN cameras c ON c.camera_id = v.camera_id
 WHERE (p.d IS NULL OR c.district_code = p.d) AND v.detection_count > 0 AND {_OPENED_IN}"""
_CLOSED_IN = f"(v.closed_at AT TIME ZONE {VN})::date BETWEEN p.f AND p.t"

_CAMERAS = """SELECT c.camera_id::text AS id, concat_ws(' ', c.code, c.name) AS label
  FROM cameras c CROSS JOIN p
 WHERE (p.d IS NULL OR c.district_code = p.d)"""

# Online at the end of the period (`p.moment`): an interval that began before it and had not ended.
_ONLINE_AT = """ AND EXISTS (SELECT 1 FROM camera_online i
                 WHERE i.camera_id = c.camera_id AND i.online_from < p.moment
                   AND (i.online_until IS NULL OR i.online_until >= p.moment))"""


# The seconds of one interval inside the window [lo, p.te), lo being p.ts or later.
def _inside(lo: str) -> str:
    return f"extract(epoch FROM least(coalesce(i.online_until, p.te), p.te) - greatest(i.online_from, {lo}))"


# Each camera in scope with online time in the period, and its seconds (a quantity: the figure is the whole
# hours of their sum; the drill-down lists the cameras with their share).
_ONLINE_TIME = f"""SELECT c.camera_id::text AS id,
       concat_ws(' ', c.code, c.name, '—', to_char(o.seconds / 3600, 'FM999999990.0'), 'giờ') AS label,
       o.seconds
  FROM (SELECT i.camera_id, sum({_inside("p.ts")}) AS seconds
          FROM camera_online i CROSS JOIN p
         WHERE i.online_from < p.te AND (i.online_until IS NULL OR i.online_until > p.ts)
         GROUP BY i.camera_id) o
  JOIN cameras c ON c.camera_id = o.camera_id CROSS JOIN p
 WHERE (p.d IS NULL OR c.district_code = p.d) AND o.seconds > 0"""

# The cameras in scope installed at the period's end (`p.asof`: installed on or before it, not decommissioned
# by then), each counted from its installation day when that is later than the period's first day.
_EXPOSED = f"""SELECT c.camera_id, greatest(p.ts, c.installed_on::timestamp AT TIME ZONE {VN}) AS since
  FROM cameras c CROSS JOIN p
 WHERE (p.d IS NULL OR c.district_code = p.d) AND c.installed_on <= p.asof
   AND (c.decommissioned_on IS NULL OR c.decommissioned_on > p.asof)"""
# cameras.uptime = online seconds of those cameras since `since` / seconds from `since` to the window's end.
EXPOSURE = f"""SELECT coalesce(sum(extract(epoch FROM p.te - e.since)), 0)
  FROM ({_EXPOSED}) e CROSS JOIN p WHERE e.since < p.te"""
EXPOSED_ONLINE = f"""SELECT coalesce(sum({_inside("e.since")}), 0)
  FROM ({_EXPOSED}) e JOIN camera_online i ON i.camera_id = e.camera_id CROSS JOIN p
 WHERE e.since < p.te AND i.online_from < p.te AND (i.online_until IS NULL OR i.online_until > e.since)"""


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
    "cameras.online": _CAMERAS + _ONLINE_AT,
    "cameras.online_hours": _ONLINE_TIME,
    "violations.opened": _VIOLATIONS + f" AND {_OPENED_IN}",
    "violations.detections": _DETECTIONS,
    "violations.resolved": _VIOLATIONS + f" AND v.status = 'resolved' AND {_CLOSED_IN}",
    "violations.dismissed": _VIOLATIONS + f" AND v.status = 'dismissed' AND {_CLOSED_IN}",
    "violations.overdue": _VIOLATIONS + f" AND v.overdue AND {_OPENED_IN}",
    **{f"awards.{f}.{k}": _awards(f, k) for f in AWARD_FORMS for k in RECIPIENT_KINDS},
}
assert set(RECORDS) == set(FIGURES), "every figure needs its records query"
# A quantity's value from its records, and each record's share in the quantity's unit; every other figure
# counts its rows.
AGGREGATES: dict[str, str] = {
    "cameras.online_hours": "floor(coalesce(sum(s.seconds), 0) / 3600)",
    "violations.detections": "coalesce(sum(s.detections), 0)",
}
SHARES: dict[str, str] = {
    "cameras.online_hours": "s.seconds / 3600.0",
    "violations.detections": "s.detections::float8",
}
assert set(AGGREGATES) == set(SHARES) == set(QUANTITIES), "every quantity needs its aggregate and its share"
# The column of a figure's records that is the key of a breakdown.
BREAKDOWN_KEYS: dict[tuple[str, str], str] = {
    ("violations.opened", "kind"): "kind",
    ("violations.opened", "district"): "district",
}
assert set(BREAKDOWN_KEYS) == set(BREAKDOWNS), "every breakdown needs its key column"

# Every figure of one period and the two parts of the uptime, in one statement.
COUNTS = (
    f"WITH {PARAMS} SELECT "
    + ", ".join(
        f'(SELECT {AGGREGATES.get(name, "count(*)")} FROM ({RECORDS[name]}) s) AS "{name}"'
        for name in FIGURES
    )
    + f', ({EXPOSURE}) AS "exposure_seconds", ({EXPOSED_ONLINE}) AS "exposed_online_seconds"'
)

# Every breakdown of one period: (its index in BREAKDOWNS, key, value).
BREAKDOWN = f"WITH {PARAMS} " + " UNION ALL ".join(
    f"SELECT {n} AS n, s.{BREAKDOWN_KEYS[b]} AS key, count(*) AS value FROM ({RECORDS[b[0]]}) s GROUP BY 2"
    for n, b in enumerate(BREAKDOWNS)
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


def _record(row: Any) -> Record:
    share = row["share"]
    return from_row(
        Record, row, label=row["label"] or "", quantity=None if share is None else round(float(share), 2)
    )


class ReviewRepository:
    """The read models, read for the review report, its drill-down and the projection status."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def snapshot(self) -> None:
        """Make this transaction one read-only snapshot (the first statement of the transaction): the report
        reads both periods and their breakdowns in it, so the breakdowns add up to their figures."""
        await self.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")

    async def counts(self, *, period: Period, district: str) -> Counts:
        """Every figure of one period, in one statement."""
        row = await self.conn.fetchrow(COUNTS, *_args(period, district))
        assert row is not None
        return Counts(
            figures={name: int(row[name]) for name in FIGURES},
            exposure_seconds=float(row["exposure_seconds"]),
            exposed_online_seconds=float(row["exposed_online_seconds"]),
        )

    async def breakdowns(self, *, period: Period, district: str) -> list[dict[str, int]]:
        """Every breakdown of one period (in the order of BREAKDOWNS): the value of each key that has
        records."""
        found: list[dict[str, int]] = [{} for _ in BREAKDOWNS]
        for r in await self.conn.fetch(BREAKDOWN, *_args(period, district)):
            found[r["n"]][r["key"]] = int(r["value"])
        return found

    async def target(self, *, period: Period, district: str) -> int | None:
        value = await self.conn.fetchval(TARGET, *_args(period, district))
        return None if value is None else int(value)

    async def records(
        self,
        *,
        figure: str,
        period: Period,
        district: str,
        after: str | None,
        limit: int,
        entry: tuple[str, str] | None = None,
    ) -> list[Record]:
        """One page of the records behind a figure, by id, after the id `after` (None: from the first); with
        `entry` (dimension, key), only the records of that entry of the figure's breakdown."""
        share = SHARES.get(figure, "NULL::float8")
        only = f" AND s.{BREAKDOWN_KEYS[(figure, entry[0])]} = $8" if entry is not None else ""
        args: list[Any] = [*_args(period, district), after, limit]
        if entry is not None:
            args.append(entry[1])
        rows = await self.conn.fetch(
            f"""WITH {PARAMS} SELECT id, label, {share} AS share FROM ({RECORDS[figure]}) s
                 WHERE ($6::text IS NULL OR id COLLATE "C" > $6){only} ORDER BY id COLLATE "C" LIMIT $7""",
            *args,
        )
        return [_record(r) for r in rows]

    async def projection_status(self) -> ProjectionStatus:
        """Per stream the events applied and the latest event time, the last offset the projections' consumer
        applied in each partition, and the number of units, cameras and violations."""
        conn = self.conn
        rows = await conn.fetch(
            "SELECT topic, events_applied, last_event_at FROM stream_status ORDER BY topic"
        )
        offsets = await conn.fetch(
            """SELECT topic, partition, max("offset") AS "offset" FROM inbox WHERE consumer = $1
                GROUP BY topic, partition ORDER BY topic, partition""",
            CONSUMER_NAME,
        )
        units = await conn.fetchval("SELECT count(*) FROM units")
        cameras = await conn.fetchval("SELECT count(*) FROM cameras")
        violations = await conn.fetchval("SELECT count(*) FROM violations")
        consumed: dict[str, list[PartitionOffset]] = {}
        for o in offsets:
            consumed.setdefault(o["topic"], []).append(from_row(PartitionOffset, o))
        return ProjectionStatus(
            streams=[from_row(StreamStatus, r, consumed=consumed.get(r["topic"], [])) for r in rows],
            units=units,
            cameras=cameras,
            violations=violations,
        )
