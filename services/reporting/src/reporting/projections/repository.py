"""SQL of the projections: each read-model table's guarded upsert (`d07.platform.db.upserts`, one set-based
statement for a batch's rows folded to one per key), the one statement a batch sends for all of them with
its stream_status, and the camera online intervals, which read before they write (one event at a time).

Each table's `Upsert` is the statement one event alone would send; `wins` (from `domain`) is its guard in
Python, which folds a batch's rows of a key exactly as the statements one after the other would; the inputs
are in the order of the rows `messages` builds.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from d07.platform.db import Conn
from d07.platform.db.query import from_row
from d07.platform.db.upserts import DroppedValueRefused, Input, Row, Rows, Upsert, chain, columns, latest
from reporting.projections.domain import Interval, closing, is_a_day, revocation, same_time_or_later

UNITS = latest("units", "unit_id", (
    Input("unit_id", "uuid"), Input("code", "text"), Input("name", "text"), Input("kind", "text"),
    Input("district_code", "text"), Input("status", "text"), Input("version", "bigint"),
    Input("event_id", "uuid"),
))  # fmt: skip
CAMERAS = latest("cameras", "camera_id", (
    Input("camera_id", "uuid"), Input("code", "text"), Input("unit_id", "uuid", nullable=True),
    Input("status", "text"), Input("version", "bigint"), Input("event_id", "uuid"), Input("name", "text"),
    Input("district_code", "text"), Input("planned_on", "date", nullable=True),
    Input("installed_on", "date", nullable=True), Input("decommissioned_on", "date", nullable=True),
))  # fmt: skip
_PLAN_INPUTS = (
    Input("plan_id", "uuid"), Input("name", "text"), Input("target", "int"),
    Input("starts_on", "date", nullable=True), Input("deadline", "date", nullable=True),
    Input("district_targets", "json"), Input("created_at", "timestamptz", nullable=True),
    Input("version", "bigint"), Input("event_id", "uuid"),
)  # fmt: skip
PLANS = latest(
    "installation_plans", "plan_id", _PLAN_INPUTS, keep=("created_at",),
    columns=columns(_PLAN_INPUTS, district_targets="r.district_targets::jsonb"),
)  # fmt: skip
_ASSESSMENT_INPUTS = (
    Input("assessment_id", "uuid"), Input("round_id", "uuid"), Input("unit_id", "uuid"), Input("year", "int"),
    Input("unit_kind", "text"), Input("district_code", "text"), Input("criteria_set", "text"),
    Input("result", "text"), Input("score", "score"), Input("unmet_criteria", "json"),
    Input("revision", "int"), Input("finalised_at", "timestamptz", nullable=True), Input("event_id", "uuid"),
)  # fmt: skip
ASSESSMENTS = latest(
    "assessments", "assessment_id", _ASSESSMENT_INPUTS, by="revision",
    keep=("round_id", "unit_id", "year", "unit_kind", "district_code", "criteria_set"),
    columns=columns(_ASSESSMENT_INPUTS, unmet_criteria="""ARRAY(SELECT c
        FROM jsonb_array_elements_text(r.unmet_criteria::jsonb) WITH ORDINALITY AS u(c, n) ORDER BY n)"""),
)  # fmt: skip
MODELS = latest("models", "model_id", (
    Input("model_id", "uuid"), Input("name", "text"), Input("kind", "text"), Input("host_type", "text"),
    Input("unit_id", "uuid", nullable=True), Input("commune_code", "text", nullable=True),
    Input("district_code", "text"), Input("formation", "text"), Input("formed_on", "date"),
    Input("status", "text"), Input("version", "bigint"), Input("event_id", "uuid"),
))  # fmt: skip
# DO NOTHING: the first row of a key wins.
CONSOLIDATIONS = Upsert("model_consolidations", ("model_id", "recorded_at"), (
    Input("model_id", "uuid"), Input("recorded_at", "timestamptz"), Input("changed_on", "date"),
    Input("event_id", "uuid"),
))  # fmt: skip
CLASSES = latest("training_classes", "class_id", (
    Input("class_id", "uuid"), Input("title", "text"), Input("district_code", "text"),
    Input("starts_on", "date"), Input("ends_on", "date"), Input("status", "text"), Input("version", "bigint"),
    Input("event_id", "uuid"),
))  # fmt: skip
ATTENDANCES = latest("attendances", "attendance_id", (
    Input("attendance_id", "uuid"), Input("class_id", "uuid"), Input("guard_id", "uuid"),
    Input("unit_id", "uuid", nullable=True), Input("guard_full_name", "text"), Input("outcome", "text"),
    Input("version", "bigint"), Input("event_id", "uuid"),
), keep=("class_id", "guard_id"))  # fmt: skip

_VIOLATION_INPUTS = (
    Input("violation_id", "uuid"), Input("camera_id", "uuid"), Input("unit_id", "uuid", nullable=True),
    Input("kind", "text"), Input("priority", "text"), Input("status", "text"),
    Input("opened_at", "timestamptz"), Input("closed_at", "timestamptz", nullable=True),
    Input("overdue", "boolean"), Input("detection_count", "int"), Input("event_id", "uuid"),
    Input("event_time", "timestamptz"),
)  # fmt: skip
VIOLATIONS = Upsert(
    "violations", ("violation_id",), _VIOLATION_INPUTS,
    updated=(
        "unit_id", "status", "priority", "closed_at", "overdue", "detection_count", "event_id", "event_time",
    ),
    guard="violations.event_time <= EXCLUDED.event_time",
    wins=same_time_or_later([i.name for i in _VIOLATION_INPUTS].index("event_time")),
)  # fmt: skip

_AWARD_INPUTS = (
    Input("award_id", "uuid"), Input("round_id", "uuid"), Input("form_code", "text"),
    Input("recipient_kind", "text"), Input("unit_id", "uuid"), Input("decision_number", "text"),
    Input("decided_year", "int"), Input("decided_month", "int"), Input("decided_day", "int"),
    Input("status", "text"), Input("event_id", "uuid"),
)  # fmt: skip
_AWARD_DAY = tuple(
    [i.name for i in _AWARD_INPUTS].index(part) for part in ("decided_year", "decided_month", "decided_day")
)


def _a_real_day(row: Row) -> None:
    """A decision day PostgreSQL's make_date refuses is refused here too (Python's date is the stricter)."""
    year, month, day = (row[n] for n in _AWARD_DAY)
    if not is_a_day(year, month, day):
        raise DroppedValueRefused(f"decided_on {year}-{month}-{day} is not a day")


AWARDS = Upsert(
    "awards", ("award_id",), _AWARD_INPUTS, updated=("status", "event_id"),
    guard="EXCLUDED.status = 'revoked'", wins=revocation([i.name for i in _AWARD_INPUTS].index("status")),
    touch=True, check=_a_real_day,
    columns={
        "award_id": "r.award_id", "round_id": "r.round_id", "form_code": "r.form_code",
        "recipient_kind": "r.recipient_kind", "unit_id": "r.unit_id", "decision_number": "r.decision_number",
        "decided_on": "make_date(r.decided_year, r.decided_month, r.decided_day)", "status": "r.status",
        "event_id": "r.event_id",
    },
)  # fmt: skip

# The set-based tables, in the order a batch writes them (the same order in every batch).
UPSERTS = (
    UNITS,
    CAMERAS,
    PLANS,
    MODELS,
    CONSOLIDATIONS,
    CLASSES,
    ATTENDANCES,
    VIOLATIONS,
    ASSESSMENTS,
    AWARDS,
)

STREAM_STATUS = """
INSERT INTO stream_status (topic, events_applied, last_event_at)
SELECT * FROM unnest({}::text[], {}::bigint[], {}::timestamptz[])
ON CONFLICT (topic) DO UPDATE SET events_applied = stream_status.events_applied + EXCLUDED.events_applied,
    last_event_at = GREATEST(stream_status.last_event_at, EXCLUDED.last_event_at)
