"""Camera health: signs of life (heartbeats through every door, detections on the topic) keep a camera online;
a silence longer than the configured threshold makes it offline. Each transition is announced once, in the
transaction that makes it, through the outbox (CameraCameOnline, CameraWentOffline), and closes or opens an
online interval, from which online seconds per day are read."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from google.protobuf.message import Message
from prometheus_client import Counter

from cameras.network import repository as repo
from cameras.network.domain import SeenEffect, clamp_seen_time, seen_effect
from cameras.network.messages import CAMERAS_TOPIC, SOURCE, timestamp
from d07.cameras.v1 import cameras_pb2 as pb
from d07.platform.db import Conn
from d07.platform.events import outbox

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


async def seen(conn: Conn, *, camera_ids: Sequence[uuid.UUID], at: datetime) -> None:
    """Mark the cameras seen at `at` (a heartbeat, or detections read from the topic), in the caller's
    transaction: online cameras keep being online, offline ones come online with a CameraCameOnline event.

    Unknown and decommissioned cameras are ignored; a time ahead of our clock counts as now; a sign older than
    what was seen already changes nothing (replaying a backlog does not make cameras flap)."""
    await mark_seen(conn, {cid: at for cid in camera_ids})


async def mark_seen(conn: Conn, seen_at: Mapping[uuid.UUID, datetime]) -> list[uuid.UUID]:
    """`seen` with a time per camera; the ids of the cameras that came online. Must run in a transaction."""
    if not seen_at:
        return []
    now = datetime.now(UTC)
    ats = {cid: clamp_seen_time(at, now) for cid, at in seen_at.items()}
    rows = await repo.lock_for_seen(
        conn, ids=list(ats), ats=list(ats.values()), resolution_seconds=SEEN_RESOLUTION_SECONDS
    )
    touched: list[repo.HealthRow] = []
    came: list[repo.HealthRow] = []
    for row in rows:
        effect = seen_effect(online=row.online, last_seen_at=row.last_seen_at, at=ats[row.id])
        if effect == SeenEffect.TOUCH:
            touched.append(row)
        elif effect == SeenEffect.CAME_ONLINE:
            came.append(row)
    if touched:
        await repo.touch(conn, ids=[r.id for r in touched], ats=[ats[r.id] for r in touched])
    if came:
        await repo.bring_online(conn, ids=[r.id for r in came], ats=[ats[r.id] for r in came])
        events: list[tuple[str, Message]] = [
            (
                str(r.id),
                pb.CameraCameOnline(
                    camera_id=str(r.id),
                    code=r.code,
                    unit_id=str(r.unit_id or ""),
                    at=timestamp(ats[r.id]),
                    previous_seen_at=timestamp(r.last_seen_at) if r.last_seen_at else None,
                ),
            )
            for r in came
        ]
        await outbox.add_many(conn, topic=CAMERAS_TOPIC, source=SOURCE, events=events)
        TRANSITIONS.labels("online").inc(len(came))
    return [r.id for r in came]


async def check_offline(conn: Conn, *, offline_after_seconds: float) -> list[uuid.UUID]:
    """Take the cameras silent past the threshold offline, each with one CameraWentOffline event; the ids.
    Must run in a transaction: the state, the interval and the event commit together."""
    silent = await repo.take_offline(conn, offline_after_seconds=offline_after_seconds, limit=OFFLINE_BATCH)
    if not silent:
        return []
    detected = timestamp(datetime.now(UTC))
    events: list[tuple[str, Message]] = [
        (
            str(r.id),
            pb.CameraWentOffline(
                camera_id=str(r.id),
                code=r.code,
                unit_id=str(r.unit_id or ""),
                last_seen_at=timestamp(r.last_seen_at) if r.last_seen_at else None,
                detected_at=detected,
            ),
        )
        for r in silent
    ]
    await outbox.add_many(conn, topic=CAMERAS_TOPIC, source=SOURCE, events=events)
    TRANSITIONS.labels("offline").inc(len(silent))
    return [r.id for r in silent]
