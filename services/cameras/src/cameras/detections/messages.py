"""Protobuf messages of detections and of the violations they open (d07.cameras.v1)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.timestamp_pb2 import Timestamp

from cameras.detections.domain import MISSING_FIELD, Detection, Rejected, validate
from d07.cameras.v1 import detections_pb2 as detections_pb
from d07.cameras.v1 import violation_events_pb2 as events_pb

if TYPE_CHECKING:
    from cameras.detections.opening import Opening

SOURCE = "/d07/cameras"
DETECTIONS_TOPIC = "d07.cameras.detections.v1"
VIOLATIONS_TOPIC = "d07.cameras.violations.v1"

PRIORITY_TO_PB = {
    "critical": events_pb.VIOLATION_PRIORITY_CRITICAL,
    "high": events_pb.VIOLATION_PRIORITY_HIGH,
    "medium": events_pb.VIOLATION_PRIORITY_MEDIUM,
    "low": events_pb.VIOLATION_PRIORITY_LOW,
}
STATUS_TO_PB = {
    "new": events_pb.VIOLATION_STATUS_NEW,
    "acknowledged": events_pb.VIOLATION_STATUS_ACKNOWLEDGED,
    "in_progress": events_pb.VIOLATION_STATUS_IN_PROGRESS,
    "resolved": events_pb.VIOLATION_STATUS_RESOLVED,
    "dismissed": events_pb.VIOLATION_STATUS_DISMISSED,
}


def timestamp(at: datetime | None) -> Timestamp | None:
    if at is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(at)
    return ts


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
    """A `violations` row (all columns) as the event message."""
    return events_pb.Violation(
        id=str(row["id"]),
        camera_id=str(row["camera_id"]),
        camera_code=camera_code,
        unit_id=str(row["unit_id"] or ""),
        kind=row["kind"],
        priority=PRIORITY_TO_PB.get(row["priority"], events_pb.VIOLATION_PRIORITY_UNSPECIFIED),
        status=STATUS_TO_PB.get(row["status"], events_pb.VIOLATION_STATUS_UNSPECIFIED),
        opened_at=timestamp(row["opened_at"]),
        first_seen_at=timestamp(row["first_seen_at"]),
        last_seen_at=timestamp(row["last_seen_at"]),
        detection_count=row["detection_count"],
        max_confidence=row["max_confidence"],
        react_by=timestamp(row["react_by"]),
        overdue_at=timestamp(row["overdue_at"]),
        acknowledged_at=timestamp(row["acknowledged_at"]),
        acknowledged_by=row["acknowledged_by"] or "",
        assignee=row["assignee"] or "",
        team=row["team"] or "",
        closed_at=timestamp(row["closed_at"]),
        outcome=row["outcome"] or "",
        version=row["version"],
    )


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
