"""Translation between violation handling and the protobuf messages of d07.cameras.v1 (violation_events.proto
for the violation and its events, violations.proto for the API)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from google.protobuf.struct_pb2 import Struct
from google.protobuf.timestamp_pb2 import Timestamp

from cameras.violations.domain import Action, Activity, Violation, ViolationStatus
from d07.cameras.v1 import violation_events_pb2 as events_pb
from d07.cameras.v1 import violations_pb2 as pb
from d07.common.v1 import common_pb2
from d07.platform.auth import Principal

STATUS_TO_PB = {
    ViolationStatus.NEW: events_pb.VIOLATION_STATUS_NEW,
    ViolationStatus.ACKNOWLEDGED: events_pb.VIOLATION_STATUS_ACKNOWLEDGED,
    ViolationStatus.IN_PROGRESS: events_pb.VIOLATION_STATUS_IN_PROGRESS,
    ViolationStatus.RESOLVED: events_pb.VIOLATION_STATUS_RESOLVED,
    ViolationStatus.DISMISSED: events_pb.VIOLATION_STATUS_DISMISSED,
}
STATUS_FROM_PB = {v: k.value for k, v in STATUS_TO_PB.items()}
PRIORITY_TO_PB = {
    "critical": events_pb.VIOLATION_PRIORITY_CRITICAL,
    "high": events_pb.VIOLATION_PRIORITY_HIGH,
    "medium": events_pb.VIOLATION_PRIORITY_MEDIUM,
    "low": events_pb.VIOLATION_PRIORITY_LOW,
}
PRIORITY_FROM_PB = {v: k for k, v in PRIORITY_TO_PB.items()}


def timestamp(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def time_from_pb(value: Timestamp, present: bool) -> datetime | None:
    """None for an unset timestamp; an aware UTC time otherwise."""
    return value.ToDatetime(tzinfo=UTC) if present else None


def violation_to_pb(v: Violation) -> events_pb.Violation:
    message = events_pb.Violation(
        id=str(v.id),
        camera_id=str(v.camera_id),
        camera_code=v.camera_code,
        unit_id=str(v.unit_id or ""),
        kind=v.kind,
        priority=PRIORITY_TO_PB.get(v.priority, events_pb.VIOLATION_PRIORITY_UNSPECIFIED),
        status=STATUS_TO_PB[v.status],
        opened_at=timestamp(v.opened_at),
        first_seen_at=timestamp(v.first_seen_at),
        last_seen_at=timestamp(v.last_seen_at),
        detection_count=v.detection_count,
        max_confidence=v.max_confidence,
        react_by=timestamp(v.react_by),
        acknowledged_by=v.acknowledged_by or "",
        assignee=v.assignee or "",
        team=v.team or "",
        outcome=v.outcome or "",
        version=v.version,
    )
    for name in ("overdue_at", "acknowledged_at", "closed_at"):
        value = getattr(v, name)
        if value is not None:
            getattr(message, name).CopyFrom(timestamp(value))
    return message


def details_to_pb(details: Mapping[str, Any]) -> Struct:
    struct = Struct()
    struct.update({k: _plain(value) for k, value in details.items()})
    return struct


def _plain(value: Any) -> Any:
    """A JSON value as google.protobuf.Struct takes it (numbers are doubles, times are text)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def activity_to_pb(a: Activity) -> pb.ViolationActivity:
    return pb.ViolationActivity(
        seq=a.seq,
        violation_id=str(a.violation_id),
        at=timestamp(a.at),
        actor=a.actor,
        action=a.action,
        details=details_to_pb(a.details),
    )


def comment_to_pb(a: Activity) -> pb.ViolationComment:
    return pb.ViolationComment(
        seq=a.seq, author=a.actor, at=timestamp(a.at), text=str(a.details.get("text", ""))
    )


def handover_to_pb(v: Violation) -> pb.ViolationHandover | None:
    if v.handed_over_at is None:
        return None
    return pb.ViolationHandover(
        at=timestamp(v.handed_over_at), by=v.handed_over_by or "", to=v.handed_over_to or ""
    )


def actor(principal: Principal) -> common_pb2.Actor:
    return common_pb2.Actor(subject=principal.subject, roles=sorted(principal.roles))


def updated(v: Violation, action: Action, principal: Principal) -> events_pb.ViolationUpdated:
    return events_pb.ViolationUpdated(
        violation=violation_to_pb(v), change=action.value, actor=actor(principal)
    )


def overdue(v: Violation) -> events_pb.ViolationOverdue:
    return events_pb.ViolationOverdue(violation=violation_to_pb(v))
