"""The camera network: cameras, their status over time, the installation plan and camera health. Pure rules,
no I/O: every function here is decided by its arguments alone (today and now come in as arguments)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from d07.platform.errors import Conflict, FieldProblem, InvalidArgument

CODE = re.compile(r"^CAM-\d{5}$")
# Days of the network (status dates, online time per day) are days in Vietnam, which keeps one zone.
VN = ZoneInfo("Asia/Ho_Chi_Minh")
MAX_UPTIME_DAYS = 366


class CameraStatus(StrEnum):
    PLANNED = "planned"
    INSTALLED = "installed"
    DECOMMISSIONED = "decommissioned"


# A camera moves forward only: a planned camera is installed or dropped, an installed one decommissioned.
TRANSITIONS: dict[CameraStatus, frozenset[CameraStatus]] = {
    CameraStatus.PLANNED: frozenset({CameraStatus.INSTALLED, CameraStatus.DECOMMISSIONED}),
    CameraStatus.INSTALLED: frozenset({CameraStatus.DECOMMISSIONED}),
    CameraStatus.DECOMMISSIONED: frozenset(),
}


@dataclass(frozen=True)
class CreateCamera:
    code: str
    name: str
    latitude: float
    longitude: float
    unit_id: str = ""
    address: str = ""
    status: str = "planned"
    district_code: str = ""
    commune_code: str = ""
    agency: str = ""
    planned_on: date | None = None
    installed_on: date | None = None


@dataclass(frozen=True)
class UpdateCamera:
    """New details of a camera read at `version` (its code and status change otherwise, or never)."""

    camera_id: uuid.UUID
    version: int
    name: str
    latitude: float
    longitude: float
    address: str = ""
    district_code: str = ""
    commune_code: str = ""
    unit_id: str = ""
    agency: str = ""
    planned_on: date | None = None


@dataclass(frozen=True)
class ChangeStatus:
    camera_id: uuid.UUID
    version: int
    status: str
    effective_on: date | None = None


@dataclass(frozen=True)
class Camera:
    id: uuid.UUID
    code: str
    name: str
    unit_id: uuid.UUID | None
    latitude: float
    longitude: float
    address: str
    status: CameraStatus
    version: int
    created_at: datetime
    district_code: str = ""
    commune_code: str = ""
    agency: str = ""
    planned_on: date | None = None
    installed_on: date | None = None
    decommissioned_on: date | None = None
    updated_at: datetime | None = None
    online: bool = False
    last_seen_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CameraRef:
    """What the detections and the violations they open need of a camera: its id, code, status and the unit
    it covers."""

    id: uuid.UUID
    code: str
    status: str
    unit_id: uuid.UUID | None


@dataclass(frozen=True)
class CameraFilter:
    status: str = ""
    district_code: str = ""
    commune_code: str = ""
    unit_id: uuid.UUID | None = None
    query: str = ""
    online: bool | None = None

    def fingerprint(self) -> dict[str, object]:
        """What a page token is bound to: the same filters must come with the next page."""
        return {
            "status": self.status,
            "district": self.district_code,
            "commune": self.commune_code,
            "unit": str(self.unit_id or ""),
            "q": self.query,
            "online": self.online,
        }


def _text(value: str) -> str:
    return " ".join(value.split())


def _detail_problems(
    *, name: str, latitude: float, longitude: float, unit_id: str, commune_code: str, district_code: str
) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    if not name:
        problems.append(FieldProblem("name", "the camera's name is required"))
    # The province lies within Vietnam's bounding box; a point outside it is a typing error.
    if not 8.0 <= latitude <= 23.5:
        problems.append(FieldProblem("latitude", "between 8.0 and 23.5 (Vietnam)"))
    if not 102.0 <= longitude <= 110.0:
        problems.append(FieldProblem("longitude", "between 102.0 and 110.0 (Vietnam)"))
    if unit_id:
        try:
            uuid.UUID(unit_id)
        except ValueError:
            problems.append(FieldProblem("unit_id", "a UUID is expected"))
    if district_code and not district_code.isdigit():
        problems.append(FieldProblem("district_code", "the registry's district code, digits only"))
    if commune_code and not commune_code.isdigit():
        problems.append(FieldProblem("commune_code", "the registry's commune code, digits only"))
    return problems


def validate(cmd: CreateCamera, *, today: date | None = None) -> CreateCamera:
    """The command normalised (code upper case, single spaces, default dates), or InvalidArgument naming
    every wrong field. A planned camera is planned today unless told; an installed one installed today."""
    code = cmd.code.strip().upper()
    name = _text(cmd.name)
    unit_id = cmd.unit_id.strip()
    district, commune = cmd.district_code.strip(), cmd.commune_code.strip()
    problems: list[FieldProblem] = []
    if not CODE.match(code):
        problems.append(FieldProblem("code", "CAM- followed by five digits, for example CAM-00017"))
    problems += _detail_problems(
        name=name,
        latitude=cmd.latitude,
        longitude=cmd.longitude,
        unit_id=unit_id,
        commune_code=commune,
        district_code=district,
    )
    planned_on, installed_on = cmd.planned_on, cmd.installed_on
    if cmd.status not in {s.value for s in CameraStatus}:
        problems.append(FieldProblem("status", "one of planned, installed, decommissioned"))
    elif cmd.status == CameraStatus.DECOMMISSIONED:
        problems.append(FieldProblem("status", "a camera is registered planned or installed"))
    elif cmd.status == CameraStatus.INSTALLED:
        installed_on = installed_on or today
    else:
        if installed_on is not None:
            problems.append(FieldProblem("installed_on", "a planned camera is not installed yet"))
    planned_on = planned_on or (today if cmd.status == CameraStatus.PLANNED else None)
    if planned_on and installed_on and installed_on < planned_on:
        problems.append(FieldProblem("installed_on", "on or after planned_on"))
    if today and installed_on and installed_on > today:
        problems.append(FieldProblem("installed_on", "not in the future"))
    if problems:
        raise InvalidArgument("the camera is not valid", code="invalid_camera", fields=problems)
    return replace(
        cmd,
        code=code,
        name=name,
        unit_id=unit_id,
        address=_text(cmd.address),
        district_code=district,
        commune_code=commune,
        agency=_text(cmd.agency),
        planned_on=planned_on,
        installed_on=installed_on,
    )


def validate_update(cmd: UpdateCamera, camera: Camera) -> UpdateCamera:
    name, unit_id = _text(cmd.name), cmd.unit_id.strip()
    district, commune = cmd.district_code.strip(), cmd.commune_code.strip()
    problems = _detail_problems(
        name=name,
        latitude=cmd.latitude,
        longitude=cmd.longitude,
        unit_id=unit_id,
        commune_code=commune,
        district_code=district,
    )
    planned_on = cmd.planned_on or camera.planned_on
    if planned_on and camera.installed_on and camera.installed_on < planned_on:
        problems.append(FieldProblem("planned_on", "on or before the day it was installed"))
    if problems:
        raise InvalidArgument("the camera is not valid", code="invalid_camera", fields=problems)
    return replace(
        cmd,
        name=name,
        unit_id=unit_id,
        address=_text(cmd.address),
        district_code=district,
        commune_code=commune,
        agency=_text(cmd.agency),
        planned_on=planned_on,
    )


def changed_fields(camera: Camera, cmd: UpdateCamera) -> list[str]:
    """The names of the details `cmd` changes (an update that changes nothing writes nothing)."""
    now = {
        "name": camera.name,
        "latitude": camera.latitude,
        "longitude": camera.longitude,
        "address": camera.address,
        "district_code": camera.district_code,
        "commune_code": camera.commune_code,
        "unit_id": str(camera.unit_id or ""),
        "agency": camera.agency,
        "planned_on": camera.planned_on,
    }
    return [k for k, v in now.items() if getattr(cmd, k) != v]


@dataclass(frozen=True)
class StatusDates:
    planned_on: date | None
    installed_on: date | None
    decommissioned_on: date | None


def check_status_change(
    camera: Camera, cmd: ChangeStatus, *, today: date
) -> tuple[CameraStatus, StatusDates]:
    """The new status and dates, or why the move is refused: only forward, dated no earlier than the step
    before and never in the future."""
    try:
        target = CameraStatus(cmd.status)
    except ValueError:
        raise InvalidArgument(
            "unknown status", code="invalid_status",
            fields=[FieldProblem("status", "one of planned, installed, decommissioned")],
        ) from None  # fmt: skip
    if target not in TRANSITIONS[camera.status]:
        raise Conflict(
            f"a camera {camera.status.value} cannot become {target.value}",
            code="invalid_status_change", resource_type="camera", resource_id=str(camera.id),
        )  # fmt: skip
    on = cmd.effective_on or today
    if on > today:
        raise InvalidArgument(
            "the date is in the future", code="invalid_date",
            fields=[FieldProblem("effective_on", "today or earlier")],
        )  # fmt: skip
    before = camera.installed_on or camera.planned_on
    if before and on < before:
        raise InvalidArgument(
            "the date is before the camera's previous step", code="invalid_date",
            fields=[FieldProblem("effective_on", f"on or after {before.isoformat()}")],
        )  # fmt: skip
    dates = StatusDates(camera.planned_on, camera.installed_on, camera.decommissioned_on)
    if target == CameraStatus.INSTALLED:
        dates = replace(dates, installed_on=on)
    else:
        dates = replace(dates, decommissioned_on=on)
    return target, dates


# --- the installation plan -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanInput:
    name: str
    target: int
    deadline: date | None
    starts_on: date | None = None
    district_targets: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class InstallationPlan:
    id: uuid.UUID
    name: str
    target: int
    starts_on: date | None
    deadline: date
    district_targets: dict[str, int]
    version: int
    created_at: datetime


def validate_plan(cmd: PlanInput) -> PlanInput:
    problems: list[FieldProblem] = []
    name = _text(cmd.name)
    if not name:
        problems.append(FieldProblem("name", "the plan's name is required"))
    if cmd.target <= 0:
        problems.append(FieldProblem("target", "a number of cameras above 0"))
    if cmd.deadline is None:
        problems.append(FieldProblem("deadline", "the plan's deadline is required"))
    elif cmd.starts_on and cmd.starts_on > cmd.deadline:
        problems.append(FieldProblem("starts_on", "on or before the deadline"))
    for code, target in cmd.district_targets.items():
        if not code.isdigit():
            problems.append(FieldProblem(f"district_targets.{code}", "a district code, digits only"))
        if target <= 0:
            problems.append(FieldProblem(f"district_targets.{code}", "a number of cameras above 0"))
    if sum(cmd.district_targets.values()) > cmd.target > 0:
        problems.append(FieldProblem("district_targets", "together no more than the plan's target"))
    if problems:
        raise InvalidArgument("the installation plan is not valid", code="invalid_plan", fields=problems)
    return replace(cmd, name=name)


@dataclass(frozen=True)
class StatusCounts:
    planned: int = 0
    installed: int = 0
    decommissioned: int = 0
    installed_by_deadline: int = 0


@dataclass(frozen=True)
class Progress:
    district_code: str
    target: int
    counts: StatusCounts

    @property
    def remaining(self) -> int:
        return max(0, self.target - self.counts.installed)

    @property
    def percent_installed(self) -> float:
        return round(100.0 * self.counts.installed / self.target, 2) if self.target else 0.0


def progress(plan: InstallationPlan, counts: Mapping[str, StatusCounts]) -> tuple[Progress, list[Progress]]:
    """The plan against the network: the whole (against the plan's target) and one row per district that has a
    target or cameras (against its own target, 0 when the plan sets none)."""
    total = StatusCounts(
        planned=sum(c.planned for c in counts.values()),
        installed=sum(c.installed for c in counts.values()),
        decommissioned=sum(c.decommissioned for c in counts.values()),
        installed_by_deadline=sum(c.installed_by_deadline for c in counts.values()),
    )
    districts = sorted(set(counts) | set(plan.district_targets))
    rows = [Progress(d, plan.district_targets.get(d, 0), counts.get(d, StatusCounts())) for d in districts]
    return Progress("", plan.target, total), rows


# --- health --------------------------------------------------------------------------------------------


class SeenEffect(StrEnum):
    NOTHING = "nothing"  # old news: the camera was seen later already, or is decommissioned
    TOUCH = "touch"  # an online camera seen again
    CAME_ONLINE = "came_online"  # an offline (or never seen) camera seen after its last sign of life


def seen_effect(*, online: bool, last_seen_at: datetime | None, at: datetime) -> SeenEffect:
    """What a sign of life at `at` does to a camera: a late arrival older than what was seen already does not
    bring an offline camera back, so a replayed backlog does not make cameras flap."""
    if online:
        return SeenEffect.TOUCH if last_seen_at is None or at > last_seen_at else SeenEffect.NOTHING
    if last_seen_at is None or at > last_seen_at:
        return SeenEffect.CAME_ONLINE
    return SeenEffect.NOTHING


def clamp_seen_time(at: datetime, now: datetime) -> datetime:
    """A sign of life dated ahead of our clock counts as now (a gateway's fast clock must not keep a camera
    online into the future); a naive time is taken as UTC."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return min(at, now)


def is_silent(*, last_seen_at: datetime | None, now: datetime, offline_after: timedelta) -> bool:
    return last_seen_at is None or now - last_seen_at > offline_after


@dataclass(frozen=True)
class Interval:
    started_at: datetime
    ended_at: datetime | None  # None: still online


def day_range(first: date, last: date) -> list[date]:
    if last < first:
        raise InvalidArgument(
            "the range ends before it starts", code="invalid_range",
            fields=[FieldProblem("to_date", "on or after from_date")],
        )  # fmt: skip
    days = (last - first).days + 1
    if days > MAX_UPTIME_DAYS:
        raise InvalidArgument(
            "the range is too long", code="invalid_range",
            fields=[FieldProblem("to_date", f"at most {MAX_UPTIME_DAYS} days after from_date")],
        )  # fmt: skip
    return [first + timedelta(days=n) for n in range(days)]


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=VN)
    return start, start + timedelta(days=1)


