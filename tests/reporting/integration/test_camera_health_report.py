"""Camera health, violation breakdowns and the detections behind the violations in the review report, end to
end: cameras made and fed heartbeats and detections through the cameras service's HTTP API; their events reach
reporting's projections; the report over gRPC and HTTP, and its drill-downs, say exactly that.

District 008 in March 1962 (previous period 1962-02-26..03-04) for online time, district 005 around today for
violations (opened when a detection arrives, so today); no other test makes cameras in either.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import httpx
import pytest

from d07.common.v1 import common_pb2
from d07.reporting.v1 import reporting_pb2, reporting_pb2_grpc
from tests.support.services import Platform
from tests.support.waiting import eventually

VN = ZoneInfo("Asia/Ho_Chi_Minh")  # +08:00 in 1962 (the tz database's history): the same on both sides
HEALTH_DISTRICT, P = "008", (date(1962, 3, 5), date(1962, 3, 11))
TODAY_DISTRICT = "005"


def d(value: date) -> common_pb2.Date:
    return common_pb2.Date(year=value.year, month=value.month, day=value.day)


def meta(platform: Platform, role: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {platform.token(role)}")]


@dataclass
class Cameras:
    """The cameras service's HTTP API, as a gateway and an operator use it."""

    http: httpx.AsyncClient
    platform: Platform

    async def create(
        self, name: str, district: str, installed_on: date, planned_on: date | None = None
    ) -> dict[str, Any]:
        for _ in range(20):
            body = {
                "code": f"CAM-{random.randint(0, 99_999):05d}", "name": name, "latitude": 22.3,
                "longitude": 105.8, "status": "installed", "district_code": district,
                "installed_on": installed_on.isoformat(),
                **({"planned_on": planned_on.isoformat()} if planned_on else {}),
            }  # fmt: skip
            r = await self.http.post("/v1/cameras", json=body, headers=self.platform.headers("dic_operator"))
            if r.status_code != 409:
                assert r.status_code == 201, r.text
                return dict(r.json())
        raise AssertionError("no free camera code")

    async def heartbeat(self, camera_id: str, at: datetime | None = None) -> None:
        beat = {"camera_id": camera_id, "at": at.isoformat()} if at else {"camera_id": camera_id}
        r = await self.http.post(
            "/v1/heartbeats", json={"heartbeats": [beat]}, headers=self.platform.headers("camera_gateway")
        )
        assert (r.status_code, r.json()["accepted"]) == (200, 1), r.text

    async def is_offline(self, camera_id: str) -> bool:
        r = await self.http.get(f"/v1/cameras/{camera_id}", headers=self.platform.headers("police"))
        assert r.status_code == 200, r.text
        return not r.json()["online"]

    async def online_seconds(self, camera_id: str, first: date, last: date) -> int:
        r = await self.http.get(
            f"/v1/cameras/{camera_id}/uptime",
            params={"from": first.isoformat(), "to": last.isoformat()},
            headers=self.platform.headers("police"),
        )
        assert r.status_code == 200, r.text
        return int(r.json()["total_online_seconds"])

    async def online(self, camera_id: str, start: datetime, end: datetime) -> bool:
        """Online from `start` to `end` (a heartbeat at each, then silence: offline at `end`). True when the
        cameras service recorded exactly that; False when its offline check ran between the two heartbeats
        (two intervals of no length): the caller tries again later."""
        days = (start.astimezone(VN).date(), end.astimezone(VN).date())
        before = await self.online_seconds(camera_id, *days)
        await self.heartbeat(camera_id, start)
        await self.heartbeat(camera_id, end)
        await eventually(
            lambda: self.is_offline(camera_id), within=60, interval=0.2, what="the camera to go offline"
        )
        return await self.online_seconds(camera_id, *days) - before == (end - start).total_seconds()

    async def online_again_until_it_holds(self, camera_id: str, start: datetime, end: datetime) -> None:
        """`online`, shifted past the previous attempt until one holds (each attempt takes a few ms; the
        offline check runs once a second)."""
        length = end - start
        for _ in range(5):
            if await self.online(camera_id, start, end):
                return
            start = end + timedelta(minutes=1)
            end = start + length
        raise AssertionError("the offline check ran between two heartbeats five times")


