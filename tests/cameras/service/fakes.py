"""In-memory repositories of the cameras' aggregates, as much of them as the handlers need, and the fake units
of work that hold them (tests/support/uow.py: audit rows and events recorded, state rolled back on error)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from cameras.detections.domain import Detection
from cameras.detections.service import DetectionsUnitOfWork
from cameras.network.domain import (
    Camera,
    CameraRef,
    CameraStatus,
    CreateCamera,
    HealthCounts,
    HealthRow,
    InstallationPlan,
    Interval,
    PlanInput,
    StatusCounts,
    StatusDates,
    UpdateCamera,
)
from cameras.network.service import NetworkUnitOfWork
from cameras.violations.domain import (
    OPEN,
    Action,
    Activity,
    Joining,
    KindRule,
    Opening,
    OpenViolation,
    Violation,
    ViolationStatus,
)
from cameras.violations.service import ViolationsUnitOfWork
from tests.support.uow import NOW, FakeRepository, FakeUnitOfWork

Clock = Callable[[], datetime]
DISTRICT = "001"
COMMUNE = "00001"
KINDS = {
    "intrusion": KindRule("intrusion", 0.80, "high", 30),
    "fire_smoke": KindRule("fire_smoke", 0.70, "critical", 10),
    "crowd": KindRule("crowd", 0.80, "medium", 60),
}


def a_camera(**overrides: Any) -> Camera:
    fields: dict[str, Any] = {
        "id": uuid.uuid4(),
        "code": "CAM-00017",
        "name": "Cổng chính Trường THPT Chu Văn An",
        "unit_id": None,
        "latitude": 13.77,
        "longitude": 109.22,
        "address": "",
        "status": CameraStatus.INSTALLED,
        "version": 1,
        "created_at": NOW - timedelta(days=30),
        "district_code": DISTRICT,
        "commune_code": COMMUNE,
        "planned_on": date(2026, 10, 1),
        "installed_on": date(2026, 11, 1),
    }
    fields.update(overrides)
    return Camera(**fields)


def a_violation(camera: Camera, **overrides: Any) -> Violation:
    fields: dict[str, Any] = {
        "id": uuid.uuid4(),
        "camera_id": camera.id,
        "camera_code": camera.code,
        "unit_id": camera.unit_id,
        "kind": "intrusion",
        "priority": "high",
        "status": ViolationStatus.NEW,
        "opened_at": NOW - timedelta(minutes=5),
        "first_seen_at": NOW - timedelta(minutes=6),
        "last_seen_at": NOW - timedelta(minutes=5),
        "detection_count": 1,
        "max_confidence": 0.9,
        "react_by": NOW + timedelta(minutes=25),
        "overdue_at": None,
        "acknowledged_at": None,
        "acknowledged_by": None,
        "handed_over_at": None,
        "handed_over_by": None,
        "handed_over_to": None,
        "assignee": None,
        "team": None,
        "closed_at": None,
        "outcome": None,
        "version": 1,
    }
    fields.update(overrides)
    return Violation(**fields)


class FakeRegistry:
    """The registry's answers: the units it knows and the province's divisions."""

    def __init__(
        self, units: Sequence[str] = (), divisions: Mapping[str, frozenset[str]] | None = None
    ) -> None:
        self.units = set(units)
        self.divisions_ = dict(divisions or {DISTRICT: frozenset({COMMUNE})})
        self.asked: list[str] = []

    async def missing_units(self, unit_ids: list[str]) -> list[str]:
        self.asked += unit_ids
        return [u for u in unit_ids if u not in self.units]

    async def divisions(self) -> dict[str, frozenset[str]]:
        return self.divisions_


# --- network --------------------------------------------------------------------------------------------


class FakeCameraRepository(FakeRepository):
    def __init__(self, clock: Clock, *cameras: Camera) -> None:
        self.clock = clock
        self.cameras = {c.id: c for c in cameras}
        self.intervals_: list[tuple[uuid.UUID, datetime, datetime | None]] = []

    def put(self, camera: Camera) -> Camera:
        self.cameras[camera.id] = camera
        return camera

    async def add(self, *, camera_id: uuid.UUID, cmd: CreateCamera) -> Camera | None:
        if any(c.code == cmd.code for c in self.cameras.values()):
            return None
        return self.put(
            Camera(
                id=camera_id, code=cmd.code, name=cmd.name,
                unit_id=uuid.UUID(cmd.unit_id) if cmd.unit_id else None, latitude=cmd.latitude,
                longitude=cmd.longitude, address=cmd.address,
                status=CameraStatus(cmd.status), version=1, created_at=self.clock(),
                district_code=cmd.district_code, commune_code=cmd.commune_code, agency=cmd.agency,
                planned_on=cmd.planned_on, installed_on=cmd.installed_on,
            )
        )  # fmt: skip

    async def get(self, camera_id: uuid.UUID, *, for_update: bool = False) -> Camera | None:
        return self.cameras.get(camera_id)

    async def update(self, *, camera: Camera, cmd: UpdateCamera) -> Camera | None:
        if self.cameras[camera.id].version != camera.version:
            return None
        return self.put(
            replace(
                camera, name=cmd.name, latitude=cmd.latitude, longitude=cmd.longitude, address=cmd.address,
                district_code=cmd.district_code, commune_code=cmd.commune_code,
                unit_id=uuid.UUID(cmd.unit_id) if cmd.unit_id else None, agency=cmd.agency,
                planned_on=cmd.planned_on, version=camera.version + 1, updated_at=self.clock(),
            )
        )  # fmt: skip

    async def set_status(self, *, camera: Camera, status: CameraStatus, dates: StatusDates) -> Camera | None:
        if self.cameras[camera.id].version != camera.version:
            return None
        return self.put(
            replace(
                camera, status=status, planned_on=dates.planned_on, installed_on=dates.installed_on,
                decommissioned_on=dates.decommissioned_on, version=camera.version + 1,
                online=camera.online and status != CameraStatus.DECOMMISSIONED, updated_at=self.clock(),
            )
        )  # fmt: skip

    async def ids_by_code(self, codes: Sequence[str]) -> dict[str, tuple[uuid.UUID, CameraStatus]]:
        return {c.code: (c.id, c.status) for c in self.cameras.values() if c.code in codes}

    async def statuses(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, CameraStatus]:
        return {i: self.cameras[i].status for i in ids if i in self.cameras}

    async def registered_at(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, datetime]:
        return {i: self.cameras[i].created_at for i in ids if i in self.cameras}

    async def lock_for_seen(
        self, *, ids: Sequence[uuid.UUID], ats: Sequence[datetime], resolution_seconds: float
    ) -> list[HealthRow]:
        step = timedelta(seconds=resolution_seconds)
        rows = []
        for cid, at in zip(ids, ats, strict=True):
            c = self.cameras.get(cid)
            if c is None or c.status == CameraStatus.DECOMMISSIONED:
                continue
            if not c.online or c.last_seen_at is None or c.last_seen_at < at - step:
                rows.append(HealthRow(c.id, c.code, c.unit_id, c.online, c.last_seen_at))
        return sorted(rows, key=lambda r: r.id)

    async def touch(self, *, ids: Sequence[uuid.UUID], ats: Sequence[datetime]) -> None:
        for cid, at in zip(ids, ats, strict=True):
            c = self.cameras[cid]
            self.put(replace(c, last_seen_at=max(at, c.last_seen_at or at)))

    async def bring_online(self, *, ids: Sequence[uuid.UUID], ats: Sequence[datetime]) -> None:
        for cid, at in zip(ids, ats, strict=True):
            self.put(replace(self.cameras[cid], online=True, last_seen_at=at))
            self.intervals_.append((cid, at, None))

    async def take_offline(self, *, offline_after_seconds: float, limit: int) -> list[HealthRow]:
        cutoff = self.clock() - timedelta(seconds=offline_after_seconds)
        silent = [
            c for c in sorted(self.cameras.values(), key=lambda c: c.id)
            if c.online and c.last_seen_at is not None and c.last_seen_at < cutoff
        ][:limit]  # fmt: skip
        for c in silent:
            self.put(replace(c, online=False))
        return [HealthRow(c.id, c.code, c.unit_id, False, c.last_seen_at) for c in silent]

    async def intervals(self, *, camera_id: uuid.UUID, start: datetime, end: datetime) -> list[Interval]:
        return [Interval(s, e) for c, s, e in self.intervals_ if c == camera_id]

    async def health_counts(self) -> HealthCounts:
        cams = self.cameras.values()
        online = sum(1 for c in cams if c.online and c.status != CameraStatus.DECOMMISSIONED)
        offline = sum(1 for c in cams if not c.online and c.status == CameraStatus.INSTALLED)
        return HealthCounts(online, offline, sum(1 for c in cams if c.status == CameraStatus.INSTALLED))


class FakePlanRepository(FakeRepository):
    def __init__(self, clock: Clock, *plans: InstallationPlan) -> None:
        self.clock = clock
        self.plans = {p.id: p for p in plans}

    async def add(self, *, plan_id: uuid.UUID, cmd: PlanInput) -> InstallationPlan:
        assert cmd.deadline is not None
        plan = InstallationPlan(
            plan_id,
            cmd.name,
            cmd.target,
            cmd.starts_on,
            cmd.deadline,
            dict(cmd.district_targets),
            1,
            self.clock(),
        )
        self.plans[plan_id] = plan
        return plan

    async def update(self, *, plan: InstallationPlan, cmd: PlanInput) -> InstallationPlan | None:
        if self.plans[plan.id].version != plan.version:
            return None
        assert cmd.deadline is not None
        updated = replace(
            plan, name=cmd.name, target=cmd.target, starts_on=cmd.starts_on, deadline=cmd.deadline,
            district_targets=dict(cmd.district_targets), version=plan.version + 1,
        )  # fmt: skip
        self.plans[plan.id] = updated
        return updated

    async def get(self, plan_id: uuid.UUID | None) -> InstallationPlan | None:
        if plan_id is None:
            return max(self.plans.values(), key=lambda p: p.created_at, default=None)
        return self.plans.get(plan_id)

    async def snapshot(self) -> None:
        pass

    async def status_counts(self, *, deadline: date) -> dict[str, StatusCounts]:
        return {}


class FakeNetworkUnitOfWork(FakeUnitOfWork, NetworkUnitOfWork):
    def __init__(self, *cameras: Camera) -> None:
        super().__init__(source="/d07/cameras")
        clock: Clock = lambda: self.clock_now  # noqa: E731
        self.cameras = FakeCameraRepository(clock, *cameras)  # type: ignore[assignment]
        self.plans = FakePlanRepository(clock)  # type: ignore[assignment]


# --- violations ----------------------------------------------------------------------------------------


class FakeViolationRepository(FakeRepository):
    def __init__(self, *violations: Violation, cameras: Mapping[uuid.UUID, str] | None = None) -> None:
        self.violations = {v.id: v for v in violations}
        self.log: list[Activity] = []
        self.locked_pairs: list[int] = []
        self.kinds = dict(KINDS)
        # Camera codes by id (the real repository joins the cameras table).
        self.codes = dict(cameras or {})

    def _append(
        self, violation_id: uuid.UUID, actor: str, action: str, details: Mapping[str, Any], at: datetime
    ) -> Activity:
        entry = Activity(len(self.log) + 1, violation_id, at, actor, action, dict(details))
        self.log.append(entry)
        return entry

    async def get(self, violation_id: uuid.UUID, *, for_update: bool = False) -> Violation | None:
        return self.violations.get(violation_id)

    async def apply(
        self, *, violation_id: uuid.UUID, status: ViolationStatus, fields: Mapping[str, Any], bump: bool
    ) -> Violation:
        v = self.violations[violation_id]
        v = replace(v, status=status, version=v.version + (1 if bump else 0), **fields)
        self.violations[violation_id] = v
        return v

    async def append_activity(
        self, *, violation_id: uuid.UUID, actor: str, action: Action, details: Mapping[str, Any], at: datetime
    ) -> Activity:
        return self._append(violation_id, actor, action.value, details, at)

    async def activity(self, violation_id: uuid.UUID) -> list[Activity]:
        return [a for a in self.log if a.violation_id == violation_id]

    async def kind_rules(self) -> dict[str, KindRule]:
        return dict(self.kinds)

    async def lock_pairs(self, keys: Sequence[int]) -> None:
        self.locked_pairs += keys

    async def open_violations(self, pairs: Sequence[tuple[uuid.UUID, str]]) -> list[OpenViolation]:
        found = []
        for camera_id, kind in pairs:
            open_ = [
                v
                for v in self.violations.values()
                if (v.camera_id, v.kind) == (camera_id, kind) and v.is_open
            ]
            if open_:
                v = max(open_, key=lambda v: v.last_seen_at)
                found.append(OpenViolation(v.id, v.camera_id, v.kind, v.first_seen_at, v.last_seen_at))
        return found

    async def insert_openings(self, openings: Sequence[Opening]) -> None:
        for o in openings:
            self.violations[o.id] = Violation(
                id=o.id, camera_id=o.camera.id, camera_code=o.camera.code, unit_id=o.camera.unit_id,
                kind=o.kind, priority=o.priority, status=ViolationStatus.NEW, opened_at=o.opened_at,
                first_seen_at=o.first_seen_at, last_seen_at=o.last_seen_at,
                detection_count=len(o.detection_ids),
                max_confidence=o.max_confidence, react_by=o.react_by, overdue_at=None, acknowledged_at=None,
                acknowledged_by=None, handed_over_at=None, handed_over_by=None, handed_over_to=None,
                assignee=None, team=None, closed_at=None, outcome=None, version=1,
            )  # fmt: skip

    async def join(self, joinings: Sequence[Joining]) -> dict[uuid.UUID, Violation]:
        out = {}
        for j in joinings:
            v = self.violations[j.id]
            v = replace(
                v, detection_count=v.detection_count + len(j.detection_ids),
                first_seen_at=min(v.first_seen_at, j.first_seen_at),
                last_seen_at=max(v.last_seen_at, j.last_seen_at),
                max_confidence=max(v.max_confidence, j.max_confidence),
            )  # fmt: skip
            self.violations[j.id] = out[j.id] = v
        return out

    async def add_system_activity(
        self, rows: Sequence[tuple[uuid.UUID, Action | str, Mapping[str, Any]]]
    ) -> None:
        for violation_id, action, details in rows:
            self._append(violation_id, "system", str(action), details, NOW)

    async def flag_overdue(self, *, now: datetime, limit: int) -> list[Violation]:
        due = sorted(
            (v for v in self.violations.values()
             if v.status == ViolationStatus.NEW and v.overdue_at is None and v.react_by <= now),
            key=lambda v: (v.react_by, str(v.id)),
        )[:limit]  # fmt: skip
        for v in due:
            self.violations[v.id] = replace(v, overdue_at=now)
        return [self.violations[v.id] for v in due]

    async def append_overdue(self, *, violations: Sequence[Violation], at: datetime) -> None:
        for v in violations:
            self._append(v.id, "system", Action.OVERDUE.value, {"react_by": v.react_by.isoformat()}, at)

    async def next_deadline(self) -> datetime | None:
        due = [
            v.react_by
            for v in self.violations.values()
            if v.status == ViolationStatus.NEW and v.overdue_at is None
        ]
        return min(due, default=None)

    async def gauges(self) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        for v in self.violations.values():
            if v.status in OPEN:
                n, o = out.get(v.priority, (0, 0))
                out[v.priority] = (n + 1, o + (1 if v.status == ViolationStatus.NEW and v.overdue_at else 0))
        return out


class FakeViolationsUnitOfWork(FakeUnitOfWork, ViolationsUnitOfWork):
    def __init__(self, *violations: Violation) -> None:
        super().__init__(source="/d07/cameras")
        self.violations = FakeViolationRepository(*violations)  # type: ignore[assignment]


# --- detections ----------------------------------------------------------------------------------------


class FakeDetectionRepository(FakeRepository):
    def __init__(self, cameras: Sequence[Camera]) -> None:
        self.network = [c for c in cameras]
        self.stored: dict[uuid.UUID, tuple[Detection, uuid.UUID | None]] = {}

    def _refs(self, cameras: Sequence[Camera]) -> list[CameraRef]:
        return [CameraRef(c.id, c.code, c.status.value, c.unit_id) for c in cameras]

    async def cameras(self) -> list[CameraRef]:
        return self._refs(self.network)

    async def cameras_by_code(self, codes: Sequence[str]) -> list[CameraRef]:
        return self._refs([c for c in self.network if c.code in codes])

    async def insert(
        self, items: Sequence[tuple[Detection, CameraRef]], *, door: str, links: Mapping[uuid.UUID, uuid.UUID]
    ) -> set[uuid.UUID]:
        new = {d.detection_id for d, _ in items if d.detection_id not in self.stored}
        for d, _ in items:
            if d.detection_id in new:
                self.stored[d.detection_id] = (d, links.get(d.detection_id))
        return new

    async def link(self, assignments: Sequence[tuple[uuid.UUID, uuid.UUID | None]]) -> None:
        for detection_id, violation_id in assignments:
            self.stored[detection_id] = (self.stored[detection_id][0], violation_id)


class FakeDetectionsUnitOfWork(FakeUnitOfWork, DetectionsUnitOfWork):
    def __init__(self, *cameras: Camera, violations: Sequence[Violation] = ()) -> None:
        super().__init__(source="/d07/cameras")
        clock: Clock = lambda: self.clock_now  # noqa: E731
        self.detections = FakeDetectionRepository(cameras)  # type: ignore[assignment]
        self.violations = FakeViolationRepository(*violations)  # type: ignore[assignment]
        self.cameras = FakeCameraRepository(clock, *cameras)  # type: ignore[assignment]
        self.plans = FakePlanRepository(clock)  # type: ignore[assignment]
