"""The review report and the projections behind it, for the demo province and one ten times larger,
measured beside the raw building blocks in the same run.

The province is synthesised here as the other services' events (no generator, no other service runs): at size
1, for the period 2014-08-15..2019-08-29, 346 units in 8 districts (001..008), 1.730 finalised assessments (5
rounds, 2014..2018, 1.454 passed), 61 movement models (12 in units, 49 in communities), 26 training classes
with 1.502 attendances (of 1.700 guards), 3.200 cameras (planned 2018-2019, 2.400 installed 2020-2025) and
their installation plan, 300 violations (2026) and 42 awards; size k has k times as many of each (the
districts stay 8, so one district holds an eighth of everything). The events are the real protobuf
messages, written with the platform's outbox (`outbox.add_many` / `outbox.add`, CloudEvents headers by
`make_headers`) and published by its `OutboxRelay` onto the real topics of a broker of their own (a fresh
private Tansu per size: the topic names are fixed, so a shared broker would mix sizes), keyed as the
services key them.

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
   checked figure by figure against what was synthesised.
At the largest size the time of each figure's query alone is printed (where the COUNTS time goes).

D07_BENCH_REPORTING_SIZES (default "1,10") and D07_BENCH_REPORTING_REPEATS (3) change the run; the database
is bench.common's (D07_BENCH_DATABASE_URL or a private one), the broker never a shared one.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
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

from bench.common import ROOT, Result, Stack, print_table, stack, unique
from bench.events import Marks
from bench.registry import ECHO_METHOD
from bench.registry import start as start_process
from d07.assessment.v1 import assessment_pb2
from d07.awards.v1 import awards_pb2
from d07.cameras.v1 import cameras_pb2, violation_events_pb2
from d07.common.v1 import common_pb2
from d07.platform.auth import POLICE, Principal, ensure_dev_keys, issue_token
from d07.platform.db import all_migrations, create_pool, migrate
from d07.platform.devstack.broker import Broker
from d07.platform.devstack.procs import free_port, stop_process, wait_for_port
from d07.platform.events import BatchOutcome, ConsumerRunner, OutboxRelay, message_registry, outbox
from d07.platform.events.outbox import RoundResult
from d07.platform.runtime import ConsumerSpec, Deps
from d07.registry.v1 import models_pb2, registry_pb2, training_pb2
from d07.reporting.v1 import reporting_pb2 as pb
from d07.reporting.v1 import reporting_pb2_grpc as pb_grpc
from reporting.adapters import review_repository as repo
from reporting.bootstrap import MIGRATIONS, SPEC
from reporting.config import ReportingSettings
from reporting.domain.review import FIGURES, period
from reporting.service import projections as proj
from reporting.service.review import review_report

SIZES = tuple(int(s) for s in os.environ.get("D07_BENCH_REPORTING_SIZES", "1,10").split(","))
REPEATS = int(os.environ.get("D07_BENCH_REPORTING_REPEATS", "3"))
CALLS = 200
WARM_UP = 20
SESSION_TIMEOUT_MS = 6000  # as the tests run the services: Tansu holds each group join for half of it
GOAL_P99_MS = 200.0
GOAL_RATIO = 0.40

FROM, TO = date(2014, 8, 15), date(2019, 8, 29)
DISTRICTS = tuple(f"{i:03d}" for i in range(1, 9))
DISTRICT = "003"
VN = ZoneInfo("Asia/Ho_Chi_Minh")

# The demo province at size 1.
UNITS = 346
ROUND_YEARS = tuple(range(2014, 2019))
PASSED = 1454
UNIT_MODELS, COMMUNITY_MODELS = 12, 49
CLASSES, ATTENDANCES, GUARDS = 26, 1502, 1700
CAMERAS, INSTALLED = 3200, 2400
VIOLATIONS = 300
AWARDS = 42

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

UNIT_KIND_CYCLE = (
    registry_pb2.UNIT_KIND_AGENCY,
    registry_pb2.UNIT_KIND_ENTERPRISE,
    registry_pb2.UNIT_KIND_SCHOOL,
)
UNIT_NAMES = {
    1: ("UBND xã", "Chi cục Thuế huyện", "Kho bạc Nhà nước huyện", "Bệnh viện Đa khoa huyện"),
    2: ("Công ty TNHH May mặc", "Công ty Cổ phần Thủy sản", "Nhà máy Gạch Tuynel", "Công ty Điện lực"),
    3: ("Trường THPT", "Trường THCS", "Trường Tiểu học", "Trường Mầm non"),
}
PLACES = ("Hùng Vương", "Lê Quý Đôn", "Chu Văn An", "Nguyễn Trãi", "Trần Phú", "Võ Thị Sáu", "Đống Đa")
FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ")
GIVEN = ("Văn Hùng", "Thị Lan", "Minh Tuấn", "Thị Hoa", "Quốc Bảo", "Đức Thắng", "Thị Hằng", "Văn Đức")
KINDS = ("intrusion", "loitering", "fire_smoke", "crowd", "vandalism", "traffic", "other")


# --- the province as events ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Out:
    """One event to publish: its topic, Kafka key, CloudEvents subject and message."""

    topic: str
    key: str
    subject: str
    message: Message


@dataclass
class Province:
    size: int
    events: list[Out] = field(default_factory=list)
    # What the report of FROM..TO must say: the province ("") and DISTRICT.
    expected: dict[str, Counter[str]] = field(default_factory=lambda: {"": Counter(), DISTRICT: Counter()})

    def emit(self, topic: str, key: str, message: Message, subject: str | None = None) -> None:
        self.events.append(Out(topic, key, key if subject is None else subject, message))

    def count(self, figure: str, district: str, amount: int = 1) -> None:
        self.expected[""][figure] += amount
        if district == DISTRICT:
            self.expected[DISTRICT][figure] += amount


def _day(d: date) -> common_pb2.Date:
    return common_pb2.Date(year=d.year, month=d.month, day=d.day)


def _ts(moment: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(moment.astimezone(UTC))
    return ts


def _in_period(d: date) -> bool:
    return FROM <= d <= TO


def province(size: int) -> Province:
    """The events of a province of `size` times the demo province, and the figures its report must show."""
    rng = random.Random(20140815 + size)
    p = Province(size)

    def new_id() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def between(first: date, last: date) -> date:
        return first + timedelta(days=rng.randrange((last - first).days + 1))

    def person() -> str:
        return f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}"

    units: list[registry_pb2.Unit] = []
    for i in range(UNITS * size):
        kind = UNIT_KIND_CYCLE[i % 3]
        district = DISTRICTS[i % len(DISTRICTS)]
        unit = registry_pb2.Unit(
            id=new_id(), code=f"DV-{i + 1:05d}", kind=kind, district_code=district,
            name=f"{rng.choice(UNIT_NAMES[kind])} {rng.choice(PLACES)} số {i + 1}",
            commune_code=f"{district}{rng.randrange(1, 13):02d}", status=registry_pb2.UNIT_STATUS_ACTIVE,
            address=f"Số {i + 1} đường Trần Hưng Đạo", version=1,
            created_at=_ts(datetime(2014, 1, 6, tzinfo=VN)),
        )  # fmt: skip
        units.append(unit)
        p.emit(proj.UNITS_TOPIC, unit.id, registry_pb2.UnitCreated(unit=unit, actor=ACTOR))

    passed = set(rng.sample(range(len(units) * len(ROUND_YEARS)), PASSED * size))
    for r, year in enumerate(ROUND_YEARS):
        round_id = new_id()
        for j, unit in enumerate(units):
            ok = r * len(units) + j in passed
            result = (
                assessment_pb2.ASSESSMENT_RESULT_PASSED if ok else assessment_pb2.ASSESSMENT_RESULT_FAILED
            )
            a = assessment_pb2.Assessment(
                id=new_id(), round_id=round_id, unit_id=unit.id, unit_code=unit.code, unit_name=unit.name,
                year=year, unit_kind=proj.UNIT_KINDS[unit.kind], district_code=unit.district_code,
                criteria_set_code="TT124-2021", criteria_set_version=1,
                status=assessment_pb2.ASSESSMENT_STATUS_FINALISED,
                result=result,
                score=100.0 if ok else 87.5, unmet_criteria=[] if ok else ["TC2"], revision=1, version=4,
                finalised_at=_ts(datetime(year, 12, 15, 9, tzinfo=VN)), finalised_by="bench-police",
            )  # fmt: skip
            # The assessment service keys its events by unit id, the subject is the assessment.
            message = assessment_pb2.AssessmentFinalised(assessment=a, actor=ACTOR)
            p.emit(proj.ASSESSMENTS_TOPIC, unit.id, message, subject=a.id)
            if FROM.year <= year <= TO.year:
                p.count("assessments.total", unit.district_code)
                if ok:
                    p.count("assessments.passed", unit.district_code)

    for i in range((UNIT_MODELS + COMMUNITY_MODELS) * size):
        formed = between(FROM, TO)
        model = models_pb2.Model(
            id=new_id(), kind="to_tu_quan", kind_label="Tổ tự quản về an ninh trật tự",
            formation=models_pb2.MODEL_FORMATION_BUILT, formed_on=_day(formed),
            status=models_pb2.MODEL_STATUS_EFFECTIVE, version=1,
        )  # fmt: skip
        if i < UNIT_MODELS * size:
            owner = rng.choice(units)
            model.unit.unit_id = owner.id
            model.host_name, model.district_code = owner.name, owner.district_code
            model.name = f"Mô hình “Cơ quan an toàn về an ninh trật tự” {owner.name}"
        else:
            model.district_code = rng.choice(DISTRICTS)
            model.community.commune_code = f"{model.district_code}{rng.randrange(1, 13):02d}"
            model.community.residential_area = f"Tổ dân phố số {rng.randrange(1, 20)}"
            model.host_name = model.community.residential_area
            model.name = f"Mô hình “Camera an ninh” {model.host_name}, xã {model.community.commune_code}"
        p.emit(proj.MODELS_TOPIC, model.id, models_pb2.ModelCreated(model=model, actor=ACTOR))
        if _in_period(formed):
            p.count("models.total", model.district_code)
            host_type = "in_units" if i < UNIT_MODELS * size else "in_communities"
            p.count(f"models.{host_type}", model.district_code)

    classes: list[training_pb2.TrainingClass] = []
    for i in range(CLASSES * size):
        starts = between(FROM, TO - timedelta(days=4))
        title = f"Lớp bồi dưỡng nghiệp vụ bảo vệ cơ quan, doanh nghiệp năm {starts.year} (lớp {i + 1})"
        c = training_pb2.TrainingClass(
            id=new_id(), title=title,
            organiser="Phòng Cảnh sát quản lý hành chính về trật tự xã hội - Công an tỉnh",
            starts_on=_day(starts), ends_on=_day(starts + timedelta(days=4)), place="Hội trường Công an tỉnh",
            capacity=80, district_code=DISTRICTS[i % len(DISTRICTS)], status=training_pb2.CLASS_STATUS_HELD,
            version=2,
        )  # fmt: skip
        classes.append(c)
        p.emit(proj.TRAINING_TOPIC, c.id, training_pb2.ClassScheduled(training_class=c, actor=ACTOR))
        p.count("training.classes", c.district_code)
    guards = [(new_id(), person(), rng.choice(units).id) for _ in range(GUARDS * size)]
    rng.shuffle(guards)
    for j in range(ATTENDANCES * size):
        c = classes[j % len(classes)]
        guard_id, name, unit_id = guards[j]
        att = training_pb2.Attendance(
            id=new_id(), class_id=c.id, guard_id=guard_id, unit_id=unit_id, guard_full_name=name,
            outcome=training_pb2.ATTENDANCE_OUTCOME_COMPLETED, result="Đạt loại khá", version=2,
        )  # fmt: skip
        # The registry keys attendances by class id (one class's events in order).
        p.emit(proj.TRAINING_TOPIC, c.id, training_pb2.AttendanceEnrolled(attendance=att, actor=ACTOR))
        p.count("training.attendances", c.district_code)

    installed_at = set(rng.sample(range(CAMERAS * size), INSTALLED * size))
    installed: list[cameras_pb2.Camera] = []
    for i in range(CAMERAS * size):
        host: registry_pb2.Unit | None = rng.choice(units) if rng.random() < 0.75 else None
        district = host.district_code if host is not None else rng.choice(DISTRICTS)
        planned = between(date(2018, 1, 1), date(2019, 12, 31))
        cam = cameras_pb2.Camera(
            id=new_id(), code=f"CAM-{i + 1:05d}", unit_id=host.id if host is not None else "",
            name=f"Camera cổng {host.name}" if host is not None else f"Camera ngã tư {rng.choice(PLACES)}",
            latitude=13.7 + rng.random() / 2, longitude=109.0 + rng.random() / 2, address="Tỉnh Bình Định",
            status=cameras_pb2.CAMERA_STATUS_PLANNED, version=1, district_code=district,
            commune_code=f"{district}{rng.randrange(1, 13):02d}", agency="Công an tỉnh",
            planned_on=_day(planned),
        )  # fmt: skip
        if i in installed_at:
            on = between(date(2020, 1, 1), date(2025, 12, 31))
            cam.status, cam.version = cameras_pb2.CAMERA_STATUS_INSTALLED, 2
            cam.installed_on.CopyFrom(_day(on))
            installed.append(cam)
            if _in_period(on):
                p.count("cameras.installed", district)
        p.emit(proj.CAMERAS_TOPIC, cam.id, cameras_pb2.CameraRegistered(camera=cam, actor=ACTOR))
        if _in_period(planned):
            p.count("cameras.planned", district)

    plan = cameras_pb2.InstallationPlan(
        id=new_id(), name="Đề án lắp đặt camera an ninh 2018-2025", target=CAMERAS * size,
        starts_on=_day(date(2018, 1, 1)), deadline=_day(date(2025, 12, 31)), version=1,
        district_targets=[cameras_pb2.DistrictTarget(district_code=d, target=CAMERAS * size // len(DISTRICTS))
                          for d in DISTRICTS],
        created_at=_ts(datetime(2018, 1, 2, 8, tzinfo=VN)),
    )  # fmt: skip
    p.emit(proj.PLANS_TOPIC, plan.id, cameras_pb2.InstallationPlanSet(plan=plan, actor=ACTOR))

    for _ in range(VIOLATIONS * size):
        cam = rng.choice(installed)
        opened = datetime(2026, 1, 1, tzinfo=VN) + timedelta(seconds=rng.randrange(180 * 86400))
        roll = rng.random()
        status = (violation_events_pb2.VIOLATION_STATUS_RESOLVED if roll < 0.6
                  else violation_events_pb2.VIOLATION_STATUS_DISMISSED if roll < 0.7
                  else violation_events_pb2.VIOLATION_STATUS_NEW)  # fmt: skip
        v = violation_events_pb2.Violation(
            id=new_id(), camera_id=cam.id, camera_code=cam.code, unit_id=cam.unit_id, kind=rng.choice(KINDS),
            priority=violation_events_pb2.VIOLATION_PRIORITY_HIGH, status=status, opened_at=_ts(opened),
            first_seen_at=_ts(opened), last_seen_at=_ts(opened), detection_count=rng.randrange(1, 6),
            max_confidence=0.9, react_by=_ts(opened + timedelta(hours=2)), version=1,
        )  # fmt: skip
        closed = opened + timedelta(hours=rng.randrange(1, 48))
        if status != violation_events_pb2.VIOLATION_STATUS_NEW:
            v.closed_at.CopyFrom(_ts(closed))
        overdue = rng.random() < 0.1
        if overdue:
            v.overdue_at.CopyFrom(_ts(opened + timedelta(hours=2)))
        p.emit(proj.VIOLATIONS_TOPIC, v.id, violation_events_pb2.ViolationOpened(violation=v))
        district = cam.district_code
        if _in_period(opened.astimezone(VN).date()):
            p.count("violations.opened", district)
            p.count("violations.detections", district, v.detection_count)
            if overdue:
                p.count("violations.overdue", district)
        if status != violation_events_pb2.VIOLATION_STATUS_NEW and _in_period(closed.astimezone(VN).date()):
            resolved = status == violation_events_pb2.VIOLATION_STATUS_RESOLVED
            p.count("violations.resolved" if resolved else "violations.dismissed", district)

    award_rounds = {year: new_id() for year in range(2015, 2020)}
    for _ in range(AWARDS * size):
        decided = between(date(2015, 1, 1), TO)
        form = rng.choice(("merit", "commendation"))
        recipient = rng.choice(("collective", "individual"))
        unit = rng.choice(units)
        award = awards_pb2.Award(
            id=new_id(), nomination_id=new_id(), round_id=award_rounds[decided.year], form_code=form,
            recipient_kind=recipient, unit_id=unit.id,
            person_name=person() if recipient == "individual" else "", decided_on=_day(decided),
            decision_number=f"{rng.randrange(100, 3000)}/QĐ-UBND", signer="Chủ tịch UBND tỉnh",
            issuer="UBND tỉnh", status="decided",
        )  # fmt: skip
        p.emit(proj.AWARDS_TOPIC, award.id, awards_pb2.AwardDecided(award=award, actor=ACTOR))
        if _in_period(decided):
            p.count(f"awards.{form}.{recipient}", unit.district_code)
    return p


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
    deps = Deps(settings=settings, pool=cast(asyncpg.Pool, pool), verifier=cast(Any, None))
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


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"reporting exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"reporting was not ready:\n{log.read_text()[-3000:]}")


def check_report(reply: pb.GetReviewReportResponse, expected: Counter[str], scope: str) -> None:
    got = {f.name: f.value for f in reply.figures}
    wrong = {name: (got.get(name), expected[name]) for name in FIGURES if got.get(name) != expected[name]}
    if wrong:
        raise RuntimeError(f"the report ({scope or 'province'}) differs from the synthesised province "
                           f"(figure: (reported, synthesised)): {wrong}")  # fmt: skip


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
) -> list[Latency]:
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
        wait_ready(f"http://127.0.0.1:{http_port}", serve, log)
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
                    return await repo.counts(conn, period=current, district=scope)

                return call

            def in_process(scope: str) -> Callable[[], Awaitable[object]]:
                async def call() -> object:
                    return await review_report(
                        pool, start=FROM, end=TO, district_code=scope, principal=reader
                    )

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

            return await interleaved(
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
    finally:
        stop_process(serve, timeout=20)
        await pool.close()


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
        latencies = await measure_report(s, servers, schema, broker.bootstrap, prov)
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
    if last:
        profile = await figure_profile(s, schema)
        print(
            f"\nsize {size}: each figure's query alone (median of 7, ms; the report runs all of them twice)"
        )
        for name, province_ms, district_ms in sorted(profile, key=lambda x: -x[1]):
            print(f"  {name:<30} province {province_ms:7.2f}   district {district_ms:7.2f}")
    print(flush=True)
    return SizeResult(size, total, raw, projected, latencies)


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
