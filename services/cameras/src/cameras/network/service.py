"""Handlers of the camera network: cameras, their status, the installation plan, heartbeats and online time.

Each change is one transaction that writes the state, its audit row and its event (through the outbox)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

import asyncpg

from cameras.network import health
from cameras.network import repository as cameras_repo
from cameras.network.domain import (
    Camera,
    CameraFilter,
    CameraStatus,
    ChangeStatus,
    CreateCamera,
    InstallationPlan,
    PlanInput,
    Progress,
    UpdateCamera,
    changed_fields,
    check_status_change,
    day_bounds,
    day_range,
    ensure_version,
    online_seconds_per_day,
    progress,
    today_in_vietnam,
    validate,
    validate_plan,
    validate_update,
)
from cameras.network.messages import (
    CAMERAS_TOPIC,
    PLANS_TOPIC,
    SOURCE,
    STATUS_FROM_PB,
    STATUS_TO_PB,
    actor,
    camera_to_pb,
    plan_to_pb,
)
from d07.cameras.v1 import cameras_pb2 as pb
from d07.platform import audit
from d07.platform.auth import (
    ADMIN,
    AUDITOR,
    CAMERA_GATEWAY,
    CHAIRMAN_OFFICE,
    DIC_OPERATOR,
    POLICE,
    SERVICE,
    UNIT_OFFICER,
    Principal,
    ensure_unit_access,
    require_roles,
)
from d07.platform.db import Conn
from d07.platform.errors import (
    AlreadyExists,
    Conflict,
    FieldProblem,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from d07.platform.events import outbox
from d07.platform.pagination import decode_cursor, encode_cursor, page_size

__all__ = ["CAMERAS_TOPIC", "STATUS_FROM_PB", "camera_to_pb"]

MANAGERS = (ADMIN, DIC_OPERATOR)
PROVINCE_READERS = (ADMIN, DIC_OPERATOR, POLICE, AUDITOR, CHAIRMAN_OFFICE, SERVICE)
READERS = (*PROVINCE_READERS, UNIT_OFFICER)
HEARTBEAT_SENDERS = (CAMERA_GATEWAY, ADMIN)
# A heartbeat dated further ahead than this is refused; a smaller lead (a gateway's clock) counts as now.
HEARTBEAT_MAX_LEAD = timedelta(minutes=5)
UUID_TEXT = re.compile(r"^[0-9a-fA-F-]{32,36}$")


class Registry(Protocol):
    async def missing_units(self, unit_ids: list[str]) -> list[str]: ...

    async def divisions(self) -> dict[str, frozenset[str]]: ...


def parse_id(value: str, field: str = "id") -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidArgument(
            "not an id", code="invalid_id", fields=[FieldProblem(field, "a UUID is expected")]
        ) from None


def _now() -> datetime:
    return datetime.now(UTC)


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


def _stale(camera: Camera) -> Conflict:
    return Conflict(
        f"the camera changed since it was read (now version {camera.version})",
        code="stale_version", resource_type="camera", resource_id=str(camera.id),
    )  # fmt: skip


async def _announce_update(
    conn: Conn, camera: Camera, *, principal: Principal, previous: CameraStatus | None = None
) -> None:
    await outbox.add(
        conn,
        topic=CAMERAS_TOPIC,
        key=str(camera.id),
        source=SOURCE,
        subject=str(camera.id),
        message=pb.CameraUpdated(
            camera=camera_to_pb(camera),
            actor=actor(principal),
            previous_status=STATUS_TO_PB[previous] if previous else pb.CAMERA_STATUS_UNSPECIFIED,
        ),
    )


# --- cameras -------------------------------------------------------------------------------------------


async def create_camera(
    pool: asyncpg.Pool, registry: Registry, cmd: CreateCamera, *, principal: Principal
) -> Camera:
    require_roles(principal, *MANAGERS)
    cmd = validate(cmd, today=today_in_vietnam(_now()))
    district, commune = await _check_references(
        registry, unit_id=cmd.unit_id, district_code=cmd.district_code, commune_code=cmd.commune_code
    )
    cmd = replace(cmd, district_code=district, commune_code=commune)
    async with pool.acquire() as conn, conn.transaction():
        camera = await cameras_repo.add(conn, camera_id=uuid.uuid4(), cmd=cmd)
        if camera is None:
            raise AlreadyExists(
                f"a camera with code {cmd.code} exists",
                code="camera_code_taken",
                resource_type="camera",
                resource_id=cmd.code,
            )
        await audit.record(
            conn,
            action="camera.create",
            object_type="camera",
            object_id=str(camera.id),
            unit_id=cmd.unit_id or None,
            details={"code": camera.code, "unit_id": cmd.unit_id, "status": camera.status.value},
        )
        await outbox.add(
            conn,
            topic=CAMERAS_TOPIC,
            key=str(camera.id),
            source=SOURCE,
            subject=str(camera.id),
            message=pb.CameraRegistered(camera=camera_to_pb(camera), actor=actor(principal)),
        )
    return camera


def _ensure_reads(principal: Principal, camera: Camera) -> None:
    ensure_unit_access(principal, str(camera.unit_id) if camera.unit_id else None)


async def get_camera(pool: asyncpg.Pool, camera_id: str, *, principal: Principal) -> Camera:
    require_roles(principal, *READERS)
    cid = parse_id(camera_id)
    async with pool.acquire() as conn:
        camera = await cameras_repo.get(conn, camera_id=cid)
    if camera is None:
        raise _not_found(cid)
    _ensure_reads(principal, camera)
    return camera


async def update_camera(
    pool: asyncpg.Pool, registry: Registry, cmd: UpdateCamera, *, principal: Principal
) -> Camera:
    """New details of a camera read at `cmd.version` (a stale version is refused: re-read and retry)."""
    require_roles(principal, *MANAGERS)
    async with pool.acquire() as conn:
        camera = await cameras_repo.get(conn, camera_id=cmd.camera_id)
    if camera is None:
        raise _not_found(cmd.camera_id)
    ensure_version(camera, cmd.version)
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
    async with pool.acquire() as conn, conn.transaction():
        updated = await cameras_repo.update(conn, camera=camera, cmd=cmd)
        if updated is None:
            now = await cameras_repo.get(conn, camera_id=camera.id)
            raise _stale(now or camera)
        await audit.record(
            conn,
            action="camera.update",
            object_type="camera",
            object_id=str(camera.id),
            unit_id=cmd.unit_id or None,
            details={"changed": changed, "version": updated.version},
        )
        await _announce_update(conn, updated, principal=principal)
    return updated


async def change_camera_status(pool: asyncpg.Pool, cmd: ChangeStatus, *, principal: Principal) -> Camera:
    require_roles(principal, *MANAGERS)
    async with pool.acquire() as conn, conn.transaction():
        camera = await cameras_repo.get(conn, camera_id=cmd.camera_id, for_update=True)
        if camera is None:
            raise _not_found(cmd.camera_id)
        ensure_version(camera, cmd.version)
        status, dates = check_status_change(camera, cmd, today=today_in_vietnam(_now()))
        updated = await cameras_repo.set_status(conn, camera=camera, status=status, dates=dates)
        if updated is None:
            raise _stale(camera)
        await audit.record(
            conn,
            action=f"camera.{status.value}",
            object_type="camera",
            object_id=str(camera.id),
            unit_id=str(camera.unit_id) if camera.unit_id else None,
            details={"from": camera.status.value, "to": status.value, "version": updated.version},
        )
        await _announce_update(conn, updated, principal=principal, previous=camera.status)
    return updated


async def list_cameras(
    pool: asyncpg.Pool,
    *,
    where: CameraFilter,
    requested_size: int | None,
    page_token: str,
    principal: Principal,
) -> tuple[list[Camera], str]:
    """A page of cameras and the token of the next page ('' on the last). A unit officer sees the cameras
    covering its own unit only."""
    require_roles(principal, *READERS)
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
    limit = page_size(requested_size)
    position = decode_cursor(page_token, filters=where.fingerprint())
    after = (str(position[0]), parse_id(str(position[1]), "page_token")) if position else None
    async with pool.acquire() as conn:
        rows = await cameras_repo.page(conn, where=where, after=after, limit=limit + 1)
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


async def _announce_plan(conn: Conn, plan: InstallationPlan, *, principal: Principal, action: str) -> None:
    await audit.record(
        conn,
        action=action,
        object_type="installation_plan",
        object_id=str(plan.id),
        details={"target": plan.target, "deadline": plan.deadline.isoformat(), "version": plan.version},
    )
    await outbox.add(
        conn,
        topic=PLANS_TOPIC,
        key=str(plan.id),
        source=SOURCE,
        subject=str(plan.id),
        message=pb.InstallationPlanSet(plan=plan_to_pb(plan), actor=actor(principal)),
    )


async def create_plan(
    pool: asyncpg.Pool, registry: Registry, cmd: PlanInput, *, principal: Principal
) -> InstallationPlan:
    require_roles(principal, *MANAGERS)
    cmd = validate_plan(cmd)
    await _check_plan_districts(registry, cmd)
    async with pool.acquire() as conn, conn.transaction():
        plan = await cameras_repo.add_plan(conn, plan_id=uuid.uuid4(), cmd=cmd)
        await _announce_plan(conn, plan, principal=principal, action="installation_plan.create")
    return plan


async def update_plan(
    pool: asyncpg.Pool,
    registry: Registry,
    plan_id: str,
    version: int,
    cmd: PlanInput,
    *,
    principal: Principal,
) -> InstallationPlan:
    require_roles(principal, *MANAGERS)
    pid = parse_id(plan_id)
    cmd = validate_plan(cmd)
    await _check_plan_districts(registry, cmd)
    async with pool.acquire() as conn, conn.transaction():
        plan = await cameras_repo.get_plan(conn, plan_id=pid)
        if plan is None:
            raise NotFound(f"no plan {pid}", code="plan_not_found", resource_type="installation_plan")
        if plan.version != version:
            raise Conflict(
                f"the plan changed since it was read (version {plan.version})", code="stale_version",
                resource_type="installation_plan", resource_id=str(pid),
            )  # fmt: skip
        updated = await cameras_repo.update_plan(conn, plan=plan, cmd=cmd)
        if updated is None:
            raise Conflict("the plan changed since it was read", code="stale_version")
        await _announce_plan(conn, updated, principal=principal, action="installation_plan.update")
    return updated


@dataclass(frozen=True)
class InstallationProgress:
    plan: InstallationPlan
    total: Progress
    districts: list[Progress]
    days_left: int
    as_of: datetime


async def installation_progress(
    pool: asyncpg.Pool, plan_id: str, *, principal: Principal
) -> InstallationProgress:
    """The plan (by id, or the latest) against the network as it stands now, read in one snapshot."""
    require_roles(principal, *PROVINCE_READERS)
    pid = parse_id(plan_id, "plan_id") if plan_id else None
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        plan = await cameras_repo.get_plan(conn, plan_id=pid)
        if plan is None:
            raise NotFound(
                "no installation plan" + (f" {pid}" if pid else " yet"),
                code="plan_not_found", resource_type="installation_plan", resource_id=str(pid or ""),
            )  # fmt: skip
        counts = await cameras_repo.status_counts(conn, deadline=plan.deadline)
    now = _now()
    total, districts = progress(plan, counts)
    return InstallationProgress(plan, total, districts, (plan.deadline - today_in_vietnam(now)).days, now)


# --- health --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rejected:
    index: int
    reason: str
    camera_id: str


async def send_heartbeats(
    pool: asyncpg.Pool,
    heartbeats: Sequence[tuple[str, datetime | None]],
    *,
    principal: Principal,
    first_index: int = 0,
) -> tuple[int, list[Rejected]]:
    """Heartbeats `(camera code or id, time or None for now)`: how many were accepted and each refused one by
    index (counted from `first_index`) and reason. The accepted ones mark their cameras seen in one
    transaction. Heartbeats are not audited one by one: they are a machine's pulse, not a change by someone;
    the transitions they cause are events."""
    require_roles(principal, *HEARTBEAT_SENDERS)
    now = _now()
    rejected: list[Rejected] = []
    parsed: list[tuple[int, str, uuid.UUID | None, datetime]] = []
    for n, (ref, at) in enumerate(heartbeats, start=first_index):
        ref = ref.strip()
        at = at or now
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        if at - now > HEARTBEAT_MAX_LEAD:
            rejected.append(Rejected(n, "future_time", ref))
        elif ref.upper().startswith("CAM-"):
            parsed.append((n, ref.upper(), None, at))
        elif UUID_TEXT.match(ref):
            parsed.append((n, ref, uuid.UUID(ref), at))
        else:
            rejected.append(Rejected(n, "invalid_camera_id", ref))
    seen_at: dict[uuid.UUID, datetime] = {}
    async with pool.acquire() as conn, conn.transaction():
        by_code = await cameras_repo.ids_by_code(
            conn, codes=[code for _, code, cid, _ in parsed if cid is None]
        )
        by_id = await cameras_repo.statuses(conn, ids=[cid for _, _, cid, _ in parsed if cid is not None])
        for n, ref, cid, at in parsed:
            found = by_code.get(ref) if cid is None else ((cid, by_id[cid]) if cid in by_id else None)
            if found is None:
                rejected.append(Rejected(n, "unknown_camera", ref))
            elif found[1] == CameraStatus.DECOMMISSIONED:
                rejected.append(Rejected(n, "decommissioned", ref))
            else:
                seen_at[found[0]] = max(at, seen_at.get(found[0], at))
        await health.mark_seen(conn, seen_at)
    accepted = len(heartbeats) - len(rejected)
    return accepted, sorted(rejected, key=lambda r: r.index)


async def camera_uptime(
    pool: asyncpg.Pool, camera_id: str, first: date | None, last: date | None, *, principal: Principal
) -> dict[date, int]:
    """Online seconds of one camera per day (Vietnam time) from `first` to `last` (default: today)."""
    require_roles(principal, *READERS)
    cid = parse_id(camera_id, "camera_id")
    now = _now()
    last = last or today_in_vietnam(now)
    days = day_range(first or last, last)
    async with pool.acquire() as conn:
        camera = await cameras_repo.get(conn, camera_id=cid)
        if camera is None:
            raise _not_found(cid)
        _ensure_reads(principal, camera)
        intervals = await cameras_repo.intervals(
            conn, camera_id=cid, start=day_bounds(days[0])[0], end=day_bounds(days[-1])[1]
        )
    return online_seconds_per_day(intervals, days, now=now)
