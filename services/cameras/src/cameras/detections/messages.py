"""Protobuf messages of detections and of the violations they open (d07.cameras.v1)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from google.protobuf.json_format import MessageToDict

from cameras.detections.domain import MISSING_FIELD, Detection, Rejected, validate
from cameras.violations.messages import PRIORITY_TO_PB, timestamp, violation_to_pb
from cameras.violations.repository import violation_of
from d07.cameras.v1 import detections_pb2 as detections_pb
from d07.cameras.v1 import violation_events_pb2 as events_pb

if TYPE_CHECKING:
    from cameras.detections.opening import Opening

SOURCE = "/d07/cameras"
DETECTIONS_TOPIC = "d07.cameras.detections.v1"
VIOLATIONS_TOPIC = "d07.cameras.violations.v1"


def violation_from_opening(o: Opening) -> events_pb.Violation:
    """The violation a batch opens, built from what the batch wrote (no read back)."""
    return events_pb.Violation(
        id=str(o.id),
        camera_id=str(o.camera.id),
        camera_code=o.camera.code,
        unit_id=str(o.camera.unit_id or ""),
        kind=o.kind,
        priority=PRIORITY_TO_PB[o.priority],
        status=events_pb.VIOLATION_STATUS_NEW,
        opened_at=timestamp(o.opened_at),
        first_seen_at=timestamp(o.first_seen_at),
        last_seen_at=timestamp(o.last_seen_at),
        detection_count=len(o.detection_ids),
        max_confidence=o.max_confidence,
        react_by=timestamp(o.react_by),
        version=1,
    )


def violation_from_row(row: Mapping[str, Any], camera_code: str) -> events_pb.Violation:
    """A `violations` row (all columns) as the event message: the same conversion the handling side uses."""
    return violation_to_pb(violation_of({**dict(row), "camera_code": camera_code}))


def detection_from_pb(d: detections_pb.Detection, *, now: datetime, max_skew: timedelta) -> Detection:
    """A gRPC Detection -> the same checks as the JSON feed (an empty field is a missing one)."""
    missing = [
        name
        for name, present in (
            ("detection_id", bool(d.detection_id)),
            ("camera_id", bool(d.camera_id)),
            ("occurred_at", d.HasField("occurred_at")),
            ("kind", bool(d.kind)),
        )
        if not present
    ]
    if missing:
        raise Rejected(MISSING_FIELD, f"missing {', '.join(missing)}")
    return validate(
        detection_id=d.detection_id,
        camera_code=d.camera_id,
        occurred_at=d.occurred_at.ToDatetime(tzinfo=UTC),
        kind=d.kind,
        confidence=d.confidence,
        snapshot_url=d.snapshot_url,
        attributes=MessageToDict(d.attributes) if d.HasField("attributes") else None,
        now=now,
        max_skew=max_skew,
    )
