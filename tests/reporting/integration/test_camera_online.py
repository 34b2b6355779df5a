"""Camera online time in the review report, on the real PostgreSQL: the projections' batch handler applied to
the cameras' real event messages (in order, replayed, and split the way a rebuild beside the live consumer
splits them; an event a batch, and many a batch) into a schema of its own, then the report's figures and rates
read by the service. Precise times, no broker: the rules of clipping, installation and the moment of
`cameras.online`; test_camera_health_report.py drives the same through the cameras service's heartbeats.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from d07.cameras.v1 import cameras_pb2
from d07.common.v1 import common_pb2
from d07.platform.auth import Principal
from d07.platform.events.envelope import ConsumedEvent, type_name
from reporting.bootstrap import SPEC
from reporting.projections.events import CAMERAS_TOPIC
from reporting.projections.service import project
from reporting.review.domain import ReviewReport
from reporting.review.service import (
    RecordsQuery,
    ReviewQuery,
    ReviewUnitOfWork,
    figure_records,
    review_report,
)
from tests.reporting.integration.projection_support import reporting_schema

VN = ZoneInfo("Asia/Ho_Chi_Minh")  # +08:00 in 1962: the tz database's history, the same on both sides
P = (date(1962, 3, 5), date(1962, 3, 11))  # previous: 1962-02-26 .. 1962-03-04
READER = Principal(subject="test-auditor", roles=frozenset({"auditor"}))


def vn(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(1962, 3, day, hour, minute, tzinfo=VN)


def ts(at: datetime) -> Timestamp:
    out = Timestamp()
    out.FromDatetime(at.astimezone(UTC))
    return out


def pb_day(d: date | None) -> common_pb2.Date | None:
    return common_pb2.Date(year=d.year, month=d.month, day=d.day) if d else None


def event(key: str, message: Message) -> ConsumedEvent:
    return ConsumedEvent(
        id=uuid.uuid4(), type=type_name(message), source="/d07/cameras", subject=key,
        time=datetime.now(UTC), topic=CAMERAS_TOPIC, partition=0, offset=0, key=key.encode(), headers={},
        value=message.SerializeToString(), message=message,
    )  # fmt: skip


class Cam:
    """One camera and its events, in the order the cameras service publishes them."""

    def __init__(self, code: str, district: str, installed_on: date) -> None:
        self.id, self.code, self.district, self.installed_on = str(uuid.uuid4()), code, district, installed_on
        self.events: list[ConsumedEvent] = [self._state(cameras_pb2.CAMERA_STATUS_INSTALLED, 1, None, None)]
        self.last_seen: datetime | None = None

    def _state(self, status: int, version: int, off: date | None, seen: datetime | None) -> ConsumedEvent:
        camera = cameras_pb2.Camera(
            id=self.id, code=self.code, name=f"Camera {self.code}", status=status, version=version,
            district_code=self.district, installed_on=pb_day(self.installed_on),
            decommissioned_on=pb_day(off), last_seen_at=ts(seen) if seen else None,
        )  # fmt: skip
        kind = cameras_pb2.CameraRegistered if version == 1 else cameras_pb2.CameraUpdated
        return event(self.id, kind(camera=camera))

    def online(self, start: datetime, end: datetime) -> Cam:
        """Online from `start`, silent after `end`: CameraCameOnline, CameraWentOffline."""
        came = cameras_pb2.CameraCameOnline(camera_id=self.id, at=ts(start))
        went = cameras_pb2.CameraWentOffline(camera_id=self.id, last_seen_at=ts(end))
        self.events += [event(self.id, came), event(self.id, went)]
        self.last_seen = end
        return self

    def decommissioned(self, on: date) -> Cam:
        self.events.append(self._state(cameras_pb2.CAMERA_STATUS_DECOMMISSIONED, 2, on, self.last_seen))
        return self


def the_cameras() -> list[Cam]:
    return [
        # Online twice in the period, the second time across its end: online at the end of the period.
        Cam("H1", "008", date(1961, 1, 1)).online(vn(6, 8), vn(6, 18)).online(vn(11, 21, 40), vn(12, 1)),
        # Online across the start: 3 h 20 min in each period; online at the end of the previous one.
        Cam("H3", "008", date(1958, 1, 1)).online(vn(4, 20, 40), vn(5, 3, 20)),
        # Installed on 03-08: its 2 h online before that count as online time, not in the uptime.
        Cam("H2", "008", date(1962, 3, 8)).online(vn(7, 10), vn(7, 12)).online(vn(9, 10), vn(9, 16)),
        # Installed after the period: in no uptime.
        Cam("H4", "008", date(1966, 1, 1)),
        # Decommissioned on 03-10: not installed at the end of the period, still at the end of the previous.
        Cam("H5", "008", date(1959, 1, 1)).online(vn(7, 10), vn(7, 12)).decommissioned(date(1962, 3, 10)),
        # Another district: 2 h, and 3 times 1 h.
        Cam("H6", "006", date(1960, 1, 1)).online(vn(6, 10), vn(6, 12)),
        Cam("H8", "006", date(1960, 1, 1))
        .online(vn(8, 10), vn(8, 11))
        .online(vn(8, 12), vn(8, 13))
        .online(vn(8, 14), vn(8, 15)),
    ]


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    async for p in reporting_schema(database_url):
        yield p


async def apply(pool: asyncpg.Pool, events: Sequence[ConsumedEvent], batch: int = 1) -> None:
    """The events through the batch handler, `batch` of them a transaction (no inbox: the projections' own
    guards only)."""
    async with pool.acquire() as conn:
        for start in range(0, len(events), batch):
            async with conn.transaction():
                await project(conn, events[start : start + batch])


def in_order(cams: Sequence[Cam]) -> list[ConsumedEvent]:
    return [e for c in cams for e in c.events]


async def report(pool: asyncpg.Pool, start: date, end: date, district: str = "008") -> ReviewReport:
    return await review_report(
        ReviewUnitOfWork(pool, source="/d07/test"), ReviewQuery(start, end, district), READER
    )


def figures(r: ReviewReport) -> dict[str, tuple[int, int]]:
    return {f.name: (f.value, f.previous) for f in r.figures if f.name.startswith("cameras.online")}


def rates(r: ReviewReport) -> dict[str, tuple[float | None, float | None]]:
    return {x.name: (x.value, x.previous) for x in r.rates}


async def drill(pool: asyncpg.Pool, figure: str, start: date, end: date) -> dict[str, float | None]:
    found = await figure_records(
        ReviewUnitOfWork(pool, source="/d07/test"),
        RecordsQuery(figure, start, end, district_code="008"),
        READER,
    )
    return {r.label.split()[0]: r.quantity for r in found.records}


async def intervals(pool: asyncpg.Pool) -> list[tuple[object, ...]]:
    rows = await pool.fetch(
        """SELECT c.code, i.online_from, i.online_until, i.opened_by IS NOT NULL AS opened
             FROM camera_online i JOIN cameras c USING (camera_id) ORDER BY 1, 2"""
    )
    return [tuple(r) for r in rows]


async def test_online_time_is_clipped_to_the_period_and_uptime_counts_cameras_from_their_installation(
    pool: asyncpg.Pool,
) -> None:
    await apply(pool, in_order(the_cameras()))
    r = await report(pool, *P)
    # 10 h + 2 h 20 + 3 h 20 + 2 h + 6 h + 2 h = 25 h 40 min; the previous period 3 h 20 min.
    assert figures(r) == {"cameras.online": (1, 1), "cameras.online_hours": (25, 3)}
    assert next(f.unit for f in r.figures if f.name == "cameras.online_hours") == "hours"
    assert next(f.unit for f in r.figures if f.name == "cameras.online") is None
    # Installed at the end: H1 and H3 for 7 days, H2 for 4 (18 days); online then 12 h 20 + 3 h 20 + 6 h.
    # Before: H1, H3 and H5 for 7 days; online 3 h 20 (H3).
    assert rates(r) == {
        "cameras.uptime": (round(78000 / (18 * 86400), 4), round(12000 / (21 * 86400), 4)),
        "violations.per_camera_online_hour": (0.0, 0.0),
    }
    assert rates(r)["cameras.uptime"] == (0.0502, 0.0066)
    # A quantity's drill-down: the cameras that contribute, with their hours; a count's: exactly its records.
    assert await drill(pool, "cameras.online_hours", *P) == {"H1": 12.33, "H2": 8.0, "H3": 3.33, "H5": 2.0}
    assert await drill(pool, "cameras.online", *P) == {"H1": None}
    assert await drill(pool, "cameras.online", r.previous.start, r.previous.end) == {"H3": None}

    province = await report(pool, *P, district="")
    assert figures(province) == {"cameras.online": (1, 1), "cameras.online_hours": (30, 3)}
    # One day at the end: H1 came online at 21:40 and is online at midnight.
    last_day = await report(pool, date(1962, 3, 11), date(1962, 3, 11))
    assert figures(last_day) == {"cameras.online": (1, 0), "cameras.online_hours": (2, 0)}
    assert rates(last_day)["cameras.uptime"] == (round(8400 / (3 * 86400), 4), round(0 / (3 * 86400), 4))
    # A period before anything was installed: no uptime.
    empty = await report(pool, date(1950, 1, 1), date(1950, 1, 31))
    assert rates(empty) == {
        "cameras.uptime": (None, None),
        "violations.per_camera_online_hour": (None, None),
    }


async def test_replayed_health_events_change_nothing(pool: asyncpg.Pool) -> None:
    events = in_order(the_cameras())
    await apply(pool, events)
    before, rows = await report(pool, *P), await intervals(pool)
    await apply(pool, events)  # every event again, past the inbox: the time guards hold
    assert await intervals(pool) == rows
    assert (await report(pool, *P)).figures == before.figures


async def test_a_later_part_applied_before_an_earlier_one_gives_the_same_intervals(
    pool: asyncpg.Pool,
) -> None:
    """A rebuild beside the live consumer: the live consumer applies the events after some point (once the
    tables are emptied), the replay the ones before it, then meets the later ones again. Every split point of
    each camera's events gives the same intervals as the events in order."""
    cams = the_cameras()
    await apply(pool, in_order(cams))
    expected, expected_report = await intervals(pool), (await report(pool, *P)).figures
    for cam in cams:
        for k in range(1, len(cam.events)):
            for again in (False, True):
                for batch in (1, 100):  # an event a transaction, or each part in one batch
                    await pool.execute("TRUNCATE camera_online, cameras, stream_status")
                    others = [e for c in cams if c is not cam for e in c.events]
                    await apply(pool, others, batch)
                    await apply(pool, cam.events[k:], batch)
                    await apply(pool, cam.events[:k] + (cam.events[k:] if again else []), batch)
                    assert await intervals(pool) == expected, (cam.code, k, again, batch)
    assert (await report(pool, *P)).figures == expected_report