def online_seconds_per_day(
    intervals: Sequence[Interval], days: Sequence[date], *, now: datetime
) -> dict[date, int]:
    """Seconds online in each day (Vietnam time): the intervals cut at midnight; an open interval runs to
    `now`, and nothing counts after `now`."""
    result: dict[date, int] = {}
    for day in days:
        start, end = day_bounds(day)
        end = min(end, now)
        total = 0.0
        for iv in intervals:
            lo = max(start, iv.started_at)
            hi = min(end, iv.ended_at or now)
            if hi > lo:
                total += (hi - lo).total_seconds()
        result[day] = int(total)
    return result


# --- commands and queries of the handlers ----------------------------------------------------------------


@dataclass(frozen=True)
class GetCamera:
    camera_id: str


@dataclass(frozen=True)
class ListCameras:
    where: CameraFilter
    page_size: int | None = None
    page_token: str = ""


@dataclass(frozen=True)
class CreatePlan:
    plan: PlanInput


@dataclass(frozen=True)
class UpdatePlan:
    plan_id: str
    version: int
    plan: PlanInput


@dataclass(frozen=True)
class GetProgress:
    """The progress of a plan (by id, or the latest plan when empty)."""

    plan_id: str = ""


@dataclass(frozen=True)
class Heartbeat:
    camera: str  # the camera's code or its id
    at: datetime | None = None  # None: now


