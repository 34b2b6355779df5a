"""Detections: what a valid one is. Pure rules, no I/O.

The three doors (Kafka JSON, gRPC, HTTP) hand their input to the same checks here, so a detection refused at
one door is refused with the same reason at the others. Checks that need the camera network (unknown or
decommissioned camera) take the camera as found by the caller (`check_camera`); everything else needs
nothing but the input and the clock. The camera directory (`Directory`) is the detections' in-memory view of
the network that the checks are made against.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cameras.network.domain import CameraRef
from cameras.violations.domain import KindRule

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


@dataclass(frozen=True)
class Rules:
    """The settings that shape the path: D07_DETECTION_MAX_SKEW_SECONDS, D07_VIOLATION_JOIN_WINDOW_SECONDS."""

    max_skew: timedelta
    join_window: timedelta


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
    """The checks every door shares once the fields have their types. Each refusal is this item's only: text
    PostgreSQL cannot store (a NUL, a lone surrogate) and a time outside the calendar are refused here, so
    they never fail the statement that stores the batch's good items."""
    for name, text in (("detection_id", detection_id), ("camera_id", camera_code), ("kind", kind),
                       ("snapshot_url", snapshot_url)):  # fmt: skip
        _storable(text, name)
    if attributes is not None:
        _storable_value(attributes, "attributes", depth=0)
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
    try:
        at = occurred_at.astimezone(UTC)
    except (OverflowError, ValueError):
        raise Rejected(BAD_TIME, f"occurred_at {occurred_at.isoformat()} is outside the calendar") from None
    if at.year < MIN_YEAR:
        raise Rejected(BAD_TIME, f"occurred_at {occurred_at.isoformat()} is before {MIN_YEAR}")
    return Detection(did, code, at, kind, confidence, snapshot_url, attributes)


MIN_YEAR = 2000  # no camera of the network recorded anything before
MAX_ATTRIBUTE_DEPTH = 16


