"""`violations.detections` on the real PostgreSQL: the cameras' and violations' real event messages through
the projections' batch handler into a schema of its own (a violation growing as detections join it, handled,
opened before and after the period, in another district, on no detection), then the review report and the
drill-down read by the service: the detections behind the violations opened in the period, a quantity.
test_camera_health_report.py reads the same over gRPC and HTTP from detections sent to the cameras service.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from d07.cameras.v1 import cameras_pb2, violation_events_pb2
from d07.platform.auth import Principal
from d07.platform.errors import InvalidArgument
from d07.platform.events.envelope import ConsumedEvent
from reporting.projections.service import project
from reporting.review.service import (
    RecordsQuery,
    ReviewQuery,
    ReviewUnitOfWork,
    figure_records,
    review_report,
)
from tests.reporting.integration.projection_support import consumed, pb_day, reporting_schema, ts

VN = ZoneInfo("Asia/Ho_Chi_Minh")
P = (date(1963, 4, 1), date(1963, 4, 30))  # previous: 1963-03-02 .. 1963-03-31
READER = Principal(subject="test-police", roles=frozenset({"police"}))
RESOLVED = violation_events_pb2.VIOLATION_STATUS_RESOLVED


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    async for p in reporting_schema(database_url):
        yield p


class Province:
    """Cameras and the events of their violations, as the cameras service publishes them."""

    def __init__(self) -> None:
        self.events: list[ConsumedEvent] = []
        self.ids: dict[str, str] = {}
        self.clock = datetime(1963, 5, 1, tzinfo=VN)

    def camera(self, code: str, district: str) -> str:
        cid = str(uuid.uuid4())
        cam = cameras_pb2.Camera(
            id=cid, code=code, name=f"Camera {code}", status=cameras_pb2.CAMERA_STATUS_INSTALLED, version=1,
            district_code=district, installed_on=pb_day(date(1960, 1, 1)),
        )  # fmt: skip
        self.events.append(consumed(cameras_pb2.CameraRegistered(camera=cam), key=cid, at=self.clock))
        return cid

    def violation(self, name: str, camera: str, opened: datetime, counts: list[int], status: int = 1) -> None:
        """Opened with the first count of detections, then one event per later count (joins), the last with
        `status`."""
        vid = self.ids[name] = str(uuid.uuid4())
        for n, count in enumerate(counts):
            v = violation_events_pb2.Violation(
                id=vid, camera_id=camera, kind="intrusion", opened_at=ts(opened), detection_count=count,
                status=status if n == len(counts) - 1 else violation_events_pb2.VIOLATION_STATUS_NEW,
            )  # fmt: skip
            kind = violation_events_pb2.ViolationOpened if n == 0 else violation_events_pb2.ViolationUpdated
            self.clock += timedelta(seconds=1)
            self.events.append(consumed(kind(violation=v), key=vid, at=self.clock))


def the_province() -> Province:
    p = Province()
    c1, c2, c3 = p.camera("D1", "004"), p.camera("D2", "004"), p.camera("D3", "002")
    p.violation("joined", c1, datetime(1963, 4, 2, 9, tzinfo=VN), [1, 2, 3])  # grew to 3 detections
    p.violation("resolved", c2, datetime(1963, 4, 30, 23, 59, tzinfo=VN), [2], RESOLVED)  # the last minute
    p.violation("before", c1, datetime(1963, 3, 31, 23, 59, tzinfo=VN), [4])  # the previous period
    p.violation("elsewhere", c3, datetime(1963, 4, 10, tzinfo=VN), [5, 6])  # district 002
    p.violation("after", c2, datetime(1963, 5, 1, 0, 0, tzinfo=VN), [7])  # after the period
    p.violation("no detection", c2, datetime(1963, 4, 3, tzinfo=VN), [0])  # opened, nothing behind it
    return p


async def apply(pool: asyncpg.Pool, events: list[ConsumedEvent]) -> None:
    async with pool.acquire() as conn, conn.transaction():
        await project(conn, events)


async def figures(pool: asyncpg.Pool, district: str) -> dict[str, tuple[int, int, str | None]]:
    r = await review_report(ReviewUnitOfWork(pool, source="/d07/test"), ReviewQuery(*P, district), READER)
    return {f.name: (f.value, f.previous, f.unit) for f in r.figures if f.name.startswith("violations.")}


async def drill(
    pool: asyncpg.Pool, district: str, size: int | None = None
) -> list[tuple[str, str, float | None]]:
    found, token = [], ""
    while True:
        query = RecordsQuery("violations.detections", *P, district_code=district, size=size, token=token)
        page = await figure_records(ReviewUnitOfWork(pool, source="/d07/test"), query, READER)
        found += [(r.id, r.label, r.quantity) for r in page.records]
        token = page.next_page_token
        if not token:
            return found


async def test_the_detections_behind_the_violations_opened_in_the_period(pool: asyncpg.Pool) -> None:
    p = the_province()
    events = list(p.events)
    random.Random(7).shuffle(events)  # one batch, any order: the latest event of each violation wins
    await apply(pool, events)
    district = await figures(pool, "004")
    assert district["violations.detections"] == (3 + 2, 4, "detections")
    assert district["violations.opened"] == (3, 1, None)  # a count; the one without detections is opened too
    province = await figures(pool, "")
    assert province["violations.detections"] == (3 + 2 + 6, 4, "detections")

    # The drill-down: the violations that contribute, each with its detections (a quantity's records).
    rows = await drill(pool, "004")
    assert {i: q for i, _, q in rows} == {p.ids["joined"]: 3.0, p.ids["resolved"]: 2.0}
    assert {i: label for i, label, _ in rows}[p.ids["joined"]] == "intrusion D1 — 3 lần phát hiện"
    assert sum(q or 0 for _, _, q in await drill(pool, "", size=1)) == province["violations.detections"][0]

    # Applied again (a replay past the inbox): nothing changes.
    await apply(pool, p.events)
    assert await figures(pool, "004") == district


async def test_the_detections_are_not_split(pool: asyncpg.Pool) -> None:
    query = RecordsQuery("violations.detections", *P, dimension="kind", key="intrusion")
    with pytest.raises(InvalidArgument) as err:
        await figure_records(ReviewUnitOfWork(pool, source="/d07/test"), query, READER)
    assert err.value.code == "invalid_breakdown"
