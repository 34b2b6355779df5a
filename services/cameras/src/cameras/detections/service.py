"""The one path of detections: resolve cameras, store once, open or join violations, mark cameras seen.

`store` is what every door ends in, inside the transaction of its batch (the consumer's, with the inbox row;
the gRPC and HTTP doors' own). `ingest` is the gRPC and HTTP doors' handler: it takes the detections that
passed the pure checks, refuses those whose camera is unknown or decommissioned, and stores the rest, naming
every refusal by its index.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

from cameras.config import CamerasSettings
from cameras.detections import opening
from cameras.detections import repository as repo
from cameras.detections.directory import Directory
from cameras.detections.domain import CameraRef, Detection, Rejected, check_camera
from cameras.detections.metrics import DUPLICATES, REJECTED, STORED, VIOLATIONS_OPENED
from cameras.network import health
from d07.platform import audit
from d07.platform.auth import ADMIN, CAMERA_GATEWAY, Principal, require_roles
from d07.platform.db import Conn
from d07.platform.runtime import Deps

# The most detections one gRPC message or one HTTP request may carry (a bigger batch is refused whole).
MAX_BATCH = 10_000
DIRECTORY_KEY = "detections.directory"


@dataclass
class Stored:
    """What one batch came to: detections stored for the first time, repeats, violations opened and joined."""

    stored: int = 0
    duplicates: int = 0
    opened: int = 0
    joined: int = 0


@dataclass(frozen=True)
class Rejection:
    index: int
    reason: str
    detail: str
    detection_id: str = ""


@dataclass
class IngestResult:
    accepted: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)


@dataclass(frozen=True)
class Rules:
    """The settings that shape the path."""

    max_skew: timedelta
    join_window: timedelta


async def store(
    conn: Conn,
    items: Sequence[tuple[Detection, CameraRef]],
    *,
    door: str,
    directory: Directory,
    rules: Rules,
    now: datetime | None = None,
) -> Stored:
    """Store valid detections of known cameras (a repeated id is skipped, whichever door stored it first),
    open or join violations for the new ones, and mark their cameras seen, all in the caller's transaction."""
    if not items:
        return Stored()
    now = now or datetime.now(UTC)
    unique: dict[uuid.UUID, tuple[Detection, CameraRef]] = {}
    for item in items:
        unique.setdefault(item[0].detection_id, item)
    kinds = directory.kinds
    sightings = [
        opening.Sighting(d.detection_id, camera, d.kind, d.occurred_at, d.confidence)
        for d, camera in unique.values()
    ]
    # Plan first, so each detection is stored with its violation in one statement; a repeat (rare on the
    # topic, whose inbox turns most away) is found by the insert, and the plan is made again without it.
    found = await opening.read_open(conn, sightings, rules=kinds)
    plan = opening.plan(sightings, found, kinds, window=rules.join_window, now=now)
    links = dict(plan.assignments())
    new = await repo.insert_detections(conn, list(unique.values()), door=door, links=links)
    if len(new) < len(unique):
        plan = opening.plan(
            [s for s in sightings if s.detection_id in new], found, kinds, window=rules.join_window, now=now
        )
        links = dict(plan.assignments())
        await repo.link_detections(conn, [(d, links.get(d)) for d in new])
    await opening.write(conn, plan)
    result = Stored(
        stored=len(new), duplicates=len(items) - len(new), opened=len(plan.opened), joined=len(plan.joined)
    )
    await health.mark_seen(conn, directory.not_seen_lately(unique.values(), health.SEEN_RESOLUTION_SECONDS))
    STORED.labels(door=door).inc(result.stored)
    if result.duplicates:
        DUPLICATES.inc(result.duplicates)
    for o in plan.opened:
        VIOLATIONS_OPENED.labels(kind=o.kind).inc()
    return result


async def resolve_cameras(
    conn: Conn, detections: Sequence[Detection], directory: Directory
) -> list[CameraRef | Rejected]:
    """Each detection's camera, or why it is refused: against a fresh directory, the codes it does not know
    looked up in the database first."""
    await directory.ensure_fresh(conn)
    await directory.resolve(conn, {d.camera_code for d in detections})
    out: list[CameraRef | Rejected] = []
    for d in detections:
        try:
            out.append(check_camera(d.camera_code, directory.by_code.get(d.camera_code)))
        except Rejected as exc:
            out.append(exc)
    return out


async def ingest(
    pool: asyncpg.Pool,
    detections: Sequence[tuple[int, Detection]],
    rejected: Sequence[Rejection],
    *,
    door: str,
    principal: Principal,
    directory: Directory,
    rules: Rules,
) -> IngestResult:
    """The gRPC and HTTP doors: `detections` passed the pure checks (with their index in the caller's input),
    `rejected` did not. Valid detections are stored in one transaction, with one audit row for the batch."""
    require_roles(principal, CAMERA_GATEWAY, ADMIN)
    refused = list(rejected)
    result = IngestResult()
    async with pool.acquire() as conn, conn.transaction():
        cameras = await resolve_cameras(conn, [d for _, d in detections], directory)
        valid: list[tuple[Detection, CameraRef]] = []
        for (index, d), camera in zip(detections, cameras, strict=True):
            if isinstance(camera, Rejected):
                refused.append(Rejection(index, camera.reason, camera.detail, str(d.detection_id)))
            else:
                valid.append((d, camera))
        stored = await store(conn, valid, door=door, directory=directory, rules=rules)
        if valid or refused:
            await audit.record(
                conn,
                action="detections.ingest",
                object_type="detection_batch",
                object_id=str(uuid.uuid4()),
                details={
                    "door": door,
                    "stored": stored.stored,
                    "duplicates": stored.duplicates,
                    "rejected": len(refused),
                    "violations_opened": stored.opened,
                },
            )
    for r in refused:
        REJECTED.labels(door=door, reason=r.reason).inc()
    result.accepted = len(valid)
    result.stored, result.duplicates = stored.stored, stored.duplicates
    result.rejected = sorted(refused, key=lambda r: r.index)
    return result


def rules_of(settings: object) -> Rules:
    """The path's settings: D07_DETECTION_MAX_SKEW_SECONDS, D07_VIOLATION_JOIN_WINDOW_SECONDS."""
    assert isinstance(settings, CamerasSettings)
    return Rules(
        max_skew=timedelta(seconds=settings.detection_max_skew_seconds),
        join_window=timedelta(seconds=settings.violation_join_window_seconds),
    )


def directory_of(deps: Deps) -> Directory:
    """The process's one camera directory, shared by the three doors."""
    directory = deps.extra.get(DIRECTORY_KEY)
    if directory is None:
        settings = deps.settings
        assert isinstance(settings, CamerasSettings)
        directory = Directory(refresh_seconds=settings.detection_camera_refresh_seconds)
        deps.extra[DIRECTORY_KEY] = directory
    assert isinstance(directory, Directory)
    return directory