def _storable(text: str, name: str) -> None:
    if "\x00" in text:
        raise Rejected(BAD_FIELD, f"{name} holds a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise Rejected(BAD_FIELD, f"{name} is not valid Unicode (a lone surrogate)") from None


def _storable_value(value: Any, name: str, *, depth: int) -> None:
    """Every key and string of a free-form JSON value (attributes) storable as jsonb."""
    if depth > MAX_ATTRIBUTE_DEPTH:
        raise Rejected(BAD_FIELD, f"{name} is nested deeper than {MAX_ATTRIBUTE_DEPTH}")
    if isinstance(value, str):
        _storable(value, name)
    elif isinstance(value, dict):
        for key, inner in value.items():
            _storable(str(key), f"{name} key")
            _storable_value(inner, f"{name}.{str(key)[:32]}", depth=depth + 1)
    elif isinstance(value, list):
        for inner in value:
            _storable_value(inner, name, depth=depth + 1)
    elif isinstance(value, float) and value != value:  # NaN: not JSON
        raise Rejected(BAD_FIELD, f"{name} holds NaN")


def check_camera(code: str, camera: CameraRef | None) -> CameraRef:
    """The camera a detection names must be in the network and not decommissioned."""
    if camera is None:
        raise Rejected(UNKNOWN_CAMERA, f"no camera with code {code[:64]!r}")
    if camera.status == "decommissioned":
        raise Rejected(DECOMMISSIONED_CAMERA, f"camera {code} is decommissioned")
    return camera


# --- the camera directory ------------------------------------------------------------------------------
#
# Every detection names its camera by code; asking the database once per detection would cost more than the
# rest of the path together. So each process keeps the network (3.200 rows) and the kinds' rules in memory,
# and the Kafka decoder, which cannot wait for the database, validates against it.
#
# Staleness rule:
# - The directory is reloaded in full whenever it is older than D07_DETECTION_CAMERA_REFRESH_SECONDS (10 s) at
#   the start of a batch (of any door). A camera registered, decommissioned or moved to another unit is
#   therefore seen by validation within that time.
# - A code the directory does not know is never refused on the directory's word alone the first time: the
#   batch looks it up in the database (one query for all such codes of the batch). A code the database does
#   not know either is remembered as absent, and later detections with it are refused straight away, but only
#   while the directory is fresh: a stale directory refuses nothing, the batch reloads it and checks again.
# - Detections accepted on a stale directory are checked again after the reload, before anything is stored.


class Unresolved:
    """The directory cannot say yet: the caller must look the code up in the database."""


UNRESOLVED = Unresolved()
ABSENT_MAX = 100_000


class Directory:
    """Camera code -> (id, status, unit) and the kinds' rules, in memory; the loading is the service's."""

    def __init__(self, *, refresh_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self.by_code: dict[str, CameraRef] = {}
        self.by_id: dict[uuid.UUID, CameraRef] = {}
        self.absent: set[str] = set()
        self.kinds: dict[str, KindRule] = {}
        self.loaded_at: float | None = None
        self.seen: dict[uuid.UUID, datetime] = {}

    @property
    def fresh(self) -> bool:
        return self.loaded_at is not None and self.clock() - self.loaded_at < self.refresh_seconds

    def lookup(self, code: str) -> CameraRef | Unresolved | None:
        """Without waiting: the camera, None when it is known to be absent, or UNRESOLVED."""
        camera = self.by_code.get(code)
        if camera is not None:
            return camera
        if code in self.absent and self.fresh:
            return None
        return UNRESOLVED

    def load(self, cameras: Sequence[CameraRef], kinds: Mapping[str, KindRule], *, started: float) -> None:
        """The whole network and the kinds as read from a reload that started at `started` (clock time)."""
        self.kinds = dict(kinds)
        self.by_code = {c.code: c for c in cameras}
        self.by_id = {c.id: c for c in cameras}
        self.absent = {code for code in self.absent if code not in self.by_code}
        self.loaded_at = started

    def unknown(self, codes: Iterable[str]) -> list[str]:
        """The codes to look up in the database (sorted)."""
        return sorted({c for c in codes if c not in self.by_code})

    def remember(self, wanted: Sequence[str], found: Sequence[CameraRef]) -> None:
        """What a database look-up of `wanted` found: the cameras found join the directory, the other codes
        are remembered as absent (a bounded memory: garbage codes cannot make it grow without end)."""
        for camera in found:
            self.by_code[camera.code] = camera
            self.by_id[camera.id] = camera
        if len(self.absent) > ABSENT_MAX:
            self.absent.clear()
        self.absent.update(set(wanted) - {c.code for c in found})

    def not_seen_lately(
        self, items: Iterable[tuple[Detection, CameraRef]], resolution_seconds: float
    ) -> dict[uuid.UUID, datetime]:
        """The newest detection time per camera, for the cameras this process has not reported seen within
        `resolution_seconds` before it: the health check ignores signs closer together than that anyway, so a
        busy camera costs it one row a second instead of one per batch."""
        latest: dict[uuid.UUID, datetime] = {}
        for d, camera in items:
            if camera.id not in latest or d.occurred_at > latest[camera.id]:
                latest[camera.id] = d.occurred_at
        step = timedelta(seconds=resolution_seconds)
        due = {cid: at for cid, at in latest.items() if cid not in self.seen or at > self.seen[cid] + step}
        self.seen.update(due)
        return due


# --- intake through the gRPC and HTTP doors ------------------------------------------------------------


@dataclass(frozen=True)
class Rejection:
    """An item of a batch refused: its index in the caller's input, the reason and a detail."""

    index: int
    reason: str
    detail: str
    detection_id: str = ""


@dataclass(frozen=True)
class IngestDetections:
    """A batch of detections as a door received them: `items` raw (a gRPC message's detections, the HTTP
    body's list), each turned into a Detection (or Rejected) by `parse(item, now, max_skew)`; indexes count
    from `first_index` (the detections of earlier messages of the same gRPC stream)."""

    door: str
    items: Sequence[Any]
    parse: Callable[[Any, datetime, timedelta], Detection]
    detection_id_of: Callable[[Any], str]
    first_index: int = 0
    # How the batch-size limit names the input: "message" and "detections" (gRPC), "request" and "body".
    batch_name: str = "request"
    batch_field: str = "body"


@dataclass
class IngestResult:
    accepted: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)


@dataclass
class Stored:
    """What one batch came to: detections stored for the first time, repeats, violations opened and joined."""

    stored: int = 0
    duplicates: int = 0
    opened: int = 0
    joined: int = 0
