"""Opening violations from detections: a detection at or above its kind's threshold opens a violation, or
joins the open one of the same camera and kind when it lies within the join window of that violation's
detections.

`plan` is the rule, pure: it takes the batch's sightings and the open violation of each (camera, kind) and
says which violations open and which grow. `read_open` locks and reads what a batch needs; `write` carries
a plan out in the caller's transaction: one statement per step for the whole batch, never one per detection.

Concurrency: two doors may bring detections of the same camera and kind at the same time. `read_open` takes
a transaction-level advisory lock per (camera, kind) in a fixed order (no deadlock between batches), then
reads the open violations with FOR UPDATE, so two batches never both open a violation for the same pair and
a handling change (resolve, dismiss) never slips between the read and the join.

Events: every opened violation publishes `ViolationOpened` (outbox, topic d07.cameras.violations.v1, key =
violation id). A join appends one `joined` activity row per violation and batch (not per detection), and
publishes `ViolationUpdated` (change `detections_joined`) only when the join moves the violation's last
detection into a new minute: a violation seen every second announces itself once a minute, not sixty times,
while the activity feed still records every batch.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cameras.detections import repository as repo
from cameras.detections.domain import CameraRef, KindRule
from cameras.detections.messages import SOURCE, VIOLATIONS_TOPIC, violation_from_opening, violation_from_row
from d07.cameras.v1 import violation_events_pb2 as events_pb
from d07.platform.db import Conn
from d07.platform.events import outbox

OPEN_STATUSES = ("new", "acknowledged", "in_progress")
JOIN_EVENT_EVERY = timedelta(minutes=1)
JOIN_CHANGE = "detections_joined"


@dataclass(frozen=True, slots=True)
class Sighting:
    """A stored detection as opening sees it."""

    detection_id: uuid.UUID
    camera: CameraRef
    kind: str
    occurred_at: datetime
    confidence: float


@dataclass(frozen=True, slots=True)
class OpenViolation:
    """The newest open violation of a camera and kind, as read before joining."""

    id: uuid.UUID
    camera_id: uuid.UUID
    kind: str
    first_seen_at: datetime
    last_seen_at: datetime


@dataclass
class Opening:
    """A violation this batch opens (possibly with several of the batch's detections in it)."""

    id: uuid.UUID
    camera: CameraRef
    kind: str
    priority: str
    opened_at: datetime
    react_by: datetime
    first_seen_at: datetime
    last_seen_at: datetime
    max_confidence: float
    detection_ids: list[uuid.UUID] = field(default_factory=list)


@dataclass
class Joining:
    """Detections of this batch joining a violation that was open before it."""

    id: uuid.UUID
    camera: CameraRef
    kind: str
    previous_first_seen_at: datetime
    previous_last_seen_at: datetime
    first_seen_at: datetime
    last_seen_at: datetime
    max_confidence: float
    detection_ids: list[uuid.UUID] = field(default_factory=list)

    @property
    def announced(self) -> bool:
        """Whether this join publishes ViolationUpdated: when the last detection moved into a new minute."""
        every = JOIN_EVENT_EVERY.total_seconds()
        before = int(self.previous_last_seen_at.timestamp() // every)
        return int(max(self.last_seen_at, self.previous_last_seen_at).timestamp() // every) > before


@dataclass
class Plan:
    opened: list[Opening] = field(default_factory=list)
    joined: list[Joining] = field(default_factory=list)

    def assignments(self) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """(detection id, violation id) for every sighting the plan placed."""
        pairs = [(d, o.id) for o in self.opened for d in o.detection_ids]
        pairs += [(d, j.id) for j in self.joined for d in j.detection_ids]
        return pairs


def opens(sighting: Sighting, rules: Mapping[str, KindRule]) -> bool:
    """At or above its kind's threshold a detection counts towards a violation."""
    rule = rules.get(sighting.kind)
    return rule is not None and sighting.confidence >= rule.threshold


def plan(
    sightings: Iterable[Sighting],
    open_violations: Mapping[tuple[uuid.UUID, str], OpenViolation],
    rules: Mapping[str, KindRule],
    *,
    window: timedelta,
    now: datetime,
    new_id: Callable[[], uuid.UUID] = uuid.uuid4,
) -> Plan:
    """Which violations the sightings open and which open ones they join (sightings below their kind's
    threshold take no part). Per camera and kind, in time order: a sighting within `window` of the current
    violation's first..last detection joins it; otherwise it opens a new one, which later ones may join."""
    groups: dict[tuple[uuid.UUID, str], list[Sighting]] = defaultdict(list)
    for s in sightings:
        if opens(s, rules):
            groups[(s.camera.id, s.kind)].append(s)
    result = Plan()
    for key, group in groups.items():
        group.sort(key=lambda s: s.occurred_at)
        current: Opening | Joining | None = None
        existing = open_violations.get(key)
        if existing is not None:
            first = group[0]
            current = Joining(
                id=existing.id, camera=first.camera, kind=first.kind,
                previous_first_seen_at=existing.first_seen_at, previous_last_seen_at=existing.last_seen_at,
                first_seen_at=existing.first_seen_at, last_seen_at=existing.last_seen_at, max_confidence=0.0,
            )  # fmt: skip
        for s in group:
            if current is not None and (
                current.first_seen_at - window <= s.occurred_at <= current.last_seen_at + window
            ):
                current.first_seen_at = min(current.first_seen_at, s.occurred_at)
                current.last_seen_at = max(current.last_seen_at, s.occurred_at)
                current.max_confidence = max(current.max_confidence, s.confidence)
                current.detection_ids.append(s.detection_id)
                continue
            if isinstance(current, Joining) and current.detection_ids:
                result.joined.append(current)
            elif isinstance(current, Opening):
                result.opened.append(current)
            rule = rules[s.kind]
            current = Opening(
                id=new_id(), camera=s.camera, kind=s.kind, priority=rule.priority, opened_at=now,
                react_by=now + timedelta(minutes=rule.reaction_minutes), first_seen_at=s.occurred_at,
                last_seen_at=s.occurred_at, max_confidence=s.confidence, detection_ids=[s.detection_id],
            )  # fmt: skip
        if isinstance(current, Joining) and current.detection_ids:
            result.joined.append(current)
        elif isinstance(current, Opening):
            result.opened.append(current)
    return result


def lock_key(camera_id: uuid.UUID, kind: str) -> int:
    """A stable 64-bit advisory lock key per (camera, kind)."""
    digest = hashlib.blake2b(f"d07-violation:{camera_id}:{kind}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def read_open(
    conn: Conn, sightings: Sequence[Sighting], *, rules: Mapping[str, KindRule]
) -> dict[tuple[uuid.UUID, str], OpenViolation]:
    """Lock the (camera, kind) pairs the sightings may open or join, and read their newest open violations."""
    pairs = sorted({(s.camera.id, s.kind) for s in sightings if opens(s, rules)})
    if not pairs:
        return {}
    await repo.lock_pairs(conn, sorted({lock_key(c, k) for c, k in pairs}))
    return {
        (r["camera_id"], r["kind"]): OpenViolation(
            r["id"], r["camera_id"], r["kind"], r["first_seen_at"], r["last_seen_at"]
        )
        for r in await repo.open_violations(conn, pairs, OPEN_STATUSES)
    }


async def write(conn: Conn, the_plan: Plan) -> None:
    """Carry a plan out in the caller's transaction: violations opened and grown, their activity rows and
    events. Linking the detections to their violations is the caller's (it stores them with the link)."""
    if the_plan.opened:
        await repo.insert_violations(conn, the_plan.opened)
    joined_rows = await repo.join_violations(conn, the_plan.joined) if the_plan.joined else {}
    await repo.add_activity(conn, _activity(the_plan, joined_rows))
    messages: list[tuple[str, events_pb.ViolationOpened | events_pb.ViolationUpdated]] = [
        (str(o.id), events_pb.ViolationOpened(violation=violation_from_opening(o))) for o in the_plan.opened
    ]
    for j in the_plan.joined:
        if j.announced:
            row = joined_rows[j.id]
            messages.append(
                (
                    str(j.id),
                    events_pb.ViolationUpdated(
                        violation=violation_from_row(row, j.camera.code), change=JOIN_CHANGE
                    ),
                )
            )
    if messages:
        await outbox.add_many(conn, topic=VIOLATIONS_TOPIC, source=SOURCE, events=messages)


def _activity(the_plan: Plan, joined_rows: Mapping[uuid.UUID, repo.Row]) -> list[tuple[uuid.UUID, str, str]]:
    rows = [
        (
            o.id,
            "opened",
            json.dumps(
                {
                    "camera_code": o.camera.code,
                    "kind": o.kind,
                    "priority": o.priority,
                    "detections": len(o.detection_ids),
                    "max_confidence": round(o.max_confidence, 4),
                }
            ),
        )
        for o in the_plan.opened
    ]
    for j in the_plan.joined:
        row = joined_rows[j.id]
        rows.append(
            (
                j.id,
                "joined",
                json.dumps(
                    {
                        "detections": len(j.detection_ids),
                        "detection_count": row["detection_count"],
                        "last_seen_at": row["last_seen_at"].isoformat(),
                    }
                ),
            )
        )
    return rows
