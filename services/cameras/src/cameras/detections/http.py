"""HTTP door of detections: POST /v1/detections:batch, a JSON list of detections as in the feed contract."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
from fastapi import APIRouter, Body
from pydantic import BaseModel, Field

from cameras.detections.domain import Detection, Rejected, parse_object
from cameras.detections.metrics import RECEIVED
from cameras.detections.service import MAX_BATCH, Rejection, directory_of, ingest, rules_of
from d07.platform.errors import FieldProblem, InvalidArgument
from d07.platform.http import Caller
from d07.platform.runtime import Deps

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


class RejectedRead(BaseModel):
    index: int = Field(description="Position of the item in the request's list, from 0.")
    reason: str
    detail: str
    detection_id: str = ""


class IngestRead(BaseModel):
    accepted: int = Field(description="Valid detections (stored now or stored before).")
    stored: int = Field(description="Of the accepted, stored for the first time.")
    duplicates: int = Field(description="Of the accepted, whose detection id was stored already.")
    rejected: list[RejectedRead]


def _detection_id(item: Any) -> str:
    value = item.get("detection_id") if isinstance(item, dict) else None
    return value if isinstance(value, str) else ""


def router(deps: Deps) -> APIRouter:
    pool: asyncpg.Pool = deps.pool
    directory, rules = directory_of(deps), rules_of(deps.settings)
    api = APIRouter(prefix="/v1", tags=["detections"])

    @api.post("/detections:batch", response_model=IngestRead)
    async def ingest_batch(
        caller: Caller,
        items: list[Any] = Body(..., examples=[[EXAMPLE]]),  # noqa: B008 - FastAPI's way to declare a body
    ) -> IngestRead:
        """Detections from a gateway (role camera_gateway): the valid ones are stored and open or join
        violations; each refused item is named by its index and reason, and the others are kept."""
        if len(items) > MAX_BATCH:
            raise InvalidArgument(
                f"at most {MAX_BATCH} detections per request",
                code="batch_too_large",
                fields=[FieldProblem("body", f"{len(items)} > {MAX_BATCH}")],
            )
        RECEIVED.labels(door=DOOR).inc(len(items))
        now = datetime.now(UTC)
        valid: list[tuple[int, Detection]] = []
        rejected: list[Rejection] = []
        for index, item in enumerate(items):
            try:
                valid.append((index, parse_object(item, now=now, max_skew=rules.max_skew)))
            except Rejected as exc:
                rejected.append(Rejection(index, exc.reason, exc.detail, _detection_id(item)))
        result = await ingest(
            pool, valid, rejected, door=DOOR, principal=caller, directory=directory, rules=rules
        )
        return IngestRead(
            accepted=result.accepted,
            stored=result.stored,
            duplicates=result.duplicates,
            rejected=[RejectedRead(**vars(r)) for r in result.rejected],
        )

    return api
