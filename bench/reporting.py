"""The review report and the projections behind it, for the demo province and one ten times larger,
measured beside the raw building blocks in the same run.

The province is the demo province's own plan (`d07.demo.plan.generate(districts, seed=2019, size=k)` on the
registry's divisions, services/registry/data/divisions.json), converted into the events the other services
publish (no other service runs). At size 1, for the period 2014-08-15..2019-08-29: 370 units (346 in scope,
in 8 districts 001..008), 1.730 finalised assessments (rounds 2014..2018, 1.454 passed: passed or failed by
the plan's `Assessment.passed`), 70 models (61 formed in the period, 12 of them in units), 29 classes with
1.652 enrolments (26 classes and 1.502 attendances in the period), 3.200 cameras (planned 10-2018..08-2019,
75 % installed 2020-2025) and their installation plan, 300 violations and 42 awards (the decided nominations
of the 2019 round; one voted down per quota makes no AwardDecided): 7.394 events. Size k is the plan at size
k (k times each figure; the districts stay 8). Every record's id is uuid5 of its kind and its plan key or
code, the same in every run. The violations are one per (camera, kind) of the plan's detections, opened today
(each detection `minutes_ago` before the run, squeezed into the part of today that has passed), status by
the police's handling (resolve, dismiss, start, acknowledge, none: resolved, dismissed, in_progress,
acknowledged, new), detection_count the detections of that pair; no camera comes online and no model is
consolidated in these events. The events are the real protobuf messages, written with the platform's outbox
(`outbox.add_many` / `outbox.add`, CloudEvents headers by `make_headers`) and published by its `OutboxRelay`
onto the real topics of a broker of their own (a fresh private Tansu per size: the topic names are fixed, so a
shared broker would mix sizes), keyed as the services key them.

1. Projections: the reporting service's own consumer (its ConsumerSpec from `reporting.bootstrap.SPEC`:
   topics, message classes, the batch handler `projections.project`, batch size; in a ConsumerRunner as the
   runtime builds it, in this process) into a fresh schema with the reporting migrations, until every event
   is applied (counted by the runner's commit hook; afterwards `stream_status` and `inbox` must hold every
   event). Beside it, the raw ceiling of the same run: a bare aiokafka consumer group over the same eight
   topics, `getmany()` of up to the runner's batch size, `ce_id` and `ce_type` read from the headers and the
   protobuf decoded, then into a scratch table (event id, topic, subject, type, payload; no index) either by
   one `executemany` of a plain INSERT per batch or by one `execute` of that INSERT per event, each batch in
   one transaction, then the offset commit.
   Rates leave out the first batch (the consumer-group join, held by Tansu for half the session timeout);
   each is run REPEATS times and the median shown; "from start" is the wall time including the join.
2. GetReviewReport over gRPC against `python -m reporting serve` (its own process, on the projections'
   schema, in-process workers off, tables analysed as autovacuum would have), with a real token (role
   police), for the 5-year period province-wide and for district 003; p50 and p99. Beside it, in the same
   run: a bare grpc.aio echo and the echo on the platform's server (bench.registry's echo servers, own
   processes), a bare asyncpg `SELECT 1`, the COUNTS statement of one period (`review_repository.counts`)
   over asyncpg, and the service's `review_report()` called in this process (every statement of the report,
   no gRPC, no token). WARM_UP calls of each, then CALLS rounds in which each takes its turn, one call at a
   time, so a passing load on the machine falls on all of them alike. The first report of each scope is
   checked figure by figure against the plan: the article's figures by `plan.figures` (of the province, or
   of its part in the district), the others counted from the plan by the report's rules.
3. The review report's documents against the same `serve` process, right after: GET
   /v1/reports/review/export for docx, xlsx (every record of every count figure) and pdf (LibreOffice), and
   the JSON report GET /v1/reports/review beside them, over HTTP with the same token, EXPORT_REPEATS calls
   each, median wall time and the file's size; then the serve process's peak resident memory (VmHWM, the
   process is fresh at each size) before and after the exports: flat as the records grow tenfold, since the
   records stream from a server-side cursor into a write-only workbook on disk.
At the largest size the time of each figure's query alone is printed (where the COUNTS time goes).

D07_BENCH_REPORTING_SIZES (default "1,10") and D07_BENCH_REPORTING_REPEATS (3) change the run; the database
is bench.common's (D07_BENCH_DATABASE_URL or a private one), the broker never a shared one.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import asyncpg
import grpc
import httpx
from aiokafka import AIOKafkaConsumer
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from bench.common import ROOT, Result, Stack, print_table, stack, unique, wait_ready
from bench.events import Marks
from bench.registry import ECHO_METHOD
from bench.registry import start as start_process
from d07.assessment.v1 import assessment_pb2
from d07.awards.v1 import awards_pb2
from d07.cameras.v1 import cameras_pb2, violation_events_pb2
from d07.common.v1 import common_pb2
from d07.demo import plan
from d07.platform.auth import POLICE, Principal, ensure_dev_keys, issue_token
from d07.platform.db import all_migrations, create_pool, migrate
from d07.platform.devstack.broker import Broker
from d07.platform.devstack.procs import free_port, stop_process, wait_for_port
from d07.platform.events import BatchOutcome, ConsumerRunner, OutboxRelay, message_registry, outbox
from d07.platform.events.outbox import RoundResult
from d07.platform.runtime import ConsumerSpec
from d07.registry.v1 import models_pb2, registry_pb2, training_pb2
from d07.reporting.v1 import reporting_pb2 as pb
from d07.reporting.v1 import reporting_pb2_grpc as pb_grpc
from reporting.bootstrap import MIGRATIONS, SPEC
from reporting.config import ReportingDeps, ReportingSettings
from reporting.projections import events as proj
from reporting.review import repository as repo
from reporting.review.domain import FIGURES, period
from reporting.review.service import ReviewQuery, ReviewUnitOfWork, review_report

SIZES = tuple(int(s) for s in os.environ.get("D07_BENCH_REPORTING_SIZES", "1,10").split(","))
REPEATS = int(os.environ.get("D07_BENCH_REPORTING_REPEATS", "3"))
CALLS = 200
WARM_UP = 20
SESSION_TIMEOUT_MS = 6000  # as the tests run the services: Tansu holds each group join for half of it
GOAL_P99_MS = 200.0
GOAL_RATIO = 0.40

FROM, TO = plan.PERIOD  # 2014-08-15 .. 2019-08-29
DISTRICT = "003"
VN = ZoneInfo("Asia/Ho_Chi_Minh")

# The demo province (d07.demo.plan) on the registry's divisions, seed 2019.
SEED = 2019
DIVISIONS = ROOT / "services" / "registry" / "data" / "divisions.json"
ID_NAMESPACE = uuid.UUID("5d2c6f0e-6a1b-4d07-9b7e-7265706f7274")  # the bench's records: uuid5(kind:key)
UNIT_KIND = {"agency": registry_pb2.UNIT_KIND_AGENCY, "enterprise": registry_pb2.UNIT_KIND_ENTERPRISE,
             "school": registry_pb2.UNIT_KIND_SCHOOL}  # fmt: skip
MODEL_FORMATION = {"built": models_pb2.MODEL_FORMATION_BUILT,
                   "consolidated": models_pb2.MODEL_FORMATION_CONSOLIDATED}  # fmt: skip
HANDLING_STATUS = {
    "resolve": violation_events_pb2.VIOLATION_STATUS_RESOLVED,
    "dismiss": violation_events_pb2.VIOLATION_STATUS_DISMISSED,
    "start": violation_events_pb2.VIOLATION_STATUS_IN_PROGRESS,
    "acknowledge": violation_events_pb2.VIOLATION_STATUS_ACKNOWLEDGED,
    "none": violation_events_pb2.VIOLATION_STATUS_NEW,
}
REACT_WITHIN = timedelta(hours=2)
ISSUERS = {"merit": "UBND tỉnh", "commendation": "Công an tỉnh"}

SOURCES = {"registry": "/d07/registry", "cameras": "/d07/cameras", "assessment": "/d07/assessment",
           "awards": "/d07/awards"}  # fmt: skip
ACTOR = common_pb2.Actor(subject="bench-generator", roles=["admin"])
REGISTRY = message_registry(proj.MESSAGES)

RAW_MANY = "raw: getmany + decode + executemany INSERT a batch + commit"
RAW_ROWS = "raw: getmany + decode + one INSERT per event, a transaction a batch + commit"
PROJECTIONS = "reporting projections: ConsumerRunner + batch handler (inbox, one set-based statement)"
SINK_DDL = """CREATE TABLE sink (event_id uuid NOT NULL, topic text NOT NULL, subject text NOT NULL,
                                 type text NOT NULL, payload bytea NOT NULL)"""
SINK_INSERT = "INSERT INTO sink VALUES ($1, $2, $3, $4, $5)"

# --- the province as events ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Out:
    """One event to publish: its topic, Kafka key, CloudEvents subject and message."""

    topic: str
    key: str
    subject: str
    message: Message


@dataclass(frozen=True)
class Violation:
    """A violation the plan's detections open today: one per (camera, kind), its times and handling."""

    camera: plan.Camera
    kind: str
    detections: tuple[plan.Detection, ...]
    status: violation_events_pb2.ViolationStatus
    opened_at: datetime
    last_seen_at: datetime
    closed_at: datetime | None
    overdue_at: datetime | None