@dataclass
class Health:
    """District 008 in March 1962: the cameras' ids by name (K3 is the one online at the period's end)."""

    ids: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
async def health(platform: Platform) -> Health:
    h = Health()
    async with httpx.AsyncClient(base_url=platform["cameras"].url, timeout=15) as client:
        cams = Cameras(client, platform)
        k1 = await cams.create("Ngã tư Pác Rặng", HEALTH_DISTRICT, date(1961, 1, 1))
        k2 = await cams.create("Cổng chợ Pác Rặng", HEALTH_DISTRICT, date(1962, 3, 8))
        vn = lambda day, hour, minute=0: datetime(1962, 3, day, hour, minute, tzinfo=VN)  # noqa: E731
        # 10 h well inside the period; 6 h after K2's installation (a retry stays inside both).
        await cams.online_again_until_it_holds(k1["id"], vn(6, 8), vn(6, 18))
        await cams.online_again_until_it_holds(k2["id"], vn(9, 10), vn(9, 16))
        # Across the period's end (2 h 20 min inside it), by a camera installed after the period (so in no
        # uptime); if the offline check gets between, a fresh camera tries again at the same times.
        for _ in range(5):
            # Planned in 1962: no heartbeat is dated before a camera is planned, installed or registered.
            k3 = await cams.create("Bến xe Pác Rặng", HEALTH_DISTRICT, date(1966, 1, 1), date(1962, 1, 1))
            if await cams.online(k3["id"], vn(11, 21, 40), vn(12, 1)):
                break
        else:
            raise AssertionError("the offline check ran between two heartbeats five times")
        h.ids = {"K1": k1["id"], "K2": k2["id"], "K3": k3["id"]}
    return h


@pytest.fixture
async def http(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=platform["reporting"].url, timeout=15) as client:
        yield client


@pytest.fixture
async def stub(platform: Platform) -> AsyncIterator[reporting_pb2_grpc.ReportingServiceStub]:
    async with grpc.aio.insecure_channel(platform["reporting"].target) as ch:
        yield reporting_pb2_grpc.ReportingServiceStub(ch)


async def http_report(
    http: httpx.AsyncClient, platform: Platform, start: date, end: date, district: str
) -> dict[str, Any]:
    params = {"from": start.isoformat(), "to": end.isoformat(), "district": district}
    r = await http.get("/v1/reports/review", params=params, headers=platform.headers("police"))
    assert r.status_code == 200, r.text
    return dict(r.json())


async def records(
    http: httpx.AsyncClient,
    platform: Platform,
    figure: str,
    start: date,
    end: date,
    district: str,
    **more: str,
) -> list[dict[str, Any]]:
    """Every record behind a figure over HTTP, two a page."""
    found: list[dict[str, Any]] = []
    token = ""
    while True:
        params = {"figure": figure, "from": start.isoformat(), "to": end.isoformat(), "district": district,
                  "page_size": "2", "page_token": token, **more}  # fmt: skip
        r = await http.get("/v1/reports/review/records", params=params, headers=platform.headers("auditor"))
        assert r.status_code == 200, r.text
        found += r.json()["records"]
        token = r.json()["next_page_token"]
        if not token:
            return found


