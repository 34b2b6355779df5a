"""The one path of detections: resolve cameras, store once, open or join violations, mark cameras seen.

`store` is what every door ends in, inside the transaction of its batch (the consumer's, with the inbox row;
the gRPC and HTTP doors' own): it stores the detections, has the violations aggregate open or join violations
for them (cameras.violations.service: `read_open`, `carry_out`) and marks their cameras seen
(cameras.network.service.mark_seen). `ingest` is the gRPC and HTTP doors' handler: it checks every item,
refuses those whose camera is unknown or decommissioned, and stores the rest, naming every refusal by its
index.

Metrics: `d07_detections_received_total{door}`, `d07_detections_rejected_total{door,reason}`,
`d07_detections_stored_total{door}`, `d07_detections_duplicate_total`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol, TypeVar

from prometheus_client import Counter

from cameras import permissions
from cameras.config import CamerasSettings
from cameras.detections.domain import (
    Detection,
    Directory,
    IngestDetections,
    IngestResult,
    Rejected,
    Rejection,
    Rules,
    Stored,
    check_camera,
)
from cameras.detections.repository import DetectionRepository
from cameras.network import service as network
from cameras.network.domain import CameraRef
from cameras.network.service import NetworkUnitOfWork
from cameras.violations import service as violations
from cameras.violations.domain import Sighting, plan
from cameras.violations.service import ViolationsUnitOfWork
from d07.platform.auth import Principal, require_roles
from d07.platform.db import Conn
from d07.platform.errors import FieldProblem, InvalidArgument
from d07.platform.uow import UnitOfWork

# The most detections one gRPC message or one HTTP request may carry (a bigger batch is refused whole).
MAX_BATCH = 10_000
SENDERS = permissions.DETECTION_SENDERS  # from the service's one permissions table

RECEIVED = Counter(
    "d07_detections_received_total",
    "Detections received, valid or not, by door (kafka, grpc, http).",
    ["door"],
)
REJECTED = Counter(
    "d07_detections_rejected_total",
    "Detections refused, by door and reason (dead-lettered on the topic, named in the answer elsewhere).",
    ["door", "reason"],
)
DUPLICATES = Counter(
    "d07_detections_duplicate_total",
    "Valid detections whose id was stored already (a repeat through any door). Repeats of a topic message "
    'that the consumer\'s inbox turns away first are in d07_events_consumed_total{outcome="duplicate"}.',
)
STORED = Counter(
    "d07_detections_stored_total",
    "Detections stored for the first time, by door.",
    ["door"],
)

U = TypeVar("U", bound=UnitOfWork)


class DetectionsUnitOfWork(ViolationsUnitOfWork, NetworkUnitOfWork):
    """A batch of detections writes three aggregates' tables in one transaction: its detections, the
    violations they open or join, and the cameras they mark seen. The consumer's batch takes it `within` the
    runner's transaction (beside the inbox rows); the gRPC and HTTP doors' batches, from the pool."""

    detections: DetectionRepository

    def bind(self, conn: Conn) -> None:
        super().bind(conn)
        self.detections = DetectionRepository(conn)


class DetectionsDeps(Protocol):
    """What the detections' doors and consumer take of the service's dependencies (cameras.bootstrap's
    CamerasDeps)."""

    @property
    def settings(self) -> CamerasSettings: ...

    @property
    def directory(self) -> Directory: ...

    @property
    def source(self) -> str: ...

    def uow(self, cls: type[U]) -> U: ...


def rules_of(settings: CamerasSettings) -> Rules:
    """The path's settings: D07_DETECTION_MAX_SKEW_SECONDS, D07_VIOLATION_JOIN_WINDOW_SECONDS."""
    return Rules(
        max_skew=timedelta(seconds=settings.detection_max_skew_seconds),
        join_window=timedelta(seconds=settings.violation_join_window_seconds),
    )


def new_directory(settings: CamerasSettings) -> Directory:
    """The process's one camera directory, shared by the three doors (refreshed every
    D07_DETECTION_CAMERA_REFRESH_SECONDS)."""
    return Directory(refresh_seconds=settings.detection_camera_refresh_seconds)


