"""gRPC door of the review report, its drill-down and the projection status: d07.reporting.v1.ReportingService
(every method of it)."""

from __future__ import annotations

import grpc

from d07.platform.grpc import current_principal
from d07.reporting.v1 import reporting_pb2 as pb
from d07.reporting.v1 import reporting_pb2_grpc as pb_grpc
from reporting.config import ReportingDeps
from reporting.review import service
from reporting.review.messages import optional_day, records_to_pb, report_to_pb, status_to_pb
from reporting.review.service import RecordsQuery, ReviewQuery, ReviewUnitOfWork, StatusQuery

SERVICE_NAME = "d07.reporting.v1.ReportingService"


class ReportingServicer(pb_grpc.ReportingServiceServicer):
    def __init__(self, deps: ReportingDeps) -> None:
        self.deps = deps

    async def GetProjectionStatus(
        self, request: pb.GetProjectionStatusRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetProjectionStatusResponse:
        status = await service.projection_status(
            self.deps.uow(ReviewUnitOfWork), StatusQuery(), current_principal()
        )
        return status_to_pb(status)

    async def GetReviewReport(
        self, request: pb.GetReviewReportRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetReviewReportResponse:
        query = ReviewQuery(
            start=optional_day(request, "from_date"),
            end=optional_day(request, "to_date"),
            district_code=request.district_code,
        )
        report = await service.review_report(self.deps.uow(ReviewUnitOfWork), query, current_principal())
        return report_to_pb(report)

    async def ListFigureRecords(
        self, request: pb.ListFigureRecordsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListFigureRecordsResponse:
        query = RecordsQuery(
            figure=request.figure,
            start=optional_day(request, "from_date"),
            end=optional_day(request, "to_date"),
            district_code=request.district_code,
            size=request.page.page_size,
            token=request.page.page_token,
            dimension=request.dimension,
            key=request.key,
        )
        found = await service.figure_records(self.deps.uow(ReviewUnitOfWork), query, current_principal())
        return records_to_pb(found)


def register(server: grpc.aio.Server, deps: ReportingDeps) -> None:
    pb_grpc.add_ReportingServiceServicer_to_server(ReportingServicer(deps), server)
