"""Pure rules of the camera network: validation, status moves, the plan's progress, health and online time."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from cameras.network.domain import (
    VN,
    Camera,
    CameraStatus,
    ChangeStatus,
    CreateCamera,
    InstallationPlan,
    Interval,
    PlanInput,
    SeenEffect,
    StatusCounts,
    UpdateCamera,
    changed_fields,
    check_status_change,
    clamp_seen_time,
    day_range,
    is_silent,
    online_seconds_per_day,
    progress,
    seen_effect,
    validate,
    validate_plan,
    validate_update,
)
from d07.platform.errors import Conflict, InvalidArgument, ensure_version
from d07.platform.uow import vietnam_today

TODAY = date(2019, 8, 29)


def camera(**kw: object) -> Camera:
    base: dict[str, object] = {
        "id": uuid.uuid4(),
        "code": "CAM-00017",
        "name": "Ngã tư Hùng Vương",
        "unit_id": None,
        "latitude": 13.77,
        "longitude": 109.22,
        "address": "",
        "status": CameraStatus.PLANNED,
        "version": 3,
        "created_at": datetime(2019, 1, 1, tzinfo=UTC),
        "planned_on": date(2019, 1, 1),
    }
    base.update(kw)
    return Camera(**base)  # type: ignore[arg-type]


def test_create_fills_dates_and_trims_text() -> None:
    planned = validate(
        CreateCamera(
            code="cam-00017", name=" Cổng  trường ", latitude=13.7, longitude=109.2, agency=" Sở TT&TT "
        ),
        today=TODAY,
    )
    assert (planned.code, planned.name, planned.agency) == ("CAM-00017", "Cổng trường", "Sở TT&TT")
    assert (planned.planned_on, planned.installed_on) == (TODAY, None)
    installed = validate(
        CreateCamera(code="CAM-00018", name="x", latitude=13.7, longitude=109.2, status="installed"),
        today=TODAY,
    )
    assert (installed.planned_on, installed.installed_on) == (None, TODAY)


def test_create_refuses_bad_dates_codes_and_decommissioned_cameras() -> None:
    with pytest.raises(InvalidArgument) as err:
        validate(
            CreateCamera(
                code="CAM-1", name="x", latitude=13.7, longitude=109.2, district_code="Q1",
                commune_code="abc", status="planned", installed_on=TODAY,
            ),
            today=TODAY,
        )  # fmt: skip
    assert {f.field for f in err.value.fields} == {"code", "district_code", "commune_code", "installed_on"}
    with pytest.raises(InvalidArgument) as err:
        validate(
            CreateCamera(code="CAM-00001", name="x", latitude=13, longitude=109, status="decommissioned")
        )
    assert [f.field for f in err.value.fields] == ["status"]
    with pytest.raises(InvalidArgument) as err:
        validate(
            CreateCamera(
                code="CAM-00001", name="x", latitude=13, longitude=109, status="installed",
                planned_on=TODAY, installed_on=TODAY - timedelta(days=1),
            ),
            today=TODAY,
        )  # fmt: skip
    assert [f.field for f in err.value.fields] == ["installed_on"]


def test_update_names_what_changed_and_keeps_the_planned_day() -> None:
    cam = camera(name="Cổng A", district_code="001")
    cmd = validate_update(
        UpdateCamera(
            cam.id, 3, name=" Cổng  B ", latitude=cam.latitude, longitude=cam.longitude, district_code="001"
        ),
        cam,
    )
    assert cmd.name == "Cổng B"
    assert cmd.planned_on == cam.planned_on
    assert changed_fields(cam, cmd) == ["name"]
    with pytest.raises(Conflict) as err:
        ensure_version(2, cam.version, what="camera", object_id=cam.id)
    assert err.value.code == "stale_version"


@pytest.mark.parametrize(
    ("status", "target", "allowed"),
    [
        (CameraStatus.PLANNED, "installed", True),
        (CameraStatus.PLANNED, "decommissioned", True),
        (CameraStatus.INSTALLED, "decommissioned", True),
        (CameraStatus.INSTALLED, "planned", False),
        (CameraStatus.DECOMMISSIONED, "installed", False),
        (CameraStatus.PLANNED, "planned", False),
    ],
)
def test_status_moves_forward_only(status: CameraStatus, target: str, allowed: bool) -> None:
    cam = camera(status=status, installed_on=date(2019, 2, 1) if status != CameraStatus.PLANNED else None)
    cmd = ChangeStatus(cam.id, cam.version, target, effective_on=date(2019, 3, 1))
    if allowed:
        new, dates = check_status_change(cam, cmd, today=TODAY)
        assert new == CameraStatus(target)
        assert date(2019, 3, 1) in (dates.installed_on, dates.decommissioned_on)
    else:
        with pytest.raises(Conflict):
            check_status_change(cam, cmd, today=TODAY)


def test_status_dates_are_neither_future_nor_before_the_previous_step() -> None:
    cam = camera(planned_on=date(2019, 5, 1))
    for when in (TODAY + timedelta(days=1), date(2019, 4, 30)):
        with pytest.raises(InvalidArgument):
            check_status_change(cam, ChangeStatus(cam.id, 3, "installed", effective_on=when), today=TODAY)
    _, dates = check_status_change(cam, ChangeStatus(cam.id, 3, "installed"), today=TODAY)
    assert dates.installed_on == TODAY
    assert dates.planned_on == date(2019, 5, 1)


def test_plan_validation_and_progress_against_targets() -> None:
    with pytest.raises(InvalidArgument) as err:
        validate_plan(PlanInput(name=" ", target=10, deadline=None, district_targets={"001": 8, "002": 5}))
    assert {f.field for f in err.value.fields} == {"name", "deadline", "district_targets"}
    plan = InstallationPlan(
        uuid.uuid4(), "Lắp đặt 3.200 camera", 3200, None, date(2020, 12, 31), {"001": 400, "003": 100}, 1,
        datetime(2019, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    counts = {"001": StatusCounts(10, 300, 2, 290), "002": StatusCounts(5, 50, 0, 50)}
    total, districts = progress(plan, counts)
    assert (total.counts.planned, total.counts.installed, total.counts.decommissioned) == (15, 350, 2)
    assert (total.target, total.remaining, total.percent_installed) == (3200, 2850, 10.94)
    assert [(d.district_code, d.target, d.counts.installed, d.remaining) for d in districts] == [
        ("001", 400, 300, 100),
        ("002", 0, 50, 0),
        ("003", 100, 0, 100),
    ]


def test_a_sign_of_life_brings_a_camera_online_only_if_newer_than_the_last() -> None:
    t = datetime(2019, 8, 29, 8, 0, tzinfo=UTC)
    assert seen_effect(online=False, last_seen_at=None, at=t) == SeenEffect.CAME_ONLINE
    assert seen_effect(online=False, last_seen_at=t, at=t + timedelta(seconds=1)) == SeenEffect.CAME_ONLINE
    assert seen_effect(online=False, last_seen_at=t, at=t - timedelta(minutes=5)) == SeenEffect.NOTHING
    assert seen_effect(online=True, last_seen_at=t, at=t + timedelta(seconds=1)) == SeenEffect.TOUCH
    assert seen_effect(online=True, last_seen_at=t, at=t) == SeenEffect.NOTHING
    now = t
    assert clamp_seen_time(t + timedelta(hours=1), now) == now
    assert clamp_seen_time(datetime(2019, 8, 29, 7, 0), now) == datetime(2019, 8, 29, 7, 0, tzinfo=UTC)
    assert is_silent(last_seen_at=t - timedelta(seconds=301), now=t, offline_after=timedelta(seconds=300))
    assert not is_silent(last_seen_at=t - timedelta(seconds=299), now=t, offline_after=timedelta(seconds=300))


def test_online_seconds_are_cut_at_midnight_in_vietnam() -> None:
    day1, day2 = date(2019, 8, 28), date(2019, 8, 29)
    midnight = datetime(2019, 8, 29, 0, 0, tzinfo=VN)
    intervals = [
        # 22:00 -> 02:00 across midnight: 2 h on each day
        Interval(midnight - timedelta(hours=2), midnight + timedelta(hours=2)),
        # still online since 10:00 of day 2; "now" is 10:30
        Interval(midnight + timedelta(hours=10), None),
    ]
    now = midnight + timedelta(hours=10, minutes=30)
    assert online_seconds_per_day(intervals, [day1, day2, date(2019, 8, 30)], now=now) == {
        day1: 7200,
        day2: 7200 + 1800,
        date(2019, 8, 30): 0,
    }
    assert vietnam_today(datetime(2019, 8, 28, 17, 30, tzinfo=UTC)) == day2


def test_day_ranges_are_bounded() -> None:
    assert len(day_range(date(2019, 1, 1), date(2019, 12, 31))) == 365
    for first, last in ((date(2019, 2, 1), date(2019, 1, 1)), (date(2018, 1, 1), date(2019, 12, 31))):
        with pytest.raises(InvalidArgument):
            day_range(first, last)