"""


def statement(upserts: Sequence[Upsert]) -> str:
    """One statement for a batch: the upserts as data-modifying CTEs of the stream_status upsert, each with
    its own parameters in turn (one round trip; the tables are distinct and none reads another, so one
    snapshot for all changes nothing)."""
    return chain(upserts, STREAM_STATUS)


# A batch of one table's rows (most are) sends that table's statement; a batch of several sends BATCH, every
# table in it (an absent table's arrays empty: its part does nothing). So a connection prepares at most twelve
# statements, however batches mix tables, and no batch pays for empty parts it could do without.
ALONE = {u.table: statement((u,)) for u in UPSERTS}
STATUS_ONLY = statement(())
BATCH = statement(UPSERTS)

# Every table the projections fill, and nothing else: `python -m reporting rebuild` empties exactly these (and
# the inbox rows of the consumer) and replays the topics into them.
READ_MODELS = (
    "units",
    "cameras",
    "camera_online",
    "installation_plans",
    "violations",
    "assessments",
    "awards",
    "models",
    "model_consolidations",
    "training_classes",
    "attendances",
    "stream_status",
)


def _camera_lock(camera_id: str) -> int:
    digest = hashlib.blake2b(f"d07-reporting-camera-online:{camera_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class ProjectionRepository:
    """The read models, written over the consumer runner's connection (inside its batch transaction)."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def write(self, rows: Mapping[str, Rows], applied: Mapping[str, tuple[int, datetime]]) -> None:
        """Every table's folded rows (by table name) and the stream_status of the batch (per topic: the
        events applied and the latest event time), in one statement."""
        present = [u for u in UPSERTS if rows[u.table].by_key]
        if len(present) > 1:
            sql, present = BATCH, list(UPSERTS)
        else:
            sql = ALONE[present[0].table] if present else STATUS_ONLY
        args = [array for u in present for array in rows[u.table].arrays()]
        topics = sorted(applied)
        args += [topics, [applied[t][0] for t in topics], [applied[t][1] for t in topics]]
        await self.conn.execute(sql, *args)

    # --- camera online intervals (read before they write: one event at a time, in batch order) ----------
    # A per-camera transaction lock keeps the live consumer and a rebuild from interleaving on one camera.

    async def open_online(self, camera_id: str, at: datetime, event_id: uuid.UUID) -> None:
        """A camera came online at `at`: an online interval opens there, unless the camera is online at that
        moment already (an interval open since before, or one that covers it: a replayed event). When the next
        row after `at` is a close marker, the interval ends there. Keyed by the event times, not the arrival
        order."""
        conn = self.conn
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _camera_lock(camera_id))
        online = await conn.fetchval(
            """SELECT EXISTS (SELECT 1 FROM camera_online
                               WHERE camera_id = $1 AND opened_by IS NOT NULL AND online_from <= $2
                                 AND (online_until IS NULL OR online_until >= $2))""",
            camera_id, at,
        )  # fmt: skip
        if not online:
            closed = await conn.fetchval(
                """UPDATE camera_online SET online_from = $2, opened_by = $3
                    WHERE camera_id = $1 AND opened_by IS NULL
                      AND online_from = (SELECT min(online_from) FROM camera_online
                                          WHERE camera_id = $1 AND online_from >= $2)
                   RETURNING online_until""",
                camera_id, at, event_id,
            )  # fmt: skip
            if closed is None:
                await conn.execute(
                    """INSERT INTO camera_online (camera_id, online_from, opened_by) VALUES ($1, $2, $3)
                       ON CONFLICT (camera_id, online_from) DO NOTHING""",
                    camera_id, at, event_id,
                )  # fmt: skip

    async def close_online(self, camera_id: str, at: datetime, event_id: uuid.UUID) -> None:
        """End the camera's online interval at `at` (`domain.closing` says how)."""
        conn = self.conn
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _camera_lock(camera_id))
        row = await conn.fetchrow(
            """SELECT online_from, online_until, closed_by FROM camera_online
                WHERE camera_id = $1 AND online_from <= $2 ORDER BY online_from DESC LIMIT 1""",
            camera_id, at,
        )  # fmt: skip
        latest = None if row is None else from_row(Interval, row)
        close = closing(latest, at, event_id)
        if close.ends:
            assert latest is not None
            await conn.execute(
                """UPDATE camera_online SET online_until = $3, closed_by = $4
                    WHERE camera_id = $1 AND online_from = $2""",
                camera_id, latest.online_from, at, event_id,
            )  # fmt: skip
        if close.marker is not None:
            await conn.execute(
                """INSERT INTO camera_online (camera_id, online_from, online_until, closed_by)
                   VALUES ($1, $2, $2, $3) ON CONFLICT (camera_id, online_from) DO NOTHING""",
                camera_id, *close.marker,
            )  # fmt: skip
