"""Translation between violation handling and the protobuf messages of d07.cameras.v1 (violation_events.proto
for the violation and its events, violations.proto for the API)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from google.protobuf.struct_pb2 import Struct

from cameras.violations.domain import (
    Action,
    Activity,
    DetectionKind,
    Opening,
    Priority,
    Violation,
    ViolationStatus,
)
from d07.cameras.v1 import violation_events_pb2 as events_pb
from d07.cameras.v1 import violations_pb2 as pb
from d07.platform.auth import Principal
from d07.platform.convert import EnumMap, actor, timestamp

VIOLATIONS_TOPIC = "d07.cameras.violations.v1"

STATUSES = EnumMap(
    {
        ViolationStatus.NEW: events_pb.VIOLATION_STATUS_NEW,
        ViolationStatus.ACKNOWLEDGED: events_pb.VIOLATION_STATUS_ACKNOWLEDGED,
        ViolationStatus.IN_PROGRESS: events_pb.VIOLATION_STATUS_IN_PROGRESS,
        ViolationStatus.RESOLVED: events_pb.VIOLATION_STATUS_RESOLVED,
        ViolationStatus.DISMISSED: events_pb.VIOLATION_STATUS_DISMISSED,
    },
    field="status",
)
PRIORITIES = EnumMap(
    {
        Priority.CRITICAL: events_pb.VIOLATION_PRIORITY_CRITICAL,
        Priority.HIGH: events_pb.VIOLATION_PRIORITY_HIGH,
        Priority.MEDIUM: events_pb.VIOLATION_PRIORITY_MEDIUM,
        Priority.LOW: events_pb.VIOLATION_PRIORITY_LOW,
    },
    field="priority",
)


def status_name(number: int) -> str:
    """A list filter's status: '' for the unspecified value (and a number the API does not know)."""
    status = STATUSES.from_pb_table.get(number)
    return status.value if status is not None else ""


def priority_name(number: int) -> str:
    """A list filter's priority: '' for the unspecified value (and a number the API does not know)."""
    priority = PRIORITIES.from_pb_table.get(number)
    return priority.value if priority is not None else ""


def priority_to_pb(name: str) -> events_pb.ViolationPriority:
    """A violation's priority (the kinds' data: unspecified for a name the API does not know)."""
    known = name in PRIORITIES.to_pb_table
    return cast(events_pb.ViolationPriority, PRIORITIES.to_pb(Priority(name)) if known else 0)


def status_to_pb(status: ViolationStatus) -> events_pb.ViolationStatus:
    return cast(events_pb.ViolationStatus, STATUSES.to_pb(status))


def violation_to_pb(v: Violation) -> events_pb.Violation:
    message = events_pb.Violation(
        id=str(v.id),
        camera_id=str(v.camera_id),
        camera_code=v.camera_code,
        unit_id=str(v.unit_id or ""),
        kind=v.kind,
        priority=priority_to_pb(v.priority),
        status=status_to_pb(v.status),
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


def updated(v: Violation, action: Action, principal: Principal) -> events_pb.ViolationUpdated:
    return events_pb.ViolationUpdated(
        violation=violation_to_pb(v), change=action.value, actor=actor(principal)
    )


def overdue(v: Violation) -> events_pb.ViolationOverdue:
    return events_pb.ViolationOverdue(violation=violation_to_pb(v))


def violation_from_opening(o: Opening) -> events_pb.Violation:
    """The violation a batch opens, built from what the batch wrote (no read back)."""
    return events_pb.Violation(
        id=str(o.id),
        camera_id=str(o.camera.id),
        camera_code=o.camera.code,
        unit_id=str(o.camera.unit_id or ""),
        kind=o.kind,
        priority=priority_to_pb(o.priority),
        status=events_pb.VIOLATION_STATUS_NEW,
        opened_at=timestamp(o.opened_at),
        first_seen_at=timestamp(o.first_seen_at),
        last_seen_at=timestamp(o.last_seen_at),
        detection_count=len(o.detection_ids),
        max_confidence=o.max_confidence,
        react_by=timestamp(o.react_by),
        version=1,
    )


def opened(o: Opening) -> events_pb.ViolationOpened:
    return events_pb.ViolationOpened(violation=violation_from_opening(o))


def joined(v: Violation, change: str) -> events_pb.ViolationUpdated:
    """Detections joined the violation (no actor: nobody did it)."""
    return events_pb.ViolationUpdated(violation=violation_to_pb(v), change=change)


def detection_kind_to_pb(k: DetectionKind) -> pb.DetectionKind:
    return pb.DetectionKind(
        kind=k.kind,
        label=k.label,
        open_threshold=k.open_threshold,
        priority=priority_to_pb(k.priority),
        reaction_minutes=k.reaction_minutes,
    )
