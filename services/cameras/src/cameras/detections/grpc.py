"""gRPC door of detections: d07.cameras.v1.DetectionsService (client-streaming IngestDetections)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import grpc

from cameras.detections.directory import Directory
from cameras.detections.domain import Detection, Rejected
from cameras.detections.messages import detection_from_pb
from cameras.detections.metrics import RECEIVED
from cameras.detections.service import (
    MAX_BATCH,
    IngestResult,
    Rejection,
    Rules,
    directory_of,
    ingest,
    rules_of,
)
from d07.cameras.v1 import detections_pb2 as pb
from d07.cameras.v1 import detections_pb2_grpc as pb_grpc
from d07.platform.auth import ADMIN, CAMERA_GATEWAY, require_roles
from d07.platform.errors import FieldProblem, InvalidArgument
from d07.platform.grpc import current_principal
from d07.platform.runtime import Deps

DOOR = "grpc"
SERVICE_NAME = "d07.cameras.v1.DetectionsService"


class DetectionsServicer(pb_grpc.DetectionsServiceServicer):
    def __init__(self, pool: asyncpg.Pool, directory: Directory, rules: Rules) -> None:
        self.pool = pool
        self.directory = directory
        self.rules = rules

    async def IngestDetections(
        self,
        request_iterator: AsyncIterator[pb.IngestDetectionsRequest],
        context: grpc.aio.ServicerContext,
    ) -> pb.IngestDetectionsResponse:
        """Each message of the stream is stored in its own transaction as it arrives; the answer sums them up.
        Indexes count detections from 0 across the whole stream."""
        principal = current_principal()
        require_roles(principal, CAMERA_GATEWAY, ADMIN)
        total = IngestResult()
        index = 0
        async for request in request_iterator:
            if len(request.detections) > MAX_BATCH:
                raise InvalidArgument(
                    f"at most {MAX_BATCH} detections per message",
                    code="batch_too_large",
                    fields=[FieldProblem("detections", f"{len(request.detections)} > {MAX_BATCH}")],
                )
            RECEIVED.labels(door=DOOR).inc(len(request.detections))
            now = datetime.now(UTC)
            valid: list[tuple[int, Detection]] = []
            rejected: list[Rejection] = []
            for d in request.detections:
                try:
                    valid.append((index, detection_from_pb(d, now=now, max_skew=self.rules.max_skew)))
                except Rejected as exc:
                    rejected.append(Rejection(index, exc.reason, exc.detail, d.detection_id))
                index += 1
            result = await ingest(
                self.pool, valid, rejected, door=DOOR, principal=principal,
                directory=self.directory, rules=self.rules,
            )  # fmt: skip
            total.accepted += result.accepted
            total.stored += result.stored
            total.duplicates += result.duplicates
            total.rejected += result.rejected
        return pb.IngestDetectionsResponse(
            accepted=total.accepted,
            stored=total.stored,
            duplicates=total.duplicates,
            rejected=[
                pb.RejectedDetection(
                    index=r.index, reason=r.reason, detail=r.detail, detection_id=r.detection_id
                )
                for r in total.rejected
            ],
        )


def register(server: grpc.aio.Server, deps: Deps) -> None:
    servicer = DetectionsServicer(deps.pool, directory_of(deps), rules_of(deps.settings))
    pb_grpc.add_DetectionsServiceServicer_to_server(servicer, server)
