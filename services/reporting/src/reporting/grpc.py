"""d07.reporting.v1.ReportingService composed of its aggregates' parts: review (the report, its drill-down,
the projection status) and exports (the report as a document)."""

from __future__ import annotations

import grpc

from d07.reporting.v1 import reporting_pb2_grpc as pb_grpc
from reporting.config import ReportingDeps
from reporting.exports.grpc import ExportsServicer
from reporting.review.grpc import SERVICE_NAME, ReportingServicer

__all__ = ["SERVICE_NAME", "ReportingService", "register"]


class ReportingService(ExportsServicer, ReportingServicer):
    """Exports' part first: the generated base under review's part answers UNIMPLEMENTED for every method."""

    def __init__(self, deps: ReportingDeps) -> None:
        ReportingServicer.__init__(self, deps)


def register(server: grpc.aio.Server, deps: ReportingDeps) -> None:
    pb_grpc.add_ReportingServiceServicer_to_server(ReportingService(deps), server)