@dataclass
class Province:
    size: int
    demo: plan.Province
    violations: list[Violation]
    events: list[Out] = field(default_factory=list)
    # What the report of FROM..TO must say: the province ("") and DISTRICT, computed from the plan.
    expected: dict[str, Counter[str]] = field(default_factory=dict)

    def emit(self, topic: str, key: str, message: Message, subject: str | None = None) -> None:
        self.events.append(Out(topic, key, key if subject is None else subject, message))


def _day(d: date) -> common_pb2.Date:
    return common_pb2.Date(year=d.year, month=d.month, day=d.day)


def _ts(moment: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(moment.astimezone(UTC))
    return ts


def _in_period(d: date) -> bool:
    return FROM <= d <= TO


def record_id(kind: str, key: str) -> str:
    """A record's id, the same in every run: uuid5 of its kind and its key or code in the plan."""
    return str(uuid.uuid5(ID_NAMESPACE, f"{kind}:{key}"))


def demo_plan(size: int) -> plan.Province:
    """The demo province's plan at `size` (seed 2019), on the registry's districts."""
    divisions = json.loads(DIVISIONS.read_text(encoding="utf-8"))["districts"]
    return plan.generate(plan.districts_from(divisions), seed=SEED, size=size)


def violations_of(p: plan.Province, now: datetime) -> list[Violation]:
    """One violation per (camera, kind) of the plan's detections, opened today: each detection `minutes_ago`
    before `now`, squeezed into the part of today (Vietnam time) that has passed when that is shorter than the
    plan's ten hours. Status by the police's handling; a closed one closes ten minutes after its last
    detection (never after now); one still open past its react-by time is overdue."""
    today = datetime.combine(now.astimezone(VN).date(), datetime.min.time(), VN)
    longest = max((d.minutes_ago for d in p.detections), default=0) + 1
    squeeze = min(1.0, (now - today).total_seconds() / 60 / longest)
    cameras = {c.code: c for c in p.cameras}
    grouped: dict[tuple[str, str], list[plan.Detection]] = {}
    for d in p.detections:
        grouped.setdefault((d.camera_code, d.kind), []).append(d)
    out = []
    for (code, kind), found in grouped.items():
        seen = [now - timedelta(minutes=d.minutes_ago * squeeze) for d in found]
        opened, last = min(seen), max(seen)
        status = HANDLING_STATUS[found[0].handling]
        closing = status in (violation_events_pb2.VIOLATION_STATUS_RESOLVED,
                             violation_events_pb2.VIOLATION_STATUS_DISMISSED)  # fmt: skip
        closed = min(now, last + timedelta(minutes=10)) if closing else None
        react_by = opened + REACT_WITHIN
        overdue = react_by if not closing and react_by <= now else None
        out.append(Violation(cameras[code], kind, tuple(found), status, opened, last, closed, overdue))
    return out


def province(size: int, now: datetime | None = None) -> Province:
    """The demo province's plan at `size` as the other services' events, and the figures its report must
    show for FROM..TO, province-wide and in DISTRICT."""
    demo = demo_plan(size)
    now = datetime.now(UTC) if now is None else now
    p = Province(size, demo, violations_of(demo, now))
    units = {u.code: u for u in demo.units}
    unit_ids = {u.code: record_id("unit", u.code) for u in demo.units}
    district_of_commune = {c.code: d.code for d in demo.districts for c in d.communes}

    for u in demo.units:
        unit = registry_pb2.Unit(
            id=unit_ids[u.code], code=u.code, name=u.name, kind=UNIT_KIND[u.kind],
            district_code=u.district_code, commune_code=u.commune_code,
            status=registry_pb2.UNIT_STATUS_ACTIVE, address=u.address,
            sub_kind=u.sub_kind, staff_count=u.staff_count, in_scope=u.in_scope, version=1,
            created_at=_ts(datetime(2014, 1, 6, tzinfo=VN)),
        )  # fmt: skip
        p.emit(proj.UNITS_TOPIC, unit.id, registry_pb2.UnitCreated(unit=unit, actor=ACTOR))

    rounds = {year: record_id("round", str(year)) for year in sorted({a.year for a in demo.assessments})}
    for a in demo.assessments:
        u = units[a.unit_code]
        result = (
            assessment_pb2.ASSESSMENT_RESULT_PASSED if a.passed else assessment_pb2.ASSESSMENT_RESULT_FAILED
        )
        assessment = assessment_pb2.Assessment(
            id=record_id("assessment", f"{a.unit_code}/{a.year}"), round_id=rounds[a.year],
            unit_id=unit_ids[u.code], unit_code=u.code, unit_name=u.name, year=a.year, unit_kind=u.kind,
            district_code=u.district_code, criteria_set_code="TT124-2021", criteria_set_version=1,
            status=assessment_pb2.ASSESSMENT_STATUS_FINALISED, result=result,
            score=100.0 - 12.5 * len(a.unmet), unmet_criteria=list(a.unmet), revision=1, version=4,
            finalised_at=_ts(datetime(a.year, 12, 15, 9, tzinfo=VN)), finalised_by="bench-police",
        )  # fmt: skip
        # The assessment service keys its events by unit id, the subject is the assessment.
        message = assessment_pb2.AssessmentFinalised(assessment=assessment, actor=ACTOR)
        p.emit(proj.ASSESSMENTS_TOPIC, assessment.unit_id, message, subject=assessment.id)

    # A model has no code in the plan: its place in the plan's list and its name are its key.
    for i, m in enumerate(demo.models):
        model = models_pb2.Model(
            id=record_id("model", f"{i}/{m.name}"), name=m.name, kind=m.kind, kind_label=m.name,
            formation=MODEL_FORMATION[m.formation], formed_on=_day(m.formed_on),
            status=models_pb2.MODEL_STATUS_EFFECTIVE, description=m.description, version=1,
        )  # fmt: skip
        if m.unit_code is not None:
            owner = units[m.unit_code]
            model.unit.unit_id = unit_ids[owner.code]
            model.host_name, model.district_code = owner.name, owner.district_code
        else:
            assert m.commune_code is not None
            model.community.commune_code = m.commune_code
            model.community.residential_area = m.residential_area
            model.host_name = m.residential_area
            model.district_code = district_of_commune[m.commune_code]
        p.emit(proj.MODELS_TOPIC, model.id, models_pb2.ModelCreated(model=model, actor=ACTOR))

    guards = {g.key: g for g in demo.guards}
    today = now.astimezone(VN).date()
    for c in demo.classes:
        held = c.ends_on < today
        training_class = training_pb2.TrainingClass(
            id=record_id("class", c.key), title=c.title, organiser=c.organiser, starts_on=_day(c.starts_on),
            ends_on=_day(c.ends_on), place=c.place, capacity=c.capacity, district_code=c.district_code,
            status=training_pb2.CLASS_STATUS_HELD if held else training_pb2.CLASS_STATUS_SCHEDULED,
            enrolled=len(c.enrolments), version=2 if held else 1,
        )  # fmt: skip
        p.emit(
            proj.TRAINING_TOPIC,
            training_class.id,
            training_pb2.ClassScheduled(training_class=training_class, actor=ACTOR),
        )
        for e in c.enrolments:
            g = guards[e.guard_key]
            outcome = (training_pb2.ATTENDANCE_OUTCOME_COMPLETED if e.completed
                       else training_pb2.ATTENDANCE_OUTCOME_NOT_COMPLETED)  # fmt: skip
            att = training_pb2.Attendance(
                id=record_id("attendance", f"{c.key}/{e.guard_key}"), class_id=training_class.id,
                guard_id=record_id("guard", g.key), unit_id=unit_ids[g.unit_code],
                guard_full_name=g.full_name,
                outcome=outcome if held else training_pb2.ATTENDANCE_OUTCOME_PENDING,
                result=e.result if held else "", version=2 if held else 1,
            )  # fmt: skip
            # The registry keys attendances by class id (one class's events in order).
            enrolled = training_pb2.AttendanceEnrolled(attendance=att, actor=ACTOR)
            p.emit(proj.TRAINING_TOPIC, training_class.id, enrolled)

    camera_ids = {c.code: record_id("camera", c.code) for c in demo.cameras}
    for cam in demo.cameras:
        camera = cameras_pb2.Camera(
            id=camera_ids[cam.code], code=cam.code, name=cam.name,
            unit_id=unit_ids[cam.unit_code] if cam.unit_code is not None else "", latitude=cam.latitude,
            longitude=cam.longitude, address=cam.address, status=cameras_pb2.CAMERA_STATUS_PLANNED, version=1,
            district_code=cam.district_code, commune_code=cam.commune_code, agency="Công an tỉnh",
            planned_on=_day(cam.planned_on),
        )  # fmt: skip
        if cam.installed_on is not None:
            camera.status, camera.version = cameras_pb2.CAMERA_STATUS_INSTALLED, 2
            camera.installed_on.CopyFrom(_day(cam.installed_on))
        p.emit(proj.CAMERAS_TOPIC, camera.id, cameras_pb2.CameraRegistered(camera=camera, actor=ACTOR))

    target = demo.installation_plan
    assert target is not None
    installation = cameras_pb2.InstallationPlan(
        id=record_id("plan", target.name), name=target.name, target=target.target,
        starts_on=_day(target.starts_on), deadline=_day(target.deadline), version=1,
        district_targets=[cameras_pb2.DistrictTarget(district_code=d, target=n)
                          for d, n in target.district_targets.items()],
        created_at=_ts(datetime.combine(target.starts_on, datetime.min.time(), VN) + timedelta(hours=8)),
    )  # fmt: skip
    p.emit(proj.PLANS_TOPIC, installation.id, cameras_pb2.InstallationPlanSet(plan=installation, actor=ACTOR))

    for v in p.violations:
        cam = v.camera
        violation = violation_events_pb2.Violation(
            id=record_id("violation", f"{cam.code}/{v.kind}"), camera_id=camera_ids[cam.code],
            camera_code=cam.code, unit_id=unit_ids[cam.unit_code] if cam.unit_code is not None else "",
            kind=v.kind, priority=violation_events_pb2.VIOLATION_PRIORITY_HIGH, status=v.status,
            opened_at=_ts(v.opened_at), first_seen_at=_ts(v.opened_at), last_seen_at=_ts(v.last_seen_at),
            detection_count=len(v.detections), max_confidence=max(d.confidence for d in v.detections),
            react_by=_ts(v.opened_at + REACT_WITHIN), version=1,
        )  # fmt: skip
        if v.closed_at is not None:
            violation.closed_at.CopyFrom(_ts(v.closed_at))
        if v.overdue_at is not None:
            violation.overdue_at.CopyFrom(_ts(v.overdue_at))
        p.emit(proj.VIOLATIONS_TOPIC, violation.id, violation_events_pb2.ViolationOpened(violation=violation))

    r = demo.award_round
    assert r is not None
    round_id = record_id("award-round", r.title)
    for n in r.nominations:
        if not n.decided:
            continue  # voted down by the council: rejected, no award
        key = f"{n.form_code}/{n.recipient_kind}/{n.unit_code}/{n.guard_key or ''}"
        number, decided_on, signer = r.decisions[n.form_code]
        award = awards_pb2.Award(
            id=record_id("award", key), nomination_id=record_id("nomination", key), round_id=round_id,
            form_code=n.form_code, recipient_kind=n.recipient_kind, unit_id=unit_ids[n.unit_code],
            person_name=guards[n.guard_key].full_name if n.guard_key is not None else "",
            decided_on=_day(decided_on), decision_number=number, signer=signer,
            issuer=ISSUERS[n.form_code], status="decided",
        )  # fmt: skip
        p.emit(proj.AWARDS_TOPIC, award.id, awards_pb2.AwardDecided(award=award, actor=ACTOR))

    p.expected = {scope: expected(p, scope) for scope in ("", DISTRICT)}
    return p


def in_district(demo: plan.Province, district: str) -> plan.Province:
    """The part of the plan in `district`: its units, their assessments and award nominations, the models
    hosted there, its classes and cameras."""
    units = [u for u in demo.units if u.district_code == district]
    codes = {u.code for u in units}
    communes = {c.code for d in demo.districts if d.code == district for c in d.communes}
    r = demo.award_round
    return replace(
        demo,
        units=units,
        assessments=[a for a in demo.assessments if a.unit_code in codes],
        models=[m for m in demo.models if m.unit_code in codes or m.commune_code in communes],
        classes=[c for c in demo.classes if c.district_code == district],
        cameras=[c for c in demo.cameras if c.district_code == district],
        award_round=replace(r, nominations=tuple(n for n in r.nominations if n.unit_code in codes))
        if r is not None
        else None,
    )


def expected(p: Province, district: str) -> Counter[str]:
    """Every figure of the report of FROM..TO for the province ("") or a district: the article's figures by
    `plan.figures` of the plan (or of its part in the district), the others counted from the plan and the
    violations the bench derives from it by the report's rules (no camera comes online in these events)."""
    demo = p.demo if not district else in_district(p.demo, district)
    out = Counter(plan.figures(demo, (FROM, TO)))
    out["models.in_communities"] = sum(m.unit_code is None and _in_period(m.formed_on) for m in demo.models)
    out["cameras.installed"] = sum(
        c.installed_on is not None and _in_period(c.installed_on) for c in demo.cameras
    )
    out["cameras.online"] = out["cameras.online_hours"] = 0
    mine = [v for v in p.violations if not district or v.camera.district_code == district]
    opened = [v for v in mine if _in_period(v.opened_at.astimezone(VN).date())]
    out["violations.opened"] = len(opened)
    out["violations.detections"] = sum(len(v.detections) for v in opened)
    out["violations.overdue"] = sum(v.overdue_at is not None for v in opened)
    closing = (
        (violation_events_pb2.VIOLATION_STATUS_RESOLVED, "violations.resolved"),
        (violation_events_pb2.VIOLATION_STATUS_DISMISSED, "violations.dismissed"),
    )
    for status, figure in closing:
        out[figure] = sum(
            v.status == status and v.closed_at is not None and _in_period(v.closed_at.astimezone(VN).date())
            for v in mine
        )
    missing = set(FIGURES) - set(out)
    if missing:
        raise RuntimeError(f"no expected value for the figures {sorted(missing)}")
    return out


# --- publishing through the platform's outbox ------------------------------------------------------------


async def publish(s: Stack, bootstrap: str, prov: Province) -> float:
    """Write every event to an outbox (as the services do) and let the OutboxRelay publish them; seconds."""
    schema = await s.schema("bench_rep_src")
    pool = await create_pool(s.database_url, schema=schema, min_size=1, max_size=4)
    try:
        by_topic: dict[str, list[Out]] = {}
        for ev in prov.events:
            by_topic.setdefault(ev.topic, []).append(ev)
        for topic, events in by_topic.items():
            source = SOURCES[topic.split(".")[1]]
            for start in range(0, len(events), 5000):
                chunk = events[start : start + 5000]
                async with pool.acquire() as conn, conn.transaction():
                    if all(e.subject == e.key for e in chunk):
                        await outbox.add_many(
                            conn, topic=topic, source=source, events=[(e.key, e.message) for e in chunk]
                        )
                    else:
                        for e in chunk:
                            await outbox.add(
                                conn,
                                topic=topic,
                                key=e.key,
                                subject=e.subject,
                                message=e.message,
                                source=source,
                            )
        stop = asyncio.Event()
        published = 0

        def on_round(result: RoundResult) -> None:
            nonlocal published
            published += result.published
            if published >= len(prov.events):
                stop.set()

        relay = OutboxRelay(pool, schema=schema, bootstrap=bootstrap, poll_interval=0.05, on_round=on_round)
        started = time.perf_counter()
        await asyncio.wait_for(relay.run(stop), 300)
        seconds = time.perf_counter() - started
        left = await pool.fetchval("SELECT count(*) FROM outbox")
    finally:
        await pool.close()
    if published < len(prov.events) or left:
        raise RuntimeError(f"the relay published {published} of {len(prov.events)}, {left} rows left")
    return seconds


# --- 1. projection throughput beside the raw ceiling ---------------------------------------------------


@dataclass
class Run:
    """One consumer run: its rate (first batch left out) and the wall time from start to the last commit."""

    result: Result
    from_start: float


async def reporting_schema(s: Stack) -> str:
    name = unique("bench_reporting")
    conn = await asyncpg.connect(s.database_url)
    try:
        await migrate(conn, schema=name, migrations=all_migrations(SPEC.name, MIGRATIONS))
    finally:
        await conn.close()
    s.schemas.append(name)
    return name


def projection_spec(s: Stack, schema: str, bootstrap: str, pool: asyncpg.Pool | None = None) -> ConsumerSpec:
    """The reporting service's one consumer, as its composition root declares it (no verifier needed)."""
    settings = ReportingSettings(service=schema, database_url=s.database_url, kafka_bootstrap=bootstrap)
    deps = ReportingDeps(settings=settings, pool=cast(asyncpg.Pool, pool), verifier=cast(Any, None))
    (spec,) = SPEC.consumers(deps)
    return spec


async def run_projections(s: Stack, bootstrap: str, total: int) -> tuple[Run, str]:
    """The reporting consumer over every event into a fresh schema; checked by stream_status and inbox."""
    schema = await reporting_schema(s)
    pool = await create_pool(s.database_url, schema=schema, min_size=1, max_size=10)
    spec = projection_spec(s, schema, bootstrap, pool)
    marks = Marks()
    done = asyncio.Event()

    async def committed(outcome: BatchOutcome) -> None:
        if outcome.dead_letters:
            raise RuntimeError(f"dead letters: {[(d.reason, d.detail) for d in outcome.dead_letters[:3]]}")
        marks.add(len(outcome.applied) + len(outcome.duplicates))
        if marks.total >= total:
            done.set()

    # As the runtime builds it (d07.platform.runtime.Process._consumers), plus the commit hook.
    runner = ConsumerRunner(
        pool=pool, bootstrap=bootstrap, group_id=f"{schema}.{spec.name}", consumer_name=spec.name,
        topics=list(spec.topics), handlers=spec.handlers, batch_handler=spec.batch_handler,
        decoder=spec.decoder, messages=list(spec.messages), batch_max=spec.batch_max,
        session_timeout_ms=SESSION_TIMEOUT_MS, on_committed=committed,
    )  # fmt: skip
    started = time.perf_counter()
    task = asyncio.create_task(runner.run())
    waiter = asyncio.create_task(done.wait())
    try:
        await asyncio.wait({task, waiter}, timeout=900, return_when=asyncio.FIRST_COMPLETED)
    finally:
        runner.stop()
        waiter.cancel()
        await task  # raises what made the runner fail
    try:
        applied = await pool.fetchval("SELECT coalesce(sum(events_applied), 0) FROM stream_status")
        inbox = await pool.fetchval("SELECT count(*) FROM inbox")
    finally:
        await pool.close()
    if marks.total != total or applied != total or inbox != total:
        raise RuntimeError(f"projections: {marks.total} committed, {applied} applied, {inbox} in the inbox "
                           f"of {total}")  # fmt: skip
    return Run(marks.result(PROJECTIONS, baseline=RAW_MANY), marks.batches[-1][0] - started), schema


async def run_raw(s: Stack, bootstrap: str, total: int, *, batch_max: int, per_row: bool) -> Run:
    """A bare consumer group over the same topics: decode, insert each event into a scratch table, commit."""
    schema = await s.schema("bench_rep_raw", SINK_DDL)
    pool = await create_pool(s.database_url, schema=schema, min_size=1, max_size=2)
    consumer = AIOKafkaConsumer(
        *proj.TOPICS, bootstrap_servers=bootstrap, group_id=unique("bench-raw"), enable_auto_commit=False,
        auto_offset_reset="earliest", session_timeout_ms=SESSION_TIMEOUT_MS,
        heartbeat_interval_ms=SESSION_TIMEOUT_MS // 3, max_poll_records=batch_max,
    )  # fmt: skip
    marks = Marks()
    started = time.perf_counter()
    await consumer.start()
    try:
        deadline = time.monotonic() + 600
        while marks.total < total and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500, max_records=batch_max)
            if not batches:
                continue
            rows = []
            for records in batches.values():
                for r in records:
                    headers = dict(r.headers)
                    kind = headers["ce_type"].decode()
                    REGISTRY[kind].FromString(r.value)
                    subject = headers["ce_subject"].decode()
                    rows.append((uuid.UUID(headers["ce_id"].decode()), r.topic, subject, kind, r.value))
            async with pool.acquire() as conn, conn.transaction():
                if per_row:
                    for row in rows:
                        await conn.execute(SINK_INSERT, *row)
                else:
                    await conn.executemany(SINK_INSERT, rows)
            await consumer.commit({tp: b[-1].offset + 1 for tp, b in batches.items()})
            marks.add(len(rows))
        stored = await pool.fetchval("SELECT count(*) FROM sink")
    finally:
        await consumer.stop()
        await pool.close()
    if stored != total:
        raise RuntimeError(f"raw consumer stored {stored} of {total}")
    return Run(marks.result(RAW_ROWS if per_row else RAW_MANY), marks.batches[-1][0] - started)