async def test_online_time_uptime_and_cameras_online_over_both_doors(
    health: Health, platform: Platform, http: httpx.AsyncClient, stub: reporting_pb2_grpc.ReportingServiceStub
) -> None:
    expected = {
        "online": {"value": 1, "previous": 0},
        "online_hours": {"value": 18, "previous": 0, "unit": "hours"},  # 10 h + 6 h + 2 h 20 min
        # Installed at the end: K1 for 7 days, K2 for 4; online then 16 h. Before: K1, 7 days, not online.
        "uptime": {"value": round(16 * 3600 / (11 * 86400), 4), "previous": 0.0},
    }

    async def arrived() -> dict[str, Any] | None:
        report = await http_report(http, platform, *P, HEALTH_DISTRICT)
        cameras = {k: report["cameras"][k] for k in expected}
        return report if cameras == expected else None

    report = await eventually(arrived, within=60, interval=0.2, what="the online intervals in the report")
    assert expected["uptime"]["value"] == 0.0606
    assert report["violations"]["per_camera_online_hour"] == {"value": 0.0, "previous": None}

    reply = await stub.GetReviewReport(
        reporting_pb2.GetReviewReportRequest(
            from_date=d(P[0]), to_date=d(P[1]), district_code=HEALTH_DISTRICT
        ),
        metadata=meta(platform, "auditor"),
        timeout=10,
    )
    figures = {f.name: f for f in reply.figures}
    assert (figures["cameras.online"].value, figures["cameras.online"].previous) == (1, 0)
    assert figures["cameras.online"].kind == reporting_pb2.FIGURE_KIND_COUNT
    assert (figures["cameras.online_hours"].value, figures["cameras.online_hours"].previous) == (18, 0)
    assert figures["cameras.online_hours"].kind == reporting_pb2.FIGURE_KIND_QUANTITY
    assert figures["cameras.online_hours"].unit == "hours"
    rates = {r.name: r for r in reply.rates}
    assert [r.name for r in reply.rates] == ["cameras.uptime", "violations.per_camera_online_hour"]
    assert (rates["cameras.uptime"].value, rates["cameras.uptime"].previous) == (0.0606, 0.0)
    assert rates["violations.per_camera_online_hour"].HasField("value")
    assert not rates["violations.per_camera_online_hour"].HasField("previous")  # no online hour before

    # A count's drill-down: exactly as many records as the figure. A quantity's: the cameras that contribute,
    # with their hours (whose sum, in whole hours, is the figure).
    online = await records(http, platform, "cameras.online", *P, HEALTH_DISTRICT)
    assert [r["id"] for r in online] == [health.ids["K3"]]
    assert "quantity" not in online[0]
    hours = await records(http, platform, "cameras.online_hours", *P, HEALTH_DISTRICT)
    by_id = {r["id"]: r["quantity"] for r in hours}
    assert by_id == {health.ids["K1"]: 10.0, health.ids["K2"]: 6.0, health.ids["K3"]: 2.33}
    assert all("giờ" in r["label"] for r in hours)
    over_grpc = await stub.ListFigureRecords(
        reporting_pb2.ListFigureRecordsRequest(
            figure="cameras.online_hours", from_date=d(P[0]), to_date=d(P[1]), district_code=HEALTH_DISTRICT
        ),
        metadata=meta(platform, "service"),
        timeout=10,
    )
    assert {r.id: r.quantity for r in over_grpc.records} == by_id
    # The day after: K3 online for its first hour, not at its end (the day before: 2 h 20, and at its end).
    day_after = {
        "online": {"value": 0, "previous": 1},
        "online_hours": {"value": 1, "previous": 2, "unit": "hours"},
    }

    async def closed() -> bool:  # K3's offline event may still be on its way
        after = await http_report(http, platform, date(1962, 3, 12), date(1962, 3, 12), HEALTH_DISTRICT)
        return {k: after["cameras"][k] for k in day_after} == day_after

    await eventually(closed, within=60, interval=0.2, what="K3 offline in the report")


@dataclass
class Today:
    """District 005 around today: the period, the cameras, and the violations by kind."""

    start: date
    end: date
    v1: str = ""
    v2: str = ""
    violations: dict[str, set[str]] = field(default_factory=dict)
    # The detections behind each violation, as the cameras service counts them.
    detections: dict[str, int] = field(default_factory=dict)


