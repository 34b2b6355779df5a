"""Handlers of the camera network: cameras, their status, the installation plan, heartbeats and online time.

Each change is one transaction that writes the state, its audit row and its event (through the outbox).

Health: signs of life (heartbeats through every door, detections on the topic) keep a camera online; a silence
longer than the configured threshold makes it offline. Each transition is announced once, in the transaction
that makes it (CameraCameOnline, CameraWentOffline), and opens or closes an online interval, from which online
seconds per day are read. `mark_seen` runs in the caller's open unit of work (a heartbeat's, or a detections
batch's), `take_offline` is the health worker's pass.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any, Protocol, TypeVar

from prometheus_client import Counter

from cameras import permissions
from cameras.config import CamerasSettings
from cameras.network.domain import (
    Camera,
    CameraStatus,
    ChangeStatus,
    CreateCamera,
    CreatePlan,
    GetCamera,
    GetProgress,
    GetUptime,
    HealthCounts,
    HealthRow,
    HeartbeatsResult,
    InstallationPlan,
    InstallationProgress,
    ListCameras,
    PlanInput,
    RejectedHeartbeat,
    SeenEffect,
    SendHeartbeats,
    UpdateCamera,
    UpdatePlan,
    changed_fields,
    check_status_change,
    clamp_seen_time,
    day_bounds,
    day_range,
    heartbeat_before_registration,
    heartbeat_time_problem,
    online_seconds_per_day,
    progress,
    seen_effect,
    validate,
    validate_plan,
    validate_update,
)
from cameras.network.messages import (
    CAMERAS_TOPIC,
    PLANS_TOPIC,
    came_online,
    camera_to_pb,
    plan_to_pb,
    status_to_pb,
    went_offline,
)
from cameras.network.repository import CameraRepository, PlanRepository
from d07.cameras.v1 import cameras_pb2 as pb
from d07.platform import audit
from d07.platform.auth import (
    Principal,
    ensure_unit_access,
    require_roles,
)
from d07.platform.convert import actor, parse_uuid
from d07.platform.db import Conn
from d07.platform.errors import (
    AlreadyExists,
    FieldProblem,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    StaleVersion,
    ensure_version,
)
from d07.platform.pagination import decode_cursor, encode_cursor, page_size
from d07.platform.uow import UnitOfWork

# The role lists come from the service's one permissions table.
MANAGERS = permissions.CAMERA_MANAGERS
PROVINCE_READERS = permissions.CAMERA_PROVINCE_READERS
READERS = permissions.CAMERA_READERS
HEARTBEAT_SENDERS = permissions.HEARTBEAT_SENDERS
UUID_TEXT = re.compile(r"^[0-9a-fA-F-]{32,36}$")
# An online camera's last-seen time is rewritten at most once per this many seconds of newer signs: a camera
# sending many detections a second costs one row update a second, not one per batch. It bounds the error of
# online time and must stay well below the offline threshold.
SEEN_RESOLUTION_SECONDS = 1.0
# The offline check handles at most this many cameras per transaction.
OFFLINE_BATCH = 1000

TRANSITIONS = Counter(
    "d07_camera_health_transitions_total",
    "Cameras that came online or went offline",
    ["to"],
)


class NetworkUnitOfWork(UnitOfWork):
    cameras: CameraRepository
    plans: PlanRepository

    def bind(self, conn: Conn) -> None:
        super().bind(conn)
        self.cameras = CameraRepository(conn)
        self.plans = PlanRepository(conn)


class Registry(Protocol):
    """What the handlers ask the registry (cameras.network.registry_client over gRPC)."""

    async def missing_units(self, unit_ids: list[str]) -> list[str]: ...

    async def divisions(self) -> dict[str, frozenset[str]]: ...


U = TypeVar("U", bound=UnitOfWork)


class NetworkDeps(Protocol):
    """What the network's doors and workers take of the service's dependencies (cameras.bootstrap's
    CamerasDeps)."""

    @property
    def settings(self) -> CamerasSettings: ...

    @property
    def registry(self) -> Registry: ...

    def uow(self, cls: type[U]) -> U: ...


async def _check_references(
    registry: Registry, *, unit_id: str, district_code: str, commune_code: str
) -> tuple[str, str]:
    """The unit must exist in the registry, the district and commune be the registry's, the commune in the
    district. A commune given alone gets its district. Returns (district, commune)."""
    problems: list[FieldProblem] = []
    if district_code or commune_code:
        divisions = await registry.divisions()
        if commune_code and not district_code:
            district_code = next((d for d, cs in divisions.items() if commune_code in cs), "")
            if not district_code:
                problems.append(FieldProblem("commune_code", f"no commune {commune_code} in the province"))
        elif district_code not in divisions:
            problems.append(FieldProblem("district_code", f"no district {district_code} in the province"))
        elif commune_code and commune_code not in divisions[district_code]:
            problems.append(
                FieldProblem("commune_code", f"commune {commune_code} is not in district {district_code}")
            )
    if problems:
        raise InvalidArgument("the camera's place is not valid", code="unknown_division", fields=problems)
    if unit_id and await registry.missing_units([unit_id]):
        raise InvalidArgument(
            "the camera covers a unit the registry does not know",
            code="unknown_unit",
            fields=[FieldProblem("unit_id", f"no unit {unit_id} in the registry")],
        )
    return district_code, commune_code


def _not_found(camera_id: uuid.UUID) -> NotFound:
    return NotFound(
        f"no camera {camera_id}", code="camera_not_found", resource_type="camera", resource_id=str(camera_id)
    )


async def _current(uow: NetworkUnitOfWork, camera_id: uuid.UUID, version: int) -> Camera:
    """The camera, locked, if the caller read it at `version`."""
    camera = await uow.cameras.get(camera_id, for_update=True)
    if camera is None:
        raise _not_found(camera_id)
    ensure_version(version, camera.version, what="camera", object_id=camera.id)
    return camera


async def _announce_update(
    uow: NetworkUnitOfWork, camera: Camera, *, principal: Principal, previous: CameraStatus | None = None
) -> None:
    await uow.publish(
        CAMERAS_TOPIC,
        key=str(camera.id),
        subject=str(camera.id),
        message=pb.CameraUpdated(
            camera=camera_to_pb(camera), actor=actor(principal), previous_status=status_to_pb(previous)
        ),
    )


# --- cameras -------------------------------------------------------------------------------------------


async def create_camera(
    uow: NetworkUnitOfWork, cmd: CreateCamera, principal: Principal, *, registry: Registry
) -> Camera:
    require_roles(principal, *MANAGERS)
    cmd = validate(cmd, today=uow.today())
    district, commune = await _check_references(
        registry, unit_id=cmd.unit_id, district_code=cmd.district_code, commune_code=cmd.commune_code
    )
    cmd = replace(cmd, district_code=district, commune_code=commune)
    async with uow:
        camera = await uow.cameras.add(camera_id=uuid.uuid4(), cmd=cmd)
        if camera is None:
            raise AlreadyExists(
                f"a camera with code {cmd.code} exists",
                code="camera_code_taken",
                resource_type="camera",
                resource_id=cmd.code,
            )
        await uow.audit(
            action="camera.create",
            object_type="camera",
            object_id=str(camera.id),
            unit_id=cmd.unit_id or None,
            details={"code": camera.code, "unit_id": cmd.unit_id, "status": camera.status.value},
        )
        await uow.publish(
            CAMERAS_TOPIC,
            key=str(camera.id),
            subject=str(camera.id),
            message=pb.CameraRegistered(camera=camera_to_pb(camera), actor=actor(principal)),
        )
    return camera


def _ensure_reads(principal: Principal, camera: Camera) -> None:
    ensure_unit_access(principal, str(camera.unit_id) if camera.unit_id else None)


async def get_camera(uow: NetworkUnitOfWork, query: GetCamera, principal: Principal) -> Camera:
    require_roles(principal, *READERS)
    cid = parse_uuid(query.camera_id)
    async with uow:
        camera = await uow.cameras.get(cid)
    if camera is None:
        raise _not_found(cid)
    _ensure_reads(principal, camera)
    return camera


async def update_camera(
    uow: NetworkUnitOfWork, cmd: UpdateCamera, principal: Principal, *, registry: Registry
) -> Camera:
    """New details of a camera read at `cmd.version` (a stale version is refused: re-read and retry). The
    registry is asked between two transactions, never while a camera is locked."""
    require_roles(principal, *MANAGERS)
    async with uow:
        camera = await _current(uow, cmd.camera_id, cmd.version)
    cmd = validate_update(cmd, camera)
    changed = changed_fields(camera, cmd)
    if not changed:
        return camera
    district, commune = await _check_references(
        registry,
        unit_id=cmd.unit_id if "unit_id" in changed else "",
        district_code=cmd.district_code,
        commune_code=cmd.commune_code,
    )
    cmd = replace(cmd, district_code=district, commune_code=commune)
    async with uow:
        camera = await _current(uow, cmd.camera_id, cmd.version)
        updated = await uow.cameras.update(camera=camera, cmd=cmd)
        if updated is None:
            raise StaleVersion("the camera changed since it was read", code="stale_version")
        await uow.audit(
            action="camera.update",
            object_type="camera",
            object_id=str(camera.id),
            unit_id=cmd.unit_id or None,
            details={"changes": audit.changes(camera, updated), "version": updated.version},
        )
        await _announce_update(uow, updated, principal=principal)
    return updated


async def change_camera_status(uow: NetworkUnitOfWork, cmd: ChangeStatus, principal: Principal) -> Camera:
    require_roles(principal, *MANAGERS)
    async with uow:
        camera = await _current(uow, cmd.camera_id, cmd.version)
        status, dates = check_status_change(camera, cmd, today=uow.today())
        updated = await uow.cameras.set_status(camera=camera, status=status, dates=dates)
        if updated is None:
            raise StaleVersion("the camera changed since it was read", code="stale_version")
        await uow.audit(
            action=f"camera.{status.value}",
            object_type="camera",
            object_id=str(camera.id),
            unit_id=str(camera.unit_id) if camera.unit_id else None,
            details={
                "from": camera.status.value,
                "to": status.value,
                "changes": audit.changes(camera, updated),
                "version": updated.version,
            },
        )
        await _announce_update(uow, updated, principal=principal, previous=camera.status)
    return updated


async def list_cameras(
    uow: NetworkUnitOfWork, query: ListCameras, principal: Principal
) -> tuple[list[Camera], str]:
    """A page of cameras and the token of the next page ('' on the last). A unit officer sees the cameras
    covering its own unit only."""
    require_roles(principal, *READERS)
    where = query.where
    if principal.is_unit_officer_only:
        own = uuid.UUID(principal.unit_id) if principal.unit_id else None
        if own is None or (where.unit_id is not None and where.unit_id != own):
            raise PermissionDenied("a unit officer reads the cameras of its own unit", code="other_unit")
        where = replace(where, unit_id=own)
    if where.status and where.status not in {s.value for s in CameraStatus}:
        raise InvalidArgument(
            "unknown status", code="invalid_status",
            fields=[FieldProblem("status", "planned, installed or decommissioned")],
        )  # fmt: skip
    limit = page_size(query.page_size)
    position = decode_cursor(query.page_token, filters=where.fingerprint())
    after = (str(position[0]), parse_uuid(str(position[1]), "page_token")) if position else None
    async with uow:
        rows = await uow.cameras.page(where=where, after=after, limit=limit + 1)
    if len(rows) <= limit:
        return rows, ""
    last = rows[limit - 1]
    return rows[:limit], encode_cursor([last.code, str(last.id)], filters=where.fingerprint())


# --- the installation plan -----------------------------------------------------------------------------


async def _check_plan_districts(registry: Registry, cmd: PlanInput) -> None:
    if not cmd.district_targets:
        return
    divisions = await registry.divisions()
    unknown = sorted(set(cmd.district_targets) - set(divisions))
    if unknown:
        raise InvalidArgument(
            "the plan names districts the province does not have", code="unknown_division",
            fields=[FieldProblem(f"district_targets.{d}", "no such district") for d in unknown],
        )  # fmt: skip


async def _announce_plan(
    uow: NetworkUnitOfWork,
    plan: InstallationPlan,
    *,
    principal: Principal,
    action: str,
    before: InstallationPlan | None = None,
) -> None:
    details: dict[str, Any] = {"target": plan.target, "deadline": plan.deadline.isoformat()}
    if before is not None:
        details["changes"] = audit.changes(before, plan)
    await uow.audit(
        action=action,
        object_type="installation_plan",
        object_id=str(plan.id),
        details={**details, "version": plan.version},
    )
    await uow.publish(
        PLANS_TOPIC,
        key=str(plan.id),
        subject=str(plan.id),
        message=pb.InstallationPlanSet(plan=plan_to_pb(plan), actor=actor(principal)),
    )


async def create_plan(
    uow: NetworkUnitOfWork, cmd: CreatePlan, principal: Principal, *, registry: Registry
) -> InstallationPlan:
    require_roles(principal, *MANAGERS)
    plan_input = validate_plan(cmd.plan)
    await _check_plan_districts(registry, plan_input)
    async with uow:
        plan = await uow.plans.add(plan_id=uuid.uuid4(), cmd=plan_input)
        await _announce_plan(uow, plan, principal=principal, action="installation_plan.create")
    return plan


async def update_plan(
    uow: NetworkUnitOfWork, cmd: UpdatePlan, principal: Principal, *, registry: Registry
) -> InstallationPlan:
    require_roles(principal, *MANAGERS)
    pid = parse_uuid(cmd.plan_id)
    plan_input = validate_plan(cmd.plan)
    await _check_plan_districts(registry, plan_input)
    async with uow:
        plan = await uow.plans.get(pid)
        if plan is None:
            raise NotFound(f"no plan {pid}", code="plan_not_found", resource_type="installation_plan")
        ensure_version(cmd.version, plan.version, what="installation plan", object_id=pid)
        updated = await uow.plans.update(plan=plan, cmd=plan_input)
        if updated is None:
            raise StaleVersion("the plan changed since it was read", code="stale_version")
        await _announce_plan(
            uow, updated, principal=principal, action="installation_plan.update", before=plan
        )
    return updated


async def installation_progress(
    uow: NetworkUnitOfWork, query: GetProgress, principal: Principal
) -> InstallationProgress:
    """The plan (by id, or the latest) against the network as it stands now, read in one snapshot."""
    require_roles(principal, *PROVINCE_READERS)
    pid = parse_uuid(query.plan_id, "plan_id") if query.plan_id else None
    async with uow:
        await uow.plans.snapshot()
        plan = await uow.plans.get(pid)
        if plan is None:
            raise NotFound(
                "no installation plan" + (f" {pid}" if pid else " yet"),
                code="plan_not_found", resource_type="installation_plan", resource_id=str(pid or ""),
            )  # fmt: skip
        counts = await uow.plans.status_counts(deadline=plan.deadline)
    now = uow.now()
    total, districts = progress(plan, counts)
    return InstallationProgress(plan, total, districts, (plan.deadline - uow.today()).days, now)


# --- health --------------------------------------------------------------------------------------------


async def send_heartbeats(
    uow: NetworkUnitOfWork, cmd: SendHeartbeats, principal: Principal
) -> HeartbeatsResult:
    """Heartbeats (camera code or id, time or None for now): how many were accepted and each refused one by
    index (counted from `first_index`) and reason. The accepted ones mark their cameras seen in one
    transaction. Heartbeats are not audited one by one: they are a machine's pulse, not a change by someone;
    the transitions they cause are events."""
    require_roles(principal, *HEARTBEAT_SENDERS)
    now = uow.now()
    rejected: list[RejectedHeartbeat] = []
    parsed: list[tuple[int, str, uuid.UUID | None, datetime]] = []
    for n, beat in enumerate(cmd.heartbeats, start=cmd.first_index):
        ref = beat.camera.strip()
        at = beat.at or now
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        problem = heartbeat_time_problem(at, now=now, max_age=cmd.max_age)
        if problem is not None:
            rejected.append(RejectedHeartbeat(n, problem, ref))
        elif ref.upper().startswith("CAM-"):
            parsed.append((n, ref.upper(), None, at))
        elif UUID_TEXT.match(ref):
            parsed.append((n, ref, uuid.UUID(ref), at))
        else:
            rejected.append(RejectedHeartbeat(n, "invalid_camera_id", ref))
    seen_at: dict[uuid.UUID, datetime] = {}
    async with uow:
        by_code = await uow.cameras.ids_by_code([code for _, code, cid, _ in parsed if cid is None])
        by_id = await uow.cameras.statuses([cid for _, _, cid, _ in parsed if cid is not None])
        registered = await uow.cameras.registered_at(
            [*(v[0] for v in by_code.values()), *(cid for cid in by_id)]
        )
        for n, ref, cid, at in parsed:
            found = by_code.get(ref) if cid is None else ((cid, by_id[cid]) if cid in by_id else None)
            if found is None:
                rejected.append(RejectedHeartbeat(n, "unknown_camera", ref))
            elif found[1] == CameraStatus.DECOMMISSIONED:
                rejected.append(RejectedHeartbeat(n, "decommissioned", ref))
            elif heartbeat_before_registration(at, registered[found[0]]):
                rejected.append(RejectedHeartbeat(n, "before_registration", ref))
            else:
                seen_at[found[0]] = max(at, seen_at.get(found[0], at))
        await mark_seen(uow, seen_at)
    accepted = len(cmd.heartbeats) - len(rejected)
    return HeartbeatsResult(accepted, sorted(rejected, key=lambda r: r.index))


async def mark_seen(uow: NetworkUnitOfWork, seen_at: Mapping[uuid.UUID, datetime]) -> list[uuid.UUID]:
    """Mark cameras seen (a time per camera), in the caller's open unit of work: online cameras keep being
    online, offline ones come online with a CameraCameOnline event; the ids of those that came online.

    Unknown and decommissioned cameras are ignored; a time ahead of our clock counts as now; a sign older than
    what was seen already changes nothing (replaying a backlog does not make cameras flap)."""
    if not seen_at:
        return []
    now = uow.now()
    ats = {cid: clamp_seen_time(at, now) for cid, at in seen_at.items()}
    rows = await uow.cameras.lock_for_seen(
        ids=list(ats), ats=list(ats.values()), resolution_seconds=SEEN_RESOLUTION_SECONDS
    )
    touched: list[HealthRow] = []
    came: list[HealthRow] = []
    for row in rows:
        effect = seen_effect(online=row.online, last_seen_at=row.last_seen_at, at=ats[row.id])
        if effect == SeenEffect.TOUCH:
            touched.append(row)
        elif effect == SeenEffect.CAME_ONLINE:
            came.append(row)
    if touched:
        await uow.cameras.touch(ids=[r.id for r in touched], ats=[ats[r.id] for r in touched])
    if came:
        await uow.cameras.bring_online(ids=[r.id for r in came], ats=[ats[r.id] for r in came])
        await uow.publish_many(CAMERAS_TOPIC, [(str(r.id), came_online(r, ats[r.id])) for r in came])
        TRANSITIONS.labels("online").inc(len(came))
    return [r.id for r in came]


async def take_offline(uow: NetworkUnitOfWork, *, offline_after_seconds: float) -> list[uuid.UUID]:
    """The health worker's pass: the cameras silent past the threshold go offline, each with one
    CameraWentOffline event and its online interval closed, a transaction per batch; their ids."""
    gone: list[uuid.UUID] = []
    while True:
        async with uow:
            silent = await uow.cameras.take_offline(
                offline_after_seconds=offline_after_seconds, limit=OFFLINE_BATCH
            )
            if silent:
                detected = uow.now()
                await uow.publish_many(
                    CAMERAS_TOPIC, [(str(r.id), went_offline(r, detected)) for r in silent]
                )
        if silent:
            TRANSITIONS.labels("offline").inc(len(silent))
        gone += [r.id for r in silent]
        if len(silent) < OFFLINE_BATCH:
            return gone


async def health_counts(uow: NetworkUnitOfWork) -> HealthCounts:
    """The gauges: cameras in service online, installed ones not, and the installed ones."""
    async with uow:
        return await uow.cameras.health_counts()


async def camera_uptime(uow: NetworkUnitOfWork, query: GetUptime, principal: Principal) -> dict[date, int]:
    """Online seconds of one camera per day (Vietnam time) from `first` to `last` (default: today)."""
    require_roles(principal, *READERS)
    cid = parse_uuid(query.camera_id, "camera_id")
    now = uow.now()
    last = query.last or uow.today()
    days = day_range(query.first or last, last)
    async with uow:
        camera = await uow.cameras.get(cid)
        if camera is None:
            raise _not_found(cid)
        _ensure_reads(principal, camera)
        intervals = await uow.cameras.intervals(
            camera_id=cid, start=day_bounds(days[0])[0], end=day_bounds(days[-1])[1]
        )
    return online_seconds_per_day(intervals, days, now=now)
