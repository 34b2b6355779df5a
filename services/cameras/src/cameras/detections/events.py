"""The Kafka door: the external camera feed on d07.cameras.detections.v1 (JSON, one detection per message).

The decoder does every check that needs no database (JSON, fields, id, time, kind, confidence) and the camera
checks the in-memory directory can answer (see cameras.detections.domain for its staleness rule), so an
invalid message goes to the dead-letter topic with its own reason (`d07_dlq_reason`) and never makes the
runner redo a batch one event at a time. What only the database can answer (a code the directory has not
seen) is settled by the batch handler; a detection refused there is raised as `InvalidEvent` (reason
`invalid_event`, the detail starting with the detection's own reason) and dead-lettered alone: the first
detection of an unknown code pays that, later ones are refused by the decoder.

De-duplication: the consumer's inbox turns away repeats of a detection id on the topic; the detections table's
primary key turns away an id that came through another door first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cameras.detections import service
from cameras.detections.domain import (
    Detection,
    Directory,
    Rejected,
    Rules,
    Unresolved,
    check_camera,
    parse_json,
)
from cameras.detections.messages import DETECTIONS_TOPIC
from cameras.detections.service import RECEIVED, REJECTED, DetectionsDeps, DetectionsUnitOfWork
from cameras.network.domain import CameraRef
from d07.platform.db import Conn
from d07.platform.events import ConsumedEvent, InvalidEvent, UndecodableEvent
from d07.platform.events.consumer import BatchHandler
from d07.platform.events.envelope import Decoder, header_dict
from d07.platform.runtime import ConsumerSpec

DOOR = "kafka"
CONSUMER = "detections"
EVENT_TYPE = "d07.cameras.detection.json"
# The events' source: the external camera feed (its messages carry no CloudEvents headers).
FEED_SOURCE = "camera-feed"
# Records per batch (one transaction, one statement per step): large enough to spread the per-batch cost.
BATCH_MAX = 1000


@dataclass
class DetectionEvent(ConsumedEvent):
    """A record of the feed with its parsed detection (its camera is settled by the batch handler)."""

    detection: Detection | None = None


class _Seen:
    """Detection ids already counted as refused (bounded): the runner may call the handler twice for the same
    event (the batch, then one at a time), and a refusal must be counted once."""

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self.ids: OrderedDict[Any, None] = OrderedDict()

    def first(self, key: Any) -> bool:
        if key in self.ids:
            return False
        self.ids[key] = None
        if len(self.ids) > self.size:
            self.ids.popitem(last=False)
        return True


def make_decoder(directory: Directory, rules: Rules) -> Decoder:
    """record -> DetectionEvent, or UndecodableEvent(reason, detail) for the dead-letter topic."""
    received = RECEIVED.labels(door=DOOR)

    def decode(record: Any) -> ConsumedEvent:
        received.inc()
        try:
            detection = parse_json(record.value, now=datetime.now(UTC), max_skew=rules.max_skew)
            found = directory.lookup(detection.camera_code)
            if not isinstance(found, Unresolved):
                check_camera(detection.camera_code, found)
        except Rejected as exc:
            REJECTED.labels(door=DOOR, reason=exc.reason).inc()
            raise UndecodableEvent(exc.reason, exc.detail) from None
        return DetectionEvent(
            id=detection.detection_id,
            type=EVENT_TYPE,
            source=FEED_SOURCE,
            subject=detection.camera_code,
            time=detection.occurred_at,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            headers=header_dict(record.headers) if record.headers else {},
            value=record.value,
            message=None,
            detection=detection,
        )

    return decode


def make_batch_handler(directory: Directory, rules: Rules, *, source: str) -> BatchHandler:
    """The batch in the consumer's transaction (beside its inbox rows): a detection whose camera only the
    database could settle and that is refused there is raised as InvalidEvent (dead-lettered alone)."""
    counted = _Seen()

    async def handle(conn: Conn, events: Sequence[ConsumedEvent]) -> None:
        uow = DetectionsUnitOfWork.within(conn, source=source)
        detections = [e.detection for e in events if isinstance(e, DetectionEvent) and e.detection]
        cameras = await service.resolve_cameras(uow, detections, directory)
        items: list[tuple[Detection, CameraRef]] = []
        for detection, camera in zip(detections, cameras, strict=True):
            if isinstance(camera, Rejected):
                if counted.first(detection.detection_id):
                    REJECTED.labels(door=DOOR, reason=camera.reason).inc()
                raise InvalidEvent(f"{camera.reason}: {camera.detail}")
            items.append((detection, camera))
        await service.store(uow, items, door=DOOR, directory=directory, rules=rules)

    return handle


def consumer(deps: DetectionsDeps) -> ConsumerSpec:
    """The feed's consumer: one batch handler with its own JSON decoder (the feed is not CloudEvents)."""
    rules = service.rules_of(deps.settings)
    return ConsumerSpec(
        name=CONSUMER,
        batch_handler=make_batch_handler(deps.directory, rules, source=deps.source),
        batch_topics=[DETECTIONS_TOPIC],
        decoder=make_decoder(deps.directory, rules),
        batch_max=BATCH_MAX,
    )