@pytest.fixture(scope="module")
async def today(platform: Platform) -> Today:
    now = datetime.now(VN).replace(second=0, microsecond=0)
    t = Today(now.date() - timedelta(days=1), now.date() + timedelta(days=1))  # robust to midnight
    async with httpx.AsyncClient(base_url=platform["cameras"].url, timeout=15) as client:
        cams = Cameras(client, platform)
        v1 = await cams.create("Cổng UBND xã Bằng Vân", TODAY_DISTRICT, t.start)
        v2 = await cams.create("Chợ Bằng Vân", TODAY_DISTRICT, t.start)
        t.v1, t.v2 = v1["id"], v2["id"]
        # Two hours online, inside the period (which began at least 24 h ago).
        await cams.online_again_until_it_holds(t.v1, now - timedelta(hours=5), now - timedelta(hours=3))
        seen = datetime.now(VN).isoformat()
        detections = [
            {"detection_id": str(uuid.uuid4()), "camera_id": code, "occurred_at": seen, "kind": kind,
             "confidence": 0.95}
            for code, kind in (
                (v1["code"], "intrusion"), (v1["code"], "fire_smoke"), (v2["code"], "intrusion"),
                (v1["code"], "intrusion"),  # joins the first: one violation, two detections
            )
        ]  # fmt: skip
        r = await client.post(
            "/v1/detections:batch", json=detections, headers=platform.headers("camera_gateway")
        )
        assert (r.status_code, r.json()["stored"]) == (200, 4), r.text
        for cid in (t.v1, t.v2):
            r = await client.get(
                "/v1/violations", params={"camera_id": cid}, headers=platform.headers("police")
            )
            assert r.status_code == 200, r.text
            for v in r.json()["items"]:
                t.violations.setdefault(v["kind"], set()).add(v["id"])
                t.detections[v["id"]] = v["detection_count"]
        # The detections were signs of life too: wait until both cameras are offline again.
        for cid in (t.v1, t.v2):
            await eventually(
                lambda cid=cid: cams.is_offline(cid), within=60, interval=0.2, what="the camera to go offline"
            )
    assert {k: len(v) for k, v in t.violations.items()} == {"intrusion": 2, "fire_smoke": 1}
    assert sorted(t.detections.values()) == [1, 1, 2]
    return t


async def test_violations_by_kind_and_by_district_with_their_drill_downs(
    today: Today, platform: Platform, http: httpx.AsyncClient, stub: reporting_pb2_grpc.ReportingServiceStub
) -> None:
    async def arrived() -> dict[str, Any] | None:
        report = await http_report(http, platform, today.start, today.end, TODAY_DISTRICT)
        return report if report["violations"]["opened"]["value"] == 3 else None

    report = await eventually(arrived, within=60, interval=0.2, what="the violations in the report")
    violations = report["violations"]
    assert violations["by_kind"] == {
        "fire_smoke": {"label": "Cháy, khói", "value": 1, "previous": 0},
        "intrusion": {"label": "Xâm nhập trái phép", "value": 2, "previous": 0},
    }
    assert list(violations["by_kind"]) == ["fire_smoke", "intrusion"]  # by key
    assert violations["by_district"] == {"005": {"label": "005", "value": 3, "previous": 0}}
    assert report["cameras"]["online_hours"]["value"] == 2
    assert violations["per_camera_online_hour"] == {"value": 1.5, "previous": None}
    # The detections behind the three violations: a quantity, and its drill-down the violations with theirs.
    assert violations["detections"] == {"value": 4, "previous": 0, "unit": "detections"}
    behind = await records(http, platform, "violations.detections", today.start, today.end, TODAY_DISTRICT)
    assert {r["id"]: r["quantity"] for r in behind} == today.detections

    reply = await stub.GetReviewReport(
        reporting_pb2.GetReviewReportRequest(
            from_date=d(today.start), to_date=d(today.end), district_code=TODAY_DISTRICT
        ),
        metadata=meta(platform, "chairman_office"),
        timeout=10,
    )
    detections = next(f for f in reply.figures if f.name == "violations.detections")
    assert (detections.value, detections.previous, detections.unit) == (4, 0, "detections")
    assert detections.kind == reporting_pb2.FIGURE_KIND_QUANTITY
    behind_over_grpc = await stub.ListFigureRecords(
        reporting_pb2.ListFigureRecordsRequest(
            figure="violations.detections", from_date=d(today.start), to_date=d(today.end),
            district_code=TODAY_DISTRICT,
        ),
        metadata=meta(platform, "police"),
        timeout=10,
    )  # fmt: skip
    assert {r.id: r.quantity for r in behind_over_grpc.records} == today.detections
    split = {(b.figure, b.dimension): b for b in reply.breakdowns}
    assert list(split) == [("violations.opened", "kind"), ("violations.opened", "district")]
    by_kind = [(e.key, e.label, e.value, e.previous) for e in split[("violations.opened", "kind")].entries]
    assert by_kind == [("fire_smoke", "Cháy, khói", 1, 0), ("intrusion", "Xâm nhập trái phép", 2, 0)]
    assert [(e.key, e.value) for e in split[("violations.opened", "district")].entries] == [("005", 3)]
    assert {r.name: r.value for r in reply.rates}["violations.per_camera_online_hour"] == 1.5

    # Each entry's drill-down returns exactly the records it counts, over both doors.
    for dimension, key, ids in (
        ("kind", "intrusion", today.violations["intrusion"]),
        ("kind", "fire_smoke", today.violations["fire_smoke"]),
        ("district", "005", today.violations["intrusion"] | today.violations["fire_smoke"]),
        ("kind", "crowd", set()),
    ):
        found = await records(
            http, platform, "violations.opened", today.start, today.end, TODAY_DISTRICT,
            dimension=dimension, key=key,
        )  # fmt: skip
        assert sorted(r["id"] for r in found) == sorted(ids)
        page = await stub.ListFigureRecords(
            reporting_pb2.ListFigureRecordsRequest(
                figure="violations.opened", from_date=d(today.start), to_date=d(today.end),
                district_code=TODAY_DISTRICT, dimension=dimension, key=key,
            ),
            metadata=meta(platform, "police"),
            timeout=10,
        )  # fmt: skip
        assert {r.id for r in page.records} == ids

    # In the province the entries add up to the figure, and district 005's entry is exactly ours.
    province = await http_report(http, platform, today.start, today.end, "")
    opened = province["violations"]["opened"]["value"]
    assert sum(e["value"] for e in province["violations"]["by_kind"].values()) == opened
    assert sum(e["value"] for e in province["violations"]["by_district"].values()) == opened
    assert province["violations"]["by_district"]["005"] == {"label": "005", "value": 3, "previous": 0}
    assert list(province["violations"]["by_district"]) == sorted(province["violations"]["by_district"])