async def store(
    uow: DetectionsUnitOfWork,
    items: Sequence[tuple[Detection, CameraRef]],
    *,
    door: str,
    directory: Directory,
    rules: Rules,
) -> Stored:
    """Store valid detections of known cameras (a repeated id is skipped, whichever door stored it first),
    open or join violations for the new ones, and mark their cameras seen, all in the caller's open unit of
    work."""
    if not items:
        return Stored()
    now = uow.now()
    unique: dict[uuid.UUID, tuple[Detection, CameraRef]] = {}
    for item in items:
        unique.setdefault(item[0].detection_id, item)
    kinds = directory.kinds
    sightings = [
        Sighting(d.detection_id, camera, d.kind, d.occurred_at, d.confidence) for d, camera in unique.values()
    ]
    # Plan first, so each detection is stored with its violation in one statement; a repeat (rare on the
    # topic, whose inbox turns most away) is found by the insert, and the plan is made again without it.
    found = await violations.read_open(uow, sightings, kinds=kinds)
    the_plan = plan(sightings, found, kinds, window=rules.join_window, now=now)
    new = await uow.detections.insert(list(unique.values()), door=door, links=dict(the_plan.assignments()))
    if len(new) < len(unique):
        the_plan = plan(
            [s for s in sightings if s.detection_id in new], found, kinds, window=rules.join_window, now=now
        )
        links = dict(the_plan.assignments())
        await uow.detections.link([(d, links.get(d)) for d in new])
    await violations.carry_out(uow, the_plan)
    result = Stored(
        stored=len(new),
        duplicates=len(items) - len(new),
        opened=len(the_plan.opened),
        joined=len(the_plan.joined),
    )
    await network.mark_seen(uow, directory.not_seen_lately(unique.values(), network.SEEN_RESOLUTION_SECONDS))
    STORED.labels(door=door).inc(result.stored)
    if result.duplicates:
        DUPLICATES.inc(result.duplicates)
    return result


async def refresh(uow: DetectionsUnitOfWork, directory: Directory) -> None:
    """Reload the directory (cameras and kinds) when it is older than its refresh period."""
    if directory.fresh:
        return
    started = directory.clock()
    cameras = await uow.detections.cameras()
    kinds = await uow.violations.kind_rules()
    directory.load(cameras, kinds, started=started)


async def resolve_cameras(
    uow: DetectionsUnitOfWork, detections: Sequence[Detection], directory: Directory
) -> list[CameraRef | Rejected]:
    """Each detection's camera, or why it is refused: against a fresh directory, the codes it does not know
    looked up in the database first."""
    await refresh(uow, directory)
    wanted = directory.unknown(d.camera_code for d in detections)
    if wanted:
        directory.remember(wanted, await uow.detections.cameras_by_code(wanted))
    out: list[CameraRef | Rejected] = []
    for d in detections:
        try:
            out.append(check_camera(d.camera_code, directory.by_code.get(d.camera_code)))
        except Rejected as exc:
            out.append(exc)
    return out


def ensure_may_send(principal: Principal) -> None:
    """Detections come from the camera gateways (and an admin)."""
    require_roles(principal, *SENDERS)


async def ingest(
    uow: DetectionsUnitOfWork,
    cmd: IngestDetections,
    principal: Principal,
    *,
    directory: Directory,
    rules: Rules,
) -> IngestResult:
    """A batch from the gRPC or HTTP door: every item is checked (its fields, then its camera); the valid
    ones are stored in one transaction with one audit row for the batch, each refused one is named by index
    and reason."""
    ensure_may_send(principal)
    if len(cmd.items) > MAX_BATCH:
        raise InvalidArgument(
            f"at most {MAX_BATCH} detections per {cmd.batch_name}",
            code="batch_too_large",
            fields=[FieldProblem(cmd.batch_field, f"{len(cmd.items)} > {MAX_BATCH}")],
        )
    RECEIVED.labels(door=cmd.door).inc(len(cmd.items))
    now = uow.now()
    checked: list[tuple[int, Detection]] = []
    refused: list[Rejection] = []
    for index, item in enumerate(cmd.items, start=cmd.first_index):
        try:
            checked.append((index, cmd.parse(item, now, rules.max_skew)))
        except Rejected as exc:
            refused.append(Rejection(index, exc.reason, exc.detail, cmd.detection_id_of(item)))
    async with uow:
        cameras = await resolve_cameras(uow, [d for _, d in checked], directory)
        valid: list[tuple[Detection, CameraRef]] = []
        for (index, d), camera in zip(checked, cameras, strict=True):
            if isinstance(camera, Rejected):
                refused.append(Rejection(index, camera.reason, camera.detail, str(d.detection_id)))
            else:
                valid.append((d, camera))
        stored = await store(uow, valid, door=cmd.door, directory=directory, rules=rules)
        if valid or refused:
            await uow.audit(
                action="detections.ingest",
                object_type="detection_batch",
                object_id=str(uuid.uuid4()),
                details={
                    "door": cmd.door,
                    "stored": stored.stored,
                    "duplicates": stored.duplicates,
                    "rejected": len(refused),
                    "violations_opened": stored.opened,
                },
            )
    for r in refused:
        REJECTED.labels(door=cmd.door, reason=r.reason).inc()
    return IngestResult(
        accepted=len(valid),
        stored=stored.stored,
        duplicates=stored.duplicates,
        rejected=sorted(refused, key=lambda r: r.index),
    )