async def test_an_open_interval_runs_to_now_when_the_period_ends_today_or_later(pool: asyncpg.Pool) -> None:
    today = datetime.now(VN).date()
    cam = Cam("H7", "008", today - timedelta(days=1))
    since = datetime.combine(today - timedelta(days=1), datetime.min.time(), tzinfo=VN) + timedelta(hours=10)
    cam.events.append(event(cam.id, cameras_pb2.CameraCameOnline(camera_id=cam.id, at=ts(since))))
    await apply(pool, cam.events)
    start = datetime.combine(today - timedelta(days=1), datetime.min.time(), tzinfo=VN)

    def bounds(now: datetime) -> tuple[int, float]:
        return int((now - since).total_seconds() // 3600), (now - since) / (now - start)

    lo = bounds(datetime.now(VN))
    r = await report(pool, today - timedelta(days=1), today + timedelta(days=1))
    hi = bounds(datetime.now(VN))
    online, hours = figures(r)["cameras.online"], figures(r)["cameras.online_hours"]
    assert online == (1, 0)  # online now: the interval is open
    assert lo[0] <= hours[0] <= hi[0]
    assert hours[1] == 0
    uptime = rates(r)["cameras.uptime"][0]
    assert uptime is not None
    assert round(lo[1], 4) <= uptime <= round(hi[1], 4)
    # A period wholly in the future has no online time and no uptime yet; cameras.online is read at now.
    future = await report(pool, today + timedelta(days=5), today + timedelta(days=6))
    assert figures(future) == {"cameras.online": (1, 1), "cameras.online_hours": (0, 0)}
    assert rates(future)["cameras.uptime"] == (None, None)


async def test_every_table_of_the_projections_is_a_declared_read_model(pool: asyncpg.Pool) -> None:
    """`rebuild` empties exactly SPEC.read_models: every table of reporting's migrations, none of the
    platform's (outbox, inbox, audit trail, migrations)."""
    schema = await pool.fetchval("SELECT current_schema()")
    tables = {
        r["table_name"]
        for r in await pool.fetch(
            """SELECT table_name FROM information_schema.tables
                WHERE table_schema = $1 AND table_type = 'BASE TABLE'""",
            schema,
        )
    }
    platform_tables = {"outbox", "inbox", "audit_log", "schema_migrations"}
    assert platform_tables <= tables
    assert set(SPEC.read_models) == tables - platform_tables
    assert len(SPEC.read_models) == len(set(SPEC.read_models))