# A heartbeat dated further back than this is refused (D07_HEARTBEAT_MAX_AGE_SECONDS sets the doors' value).
HEARTBEAT_MAX_AGE = timedelta(days=1)
# A heartbeat dated further ahead than this is refused; a smaller lead (a gateway's clock) counts as now.
HEARTBEAT_MAX_LEAD = timedelta(minutes=5)


@dataclass(frozen=True)
class SendHeartbeats:
    heartbeats: Sequence[Heartbeat]
    # The index of the first heartbeat in the caller's stream (refusals are named by index).
    first_index: int = 0
    max_age: timedelta = HEARTBEAT_MAX_AGE


def heartbeat_time_problem(at: datetime, *, now: datetime, max_age: timedelta) -> str | None:
    """Why a heartbeat's time is refused before its camera is known (None: it is not): the past is bounded as
    the future is, so a first heartbeat dated years ago cannot make a camera online for those years."""
    if at - now > HEARTBEAT_MAX_LEAD:
        return "future_time"
    if now - at > max_age:
        return "too_old"
    return None


def heartbeat_before_registration(at: datetime, registered_at: datetime) -> bool:
    """A camera does not live before it was registered, or planned or installed when that was earlier (a
    minute of clock skew allowed)."""
    return at < registered_at - timedelta(minutes=1)


@dataclass(frozen=True)
class RejectedHeartbeat:
    index: int
    reason: str
    camera_id: str


@dataclass(frozen=True)
class HeartbeatsResult:
    accepted: int
    rejected: list[RejectedHeartbeat]


@dataclass(frozen=True)
class GetUptime:
    camera_id: str
    first: date | None = None
    last: date | None = None


@dataclass(frozen=True)
class InstallationProgress:
    plan: InstallationPlan
    total: Progress
    districts: list[Progress]
    days_left: int
    as_of: datetime


@dataclass(frozen=True)
class HealthCounts:
    """The network's health gauges: cameras in service online, installed ones offline, and installed ones."""

    online: int
    offline: int
    installed: int


@dataclass(frozen=True)
class HealthRow:
    """A camera as the health check sees it."""

    id: uuid.UUID
    code: str
    unit_id: uuid.UUID | None
    online: bool
    last_seen_at: datetime | None
