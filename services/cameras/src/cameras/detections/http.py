"""HTTP door of detections: POST /v1/detections:batch, a JSON list of detections as in the feed contract."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Body
from pydantic import Field

from cameras.detections import service
from cameras.detections.domain import Detection, IngestDetections, parse_object
from cameras.detections.service import DetectionsDeps, DetectionsUnitOfWork
from d07.platform.http import Caller, allowed
from d07.platform.readmodel import ReadModel

DOOR = "http"
EXAMPLE = {
    "detection_id": "0b6f1f5e-8f0e-4c1e-9f57-2d1f8f7f4a11",
    "camera_id": "CAM-00017",
    "occurred_at": "2019-08-29T08:15:00+07:00",
    "kind": "intrusion",
    "confidence": 0.93,
    "snapshot_url": "https://vms.example/snap/1.jpg",
    "attributes": {"zone": "cổng chính"},
}


class RejectedRead(ReadModel):
    index: int = Field(description="Position of the item in the request's list, from 0.")
    reason: str
    detail: str
    detection_id: str = ""


class IngestRead(ReadModel):
    accepted: int = Field(description="Valid detections (stored now or stored before).")
    stored: int = Field(description="Of the accepted, stored for the first time.")
    duplicates: int = Field(description="Of the accepted, whose detection id was stored already.")
    rejected: list[RejectedRead]


def _detection_id(item: Any) -> str:
    """The item's detection id as echoed in a refusal: only text that can be answered (no NUL, no lone
    surrogate, not a page of it)."""
    value = item.get("detection_id") if isinstance(item, dict) else None
    if not isinstance(value, str) or "\x00" in value:
        return ""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return ""
    return value[:64]


def _parse(item: Any, now: datetime, max_skew: timedelta) -> Detection:
    return parse_object(item, now=now, max_skew=max_skew)


def router(deps: DetectionsDeps) -> APIRouter:
    rules = service.rules_of(deps.settings)
    api = APIRouter(prefix="/v1", tags=["detections"])

    @api.post("/detections:batch", response_model=IngestRead, dependencies=[allowed(*service.SENDERS)])
    async def ingest_batch(
        caller: Caller,
        items: list[Any] = Body(..., examples=[[EXAMPLE]]),  # noqa: B008 - FastAPI's way to declare a body
    ) -> IngestRead:
        """Detections from a gateway (role camera_gateway): the valid ones are stored and open or join
        violations; each refused item is named by its index and reason, and the others are kept."""
        cmd = IngestDetections(door=DOOR, items=items, parse=_parse, detection_id_of=_detection_id)
        result = await service.ingest(
            deps.uow(DetectionsUnitOfWork), cmd, caller, directory=deps.directory, rules=rules
        )
        return IngestRead.model_validate(result)

    return api
