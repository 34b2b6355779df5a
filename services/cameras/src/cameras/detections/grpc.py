"""gRPC door of detections: d07.cameras.v1.DetectionsService (client-streaming IngestDetections)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import grpc

from cameras.detections import service
from cameras.detections.domain import Detection, IngestDetections, IngestResult
from cameras.detections.messages import detection_from_pb, result_to_pb
from cameras.detections.service import DetectionsDeps, DetectionsUnitOfWork
from d07.cameras.v1 import detections_pb2 as pb
from d07.cameras.v1 import detections_pb2_grpc as pb_grpc
from d07.platform.grpc import current_principal

DOOR = "grpc"
SERVICE_NAME = "d07.cameras.v1.DetectionsService"


def _parse(d: pb.Detection, now: datetime, max_skew: timedelta) -> Detection:
    return detection_from_pb(d, now=now, max_skew=max_skew)


def _detection_id(d: pb.Detection) -> str:
    return d.detection_id


class DetectionsServicer(pb_grpc.DetectionsServiceServicer):
    def __init__(self, deps: DetectionsDeps) -> None:
        self.deps = deps
        self.rules = service.rules_of(deps.settings)

    async def IngestDetections(
        self,
        request_iterator: AsyncIterator[pb.IngestDetectionsRequest],
        context: grpc.aio.ServicerContext,
    ) -> pb.IngestDetectionsResponse:
        """Each message of the stream is stored in its own transaction as it arrives; the answer sums them up.
        Indexes count detections from 0 across the whole stream."""
        principal = current_principal()
        service.ensure_may_send(principal)  # before reading the stream
        total = IngestResult()
        index = 0
        async for request in request_iterator:
            cmd = IngestDetections(
                door=DOOR, items=list(request.detections), parse=_parse, detection_id_of=_detection_id,
                first_index=index, batch_name="message", batch_field="detections",
            )  # fmt: skip
            result = await service.ingest(
                self.deps.uow(DetectionsUnitOfWork), cmd, principal,
                directory=self.deps.directory, rules=self.rules,
            )  # fmt: skip
            total.accepted += result.accepted
            total.stored += result.stored
            total.duplicates += result.duplicates
            total.rejected += result.rejected
            index += len(request.detections)
        return result_to_pb(total)


def register(server: grpc.aio.Server, deps: DetectionsDeps) -> None:
    pb_grpc.add_DetectionsServiceServicer_to_server(DetectionsServicer(deps), server)
