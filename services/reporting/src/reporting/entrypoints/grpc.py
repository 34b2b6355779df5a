"""gRPC door of reporting: d07.reporting.v1.ReportingService."""

from __future__ import annotations

import asyncpg
import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from d07.platform.grpc import current_principal
from d07.reporting.v1 import reporting_pb2 as pb
from d07.reporting.v1 import reporting_pb2_grpc as pb_grpc
from reporting.service.status import projection_status


class ReportingServicer(pb_grpc.ReportingServiceServicer):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def GetProjectionStatus(
        self, request: pb.GetProjectionStatusRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetProjectionStatusResponse:
        status = await projection_status(self.pool, principal=current_principal())
        streams = []
        for s in status.streams:
            item = pb.StreamStatus(topic=s.topic, events_applied=s.events_applied)
            if s.last_event_at is not None:
                ts = Timestamp()
                ts.FromDatetime(s.last_event_at)
                item.last_event_at.CopyFrom(ts)
            streams.append(item)
        return pb.GetProjectionStatusResponse(
            streams=streams, units=status.units, cameras=status.cameras, violations=status.violations
        )


def register(server: grpc.aio.Server, pool: asyncpg.Pool) -> None:
    pb_grpc.add_ReportingServiceServicer_to_server(ReportingServicer(pool), server)
