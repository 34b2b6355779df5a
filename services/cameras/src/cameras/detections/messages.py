"""Protobuf messages of detections (d07.cameras.v1.DetectionsService) and the feed's topic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.json_format import MessageToDict

from cameras.detections.domain import MISSING_FIELD, Detection, IngestResult, Rejected, validate
from d07.cameras.v1 import detections_pb2 as pb

# The external camera feed: JSON, one detection per message, key = camera code (docs/architecture.md).
DETECTIONS_TOPIC = "d07.cameras.detections.v1"


def detection_from_pb(d: pb.Detection, *, now: datetime, max_skew: timedelta) -> Detection:
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


def result_to_pb(result: IngestResult) -> pb.IngestDetectionsResponse:
    return pb.IngestDetectionsResponse(
        accepted=result.accepted,
        stored=result.stored,
        duplicates=result.duplicates,
        rejected=[
            pb.RejectedDetection(index=r.index, reason=r.reason, detail=r.detail, detection_id=r.detection_id)
            for r in result.rejected
        ],
    )