def median_run(runs: Sequence[Run]) -> Run:
    ordered = sorted(runs, key=lambda r: r.result.rate)
    return ordered[len(ordered) // 2]


# --- 2. the report's latency beside its ceilings ---------------------------------------------------------


@dataclass
class Latency:
    name: str
    seconds: list[float]

    def pct(self, p: float) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    @property
    def p50(self) -> float:
        return self.pct(0.50)

    @property
    def p99(self) -> float:
        return self.pct(0.99)


async def interleaved(calls: Sequence[tuple[str, Callable[[], Awaitable[object]]]]) -> list[Latency]:
    """WARM_UP calls of each, then CALLS rounds of one call of each in turn, one call at a time: a passing
    load on the machine falls on every measurement alike. The latency of each call."""
    for _, call in calls:
        for _ in range(WARM_UP):
            await call()
    measured = [Latency(name, []) for name, _ in calls]
    for _ in range(CALLS):
        for m, (_, call) in zip(measured, calls, strict=True):
            started = time.perf_counter()
            await call()
            m.seconds.append(time.perf_counter() - started)
    return measured


def check_report(reply: pb.GetReviewReportResponse, expected: Counter[str], scope: str) -> None:
    got = {f.name: f.value for f in reply.figures}
    wrong = {name: (got.get(name), expected[name]) for name in FIGURES if got.get(name) != expected[name]}
    if wrong:
        raise RuntimeError(f"the report ({scope or 'province'}) differs from the demo province's plan "
                           f"(figure: (reported, from the plan)): {wrong}")  # fmt: skip


@dataclass
class Servers:
    """The processes shared by every size: the two echo servers, and the token of a reader."""

    echo: str
    platform_echo: str
    token: str
    tmp: Path
    env: dict[str, str]


async def measure_report(
    s: Stack, servers: Servers, schema: str, bootstrap: str, prov: Province
) -> tuple[list[Latency], Exports]:
    pool = await create_pool(s.database_url, schema=schema, min_size=2, max_size=2)
    await pool.execute("ANALYZE")
    http_port, grpc_port = free_port(), free_port()
    env = dict(servers.env, D07_SERVICE=schema, D07_KAFKA_BOOTSTRAP=bootstrap, D07_HTTP_PORT=str(http_port),
               D07_GRPC_PORT=str(grpc_port), D07_INPROCESS_WORKERS="false")  # fmt: skip
    log = servers.tmp / f"reporting-size-{prov.size}.log"
    serve = start_process(["-m", "reporting", "serve"], env, log)
    current = period(FROM, TO)
    reader = Principal(subject="bench-police", roles=frozenset({POLICE}))
    meta = (("authorization", f"Bearer {servers.token}"),)
    try:
        wait_ready("reporting", f"http://127.0.0.1:{http_port}", serve, log)
        async with (
            grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel,
            grpc.aio.insecure_channel(servers.echo) as echo_channel,
            grpc.aio.insecure_channel(servers.platform_echo) as platform_channel,
            pool.acquire() as conn,
        ):
            stub = pb_grpc.ReportingServiceStub(channel)  # type: ignore[no-untyped-call]
            echo_call, platform_call = (
                ch.unary_unary(
                    ECHO_METHOD,
                    request_serializer=registry_pb2.GetUnitRequest.SerializeToString,
                    response_deserializer=registry_pb2.GetUnitRequest.FromString,
                )
                for ch in (echo_channel, platform_channel)
            )
            ping = registry_pb2.GetUnitRequest(id=str(uuid.uuid4()))
            requests = {
                scope: pb.GetReviewReportRequest(from_date=_day(FROM), to_date=_day(TO), district_code=scope)
                for scope in ("", DISTRICT)
            }
            for scope, request in requests.items():
                check_report(
                    await stub.GetReviewReport(request, metadata=meta, timeout=30),
                    prov.expected[scope],
                    scope,
                )

            def counts(scope: str) -> Callable[[], Awaitable[object]]:
                async def call() -> object:
                    return await repo.ReviewRepository(conn).counts(period=current, district=scope)

                return call

            def in_process(scope: str) -> Callable[[], Awaitable[object]]:
                async def call() -> object:
                    uow = ReviewUnitOfWork(pool, source="/d07/reporting")
                    return await review_report(uow, ReviewQuery(FROM, TO, scope), reader)

                return call

            def report(scope: str) -> Callable[[], Awaitable[object]]:
                async def call() -> object:
                    return await stub.GetReviewReport(requests[scope], metadata=meta, timeout=30)

                return call

            async def echo() -> object:
                return await echo_call(ping, metadata=meta, timeout=10)

            async def platform_echo() -> object:
                return await platform_call(ping, metadata=meta, timeout=10)

            async def select_one() -> object:
                return await conn.fetchval("SELECT 1")

            latencies = await interleaved(
                [
                    ("grpc.aio echo (raw)", echo),
                    ("echo on the platform's server (token, metrics, log)", platform_echo),
                    ("asyncpg SELECT 1 (raw)", select_one),
                    ("COUNTS of one period over asyncpg, province", counts("")),
                    (f"COUNTS of one period over asyncpg, district {DISTRICT}", counts(DISTRICT)),
                    ("review_report() in this process (all its SQL), province", in_process("")),
                    (
                        f"review_report() in this process (all its SQL), district {DISTRICT}",
                        in_process(DISTRICT),
                    ),
                    ("GetReviewReport, province", report("")),
                    (f"GetReviewReport, district {DISTRICT}", report(DISTRICT)),
                ]
            )
        return latencies, await measure_exports(http_port, servers.token, serve.pid)
    finally:
        stop_process(serve, timeout=20)
        await pool.close()


EXPORT_REPEATS = int(os.environ.get("D07_BENCH_REPORTING_EXPORT_REPEATS", "3"))


@dataclass
class Exports:
    """The documents' times (median seconds) and sizes (bytes) by format, "json" the report itself, and the
    serve process's peak resident memory (kB) before and after them."""

    seconds: dict[str, float]
    sizes: dict[str, int]
    peak_rss_before: int
    peak_rss_after: int


def peak_rss_kb(pid: int) -> int:
    """A process's peak resident set size (VmHWM), kB; 0 where /proc does not tell."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


async def measure_exports(http_port: int, token: str, pid: int) -> Exports:
    base = f"http://127.0.0.1:{http_port}/v1/reports/review"
    query = f"from={FROM.isoformat()}&to={TO.isoformat()}"
    urls = {
        "json": f"{base}?{query}",
        **{f: f"{base}/export?format={f}&{query}" for f in ("docx", "xlsx", "pdf")},
    }
    before = peak_rss_kb(pid)
    seconds: dict[str, float] = {}
    sizes: dict[str, int] = {}
    async with httpx.AsyncClient(headers={"authorization": f"Bearer {token}"}, timeout=600) as client:
        for fmt, url in urls.items():
            times = []
            for _ in range(EXPORT_REPEATS):
                started = time.perf_counter()
                size = 0
                async with client.stream("GET", url) as reply:
                    if reply.status_code != 200:
                        raise RuntimeError(
                            f"export {fmt}: {reply.status_code} {(await reply.aread())[:500]!r}"
                        )
                    async for block in reply.aiter_bytes():
                        size += len(block)
                times.append(time.perf_counter() - started)
            seconds[fmt], sizes[fmt] = statistics.median(times), size
    return Exports(seconds, sizes, before, peak_rss_kb(pid))


async def figure_profile(s: Stack, schema: str) -> list[tuple[str, float, float]]:
    """Each figure's records query alone, counted as COUNTS counts it: median ms, province and district."""
    pool = await create_pool(s.database_url, schema=schema, min_size=1, max_size=1)
    current = period(FROM, TO)
    out = []
    try:
        async with pool.acquire() as conn:
            for name in FIGURES:
                statement = f"WITH {repo.PARAMS} SELECT count(*) FROM ({repo.RECORDS[name]}) s"
                times = []
                for scope in ("", DISTRICT):
                    runs = []
                    for _ in range(7):
                        started = time.perf_counter()
                        await conn.fetchval(statement, current.start, current.end, scope, *current.years)
                        runs.append(time.perf_counter() - started)
                    times.append(statistics.median(runs) * 1000)
                out.append((name, times[0], times[1]))
    finally:
        await pool.close()
    return out


# --- the run -------------------------------------------------------------------------------------------


@dataclass
class SizeResult:
    size: int
    events: int
    raw: Run
    projections: Run
    latencies: list[Latency]
    exports: Exports


async def one_size(s: Stack, servers: Servers, size: int, last: bool) -> SizeResult:
    prov = province(size)
    total = len(prov.events)
    broker = Broker(log_path=servers.tmp / f"broker-size-{size}.log").start()
    try:
        publishing = await publish(s, broker.bootstrap, prov)
        print(f"\nsize {size}: {total} events on {len(proj.TOPICS)} topics, written to an outbox and "
              f"published by the OutboxRelay in {publishing:.2f} s (not measured)", flush=True)  # fmt: skip
        many: list[Run] = []
        rows: list[Run] = []
        runs: list[Run] = []
        schema = ""
        batch_max = projection_spec(s, SPEC.name, broker.bootstrap).batch_max
        for _ in range(REPEATS):
            many.append(await run_raw(s, broker.bootstrap, total, batch_max=batch_max, per_row=False))
            rows.append(await run_raw(s, broker.bootstrap, total, batch_max=batch_max, per_row=True))
            run, schema = await run_projections(s, broker.bootstrap, total)
            runs.append(run)
        raw, per_row, projected = median_run(many), median_run(rows), median_run(runs)
        per_row.result.baseline = RAW_MANY
        print_table(
            f"size {size}: {total} events, batches of up to {batch_max}, "
            f"median of {REPEATS} runs; rates leave out the first batch (the group join)",
            [raw.result, per_row.result, projected.result],
        )
        print(f"  vs one INSERT per event: {projected.result.rate / per_row.result.rate:.2f}x;  from start "
              f"(group join included): raw {raw.from_start:.2f} s, per event {per_row.from_start:.2f} s, "
              f"projections {projected.from_start:.2f} s")  # fmt: skip
        latencies, exports = await measure_report(s, servers, schema, broker.bootstrap, prov)
    finally:
        broker.stop()
    print(f"\nsize {size}: {CALLS} calls of each, one at a time, taking turns (after {WARM_UP} each to warm "
          f"up); period {FROM}..{TO} beside the previous one; every figure checked first")  # fmt: skip
    width = max(len(m.name) for m in latencies)
    for m in latencies:
        print(
            f"  {m.name:<{width}}  p50 {m.p50:8.2f} ms   p99 {m.p99:8.2f} ms"
            f"   max {max(m.seconds) * 1000:8.2f} ms"
        )
    print(f"\nsize {size}: the review report's documents over HTTP, median of {EXPORT_REPEATS} (the same "
          "serve process, right after the calls above)")  # fmt: skip
    for fmt in ("json", "docx", "xlsx", "pdf"):
        print(f"  {fmt:<5} {exports.seconds[fmt] * 1000:9.1f} ms  {exports.sizes[fmt]:>10,} bytes")
    print(f"  serve process peak RSS: {exports.peak_rss_before / 1024:.1f} MiB before the exports, "
          f"{exports.peak_rss_after / 1024:.1f} MiB after")  # fmt: skip
    if last:
        profile = await figure_profile(s, schema)
        print(
            f"\nsize {size}: each figure's query alone (median of 7, ms; the report runs all of them twice)"
        )
        for name, province_ms, district_ms in sorted(profile, key=lambda x: -x[1]):
            print(f"  {name:<30} province {province_ms:7.2f}   district {district_ms:7.2f}")
    print(flush=True)
    return SizeResult(size, total, raw, projected, latencies, exports)


def summary(results: Sequence[SizeResult]) -> None:
    print(
        "\nreporting: summary (goal: GetReviewReport p99 < 200 ms at 10x, projections >= 40 % of the raw"
        " rate)"
    )
    print(f"  {'size':>4}  {'events':>7}  {'raw ev/s':>9}  {'proj ev/s':>9}  {'ratio':>6}  "
          f"{'report p50/p99 province':>24}  {'report p50/p99 district':>24}")  # fmt: skip
    for r in results:
        province_m, district_m = r.latencies[-2], r.latencies[-1]
        ratio = r.projections.result.rate / r.raw.result.rate
        print(
            f"  {r.size:>4}  {r.events:>7}  {r.raw.result.rate:>9,.0f}  {r.projections.result.rate:>9,.0f}  "
            f"{ratio:>5.0%}  {province_m.p50:>10.1f} / {province_m.p99:>7.1f} ms  "
            f"{district_m.p50:>10.1f} / {district_m.p99:>7.1f} ms"
        )
    print(f"  {'size':>4}  {'JSON report':>11}  {'DOCX':>9}  {'XLSX':>9}  {'PDF':>9}  {'XLSX bytes':>11}  "
          f"{'peak RSS before / after exports':>32}")  # fmt: skip
    for r in results:
        e = r.exports
        print(
            f"  {r.size:>4}  {e.seconds['json'] * 1000:>8.1f} ms  {e.seconds['docx'] * 1000:>6.0f} ms  "
            f"{e.seconds['xlsx'] * 1000:>6.0f} ms  {e.seconds['pdf'] * 1000:>6.0f} ms  "
            f"{e.sizes['xlsx']:>11,}  "
            f"{e.peak_rss_before / 1024:>14.1f} / {e.peak_rss_after / 1024:.1f} MiB"
        )
    big = max(results, key=lambda r: r.size)
    p99 = max(big.latencies[-2].p99, big.latencies[-1].p99)
    ratios = [r.projections.result.rate / r.raw.result.rate for r in results]
    print(f"  at size {big.size}: report p99 {p99:.1f} ms ({'met' if p99 < GOAL_P99_MS else 'MISSED'}); "
          f"projections at {min(ratios):.0%} of the raw rate at worst "
          f"({'met' if min(ratios) >= GOAL_RATIO else 'MISSED'})")  # fmt: skip
    print(flush=True)


async def main() -> None:
    async with stack() as s:
        tmp = Path(tempfile.mkdtemp(prefix="bench-reporting-", dir=ROOT / ".run"))
        key_path, jwks_path = ensure_dev_keys(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("D07_")}
        env.update(D07_ENV="dev", D07_DATABASE_URL=s.database_url, D07_JWKS_FILE=str(jwks_path))
        echo_port, platform_port = free_port(), free_port()
        echo = start_process(["-m", "bench.registry", "echo", str(echo_port)], env, tmp / "echo.log")
        platform_echo = start_process(
            ["-m", "bench.registry", "echo", str(platform_port), str(jwks_path)],
            env,
            tmp / "platform-echo.log",
        )
        try:
            wait_for_port("127.0.0.1", echo_port, proc=echo)
            wait_for_port("127.0.0.1", platform_port, proc=platform_echo)
            servers = Servers(
                echo=f"127.0.0.1:{echo_port}",
                platform_echo=f"127.0.0.1:{platform_port}",
                token=issue_token(key_path.read_bytes(), roles=[POLICE], subject="bench-police"),
                tmp=tmp,
                env=env,
            )
            results = [await one_size(s, servers, size, size == max(SIZES)) for size in SIZES]
        finally:
            stop_process(echo)
            stop_process(platform_echo)
            shutil.rmtree(tmp, ignore_errors=True)
        summary(results)
