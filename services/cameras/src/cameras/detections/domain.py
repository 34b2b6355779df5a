"""Detections: what a valid one is. Pure rules, no I/O.

The three doors (Kafka JSON, gRPC, HTTP) hand their input to the same checks here, so a detection refused at
one door is refused with the same reason at the others. Checks that need the camera network (unknown or
decommissioned camera) take the camera as found by the caller (`check_camera`); everything else needs
nothing but the input and the clock.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

# The kinds of the camera feed contract (docs/architecture.md); their thresholds and priorities are data in
# the `detection_kinds` table.
KINDS = frozenset({"intrusion", "loitering", "fire_smoke", "crowd", "vandalism", "traffic", "other"})
REQUIRED = ("detection_id", "camera_id", "occurred_at", "kind", "confidence")

# Reasons a detection is refused: the dead-letter header `d07_dlq_reason`, the metric label, the answer of the
# gRPC and HTTP doors.
MALFORMED_JSON = "malformed_json"
MISSING_FIELD = "missing_field"
BAD_FIELD = "bad_field"
BAD_ID = "bad_id"
BAD_TIME = "bad_time"
FUTURE_TIME = "future_time"
UNKNOWN_KIND = "unknown_kind"
BAD_CONFIDENCE = "bad_confidence"
UNKNOWN_CAMERA = "unknown_camera"
DECOMMISSIONED_CAMERA = "decommissioned_camera"


class Rejected(Exception):
    """A detection that is not valid, with a short reason code and a detail for a person."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Detection:
    """A detection whose fields are valid on their own (its camera is checked against the network apart)."""

    detection_id: uuid.UUID
    camera_code: str
    occurred_at: datetime
    kind: str
    confidence: float
    snapshot_url: str = ""
    attributes: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class CameraRef:
    """What validation and opening need of a camera: its id, status and the unit it covers."""

    id: uuid.UUID
    code: str
    status: str
    unit_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class KindRule:
    """A detection kind as data: at or above `threshold` a detection opens (or joins) a violation."""

    kind: str
    threshold: float
    priority: str
    reaction_minutes: int


def parse_json(raw: bytes | None, *, now: datetime, max_skew: timedelta) -> Detection:
    """One Kafka message value (a JSON object, the feed contract) -> a Detection, or Rejected."""
    if not raw:
        raise Rejected(MALFORMED_JSON, "empty message")
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Rejected(MALFORMED_JSON, f"not JSON: {exc}") from None
    return parse_object(obj, now=now, max_skew=max_skew)


def parse_object(obj: Any, *, now: datetime, max_skew: timedelta) -> Detection:
    """A decoded JSON value (the topic's message, an item of the HTTP batch) -> a Detection, or Rejected."""
    if not isinstance(obj, dict):
        raise Rejected(MALFORMED_JSON, f"a JSON object is expected, not {type(obj).__name__}")
    missing = [name for name in REQUIRED if obj.get(name) is None]
    if missing:
        raise Rejected(MISSING_FIELD, f"missing {', '.join(missing)}")
    detection_id, camera_id, occurred_at = obj["detection_id"], obj["camera_id"], obj["occurred_at"]
    kind, confidence = obj["kind"], obj["confidence"]
    if not isinstance(detection_id, str):
        raise Rejected(BAD_ID, "detection_id must be a UUID string")
    if not isinstance(camera_id, str):
        raise Rejected(BAD_FIELD, "camera_id must be a string (the camera's code)")
    if not isinstance(occurred_at, str):
        raise Rejected(BAD_TIME, "occurred_at must be an RFC 3339 string")
    if not isinstance(kind, str):
        raise Rejected(UNKNOWN_KIND, "kind must be a string")
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        raise Rejected(BAD_CONFIDENCE, "confidence must be a number from 0.0 to 1.0")
    snapshot_url = obj.get("snapshot_url")
    if snapshot_url is None:
        snapshot_url = ""
    elif not isinstance(snapshot_url, str):
        raise Rejected(BAD_FIELD, "snapshot_url must be a string")
    attributes = obj.get("attributes")
    if attributes is not None and not isinstance(attributes, dict):
        raise Rejected(BAD_FIELD, "attributes must be an object")
    return validate(
        detection_id=detection_id,
        camera_code=camera_id,
        occurred_at=parse_time(occurred_at),
        kind=kind,
        confidence=float(confidence),
        snapshot_url=snapshot_url,
        attributes=attributes or None,
        now=now,
        max_skew=max_skew,
    )


def parse_time(text: str) -> datetime:
    """RFC 3339 with an offset (`Z` or `+07:00`); a time without one is refused: its zone would be a guess."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise Rejected(BAD_TIME, f"occurred_at {text[:64]!r} is not RFC 3339") from None
    if parsed.tzinfo is None:
        raise Rejected(BAD_TIME, f"occurred_at {text[:64]!r} has no offset")
    return parsed


def validate(
    *,
    detection_id: str,
    camera_code: str,
    occurred_at: datetime,
    kind: str,
    confidence: float,
    snapshot_url: str,
    attributes: Mapping[str, Any] | None,
    now: datetime,
    max_skew: timedelta,
) -> Detection:
    """The checks every door shares once the fields have their types."""
    try:
        did = uuid.UUID(detection_id)
    except ValueError:
        raise Rejected(BAD_ID, f"detection_id {detection_id[:64]!r} is not a UUID") from None
    code = camera_code.strip()
    if not code:
        raise Rejected(MISSING_FIELD, "missing camera_id")
    if kind not in KINDS:
        raise Rejected(UNKNOWN_KIND, f"kind {kind[:64]!r} is not one of {', '.join(sorted(KINDS))}")
    if not 0.0 <= confidence <= 1.0:  # NaN fails too
        raise Rejected(BAD_CONFIDENCE, f"confidence {confidence} is outside 0.0 to 1.0")
    if occurred_at > now + max_skew:
        raise Rejected(
            FUTURE_TIME,
            f"occurred_at {occurred_at.isoformat()} is more than {max_skew.total_seconds():g} s ahead of now",
        )
    return Detection(did, code, occurred_at.astimezone(UTC), kind, confidence, snapshot_url, attributes)


def check_camera(code: str, camera: CameraRef | None) -> CameraRef:
    """The camera a detection names must be in the network and not decommissioned."""
    if camera is None:
        raise Rejected(UNKNOWN_CAMERA, f"no camera with code {code[:64]!r}")
    if camera.status == "decommissioned":
        raise Rejected(DECOMMISSIONED_CAMERA, f"camera {code} is decommissioned")
    return camera