async def test_a_breakdown_drill_down_is_refused_without_a_dimension_of_the_figure(
    platform: Platform, http: httpx.AsyncClient, stub: reporting_pb2_grpc.ReportingServiceStub
) -> None:
    base = {"from": "2019-01-01", "to": "2019-01-31"}
    for params, field_name in (
        ({"figure": "violations.opened", "dimension": "unit", "key": "x"}, "dimension"),
        ({"figure": "violations.opened", "dimension": "kind"}, "key"),
        ({"figure": "violations.opened", "key": "intrusion"}, "dimension"),
        ({"figure": "models.total", "dimension": "kind", "key": "x"}, "dimension"),
    ):
        r = await http.get(
            "/v1/reports/review/records", params={**base, **params}, headers=platform.headers("admin")
        )
        assert r.status_code == 400, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "invalid_breakdown"
        assert field_name in r.text
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ListFigureRecords(
            reporting_pb2.ListFigureRecordsRequest(
                figure="violations.opened", from_date=d(date(2019, 1, 1)), to_date=d(date(2019, 1, 31)),
                dimension="unit", key="x",
            ),
            metadata=meta(platform, "admin"),
            timeout=10,
        )  # fmt: skip
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    r = await http.get(
        "/v1/reports/review/records",
        params={**base, "figure": "violations.opened", "dimension": "kind", "key": "intrusion"},
        headers=platform.headers("dic_operator"),
    )
    assert r.status_code == 403, r.text


async def test_a_camera_sending_heartbeats_now_is_online_at_the_end_of_a_period_that_ends_later(
    today: Today, platform: Platform, http: httpx.AsyncClient
) -> None:
    async def online_now() -> list[str]:
        found = await records(http, platform, "cameras.online", today.start, today.end, TODAY_DISTRICT)
        return [r["id"] for r in found]

    await eventually(lambda: _equal(online_now(), []), within=60, interval=0.2, what="nothing online in 005")
    stop = asyncio.Event()
    async with httpx.AsyncClient(base_url=platform["cameras"].url, timeout=15) as client:
        cams = Cameras(client, platform)

        async def beat() -> None:  # a live camera: a heartbeat twice a second (offline after 3 s of silence)
            while not stop.is_set():
                await cams.heartbeat(today.v2)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.5)

        beating = asyncio.create_task(beat())
        try:
            await eventually(
                lambda: _equal(online_now(), [today.v2]),
                within=60,
                interval=0.2,
                what="the live camera online",
            )
            report = await http_report(http, platform, today.start, today.end, TODAY_DISTRICT)
            assert report["cameras"]["online"] == {"value": 1, "previous": 0}
        finally:
            stop.set()
            await beating
        await eventually(
            lambda: _equal(online_now(), []), within=60, interval=0.2, what="the silent camera offline"
        )


async def _equal(value: Any, expected: object) -> bool:
    return bool(await value == expected)
