"""gRPC door of reporting: d07.reporting.v1.ReportingService."""

from __future__ import annotations

from datetime import date

import asyncpg
import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from d07.common.v1 import common_pb2
from d07.platform.errors import FieldProblem, InvalidArgument
from d07.platform.grpc import current_principal
from d07.reporting.v1 import reporting_pb2 as pb
from d07.reporting.v1 import reporting_pb2_grpc as pb_grpc
from reporting.service.review import figure_records, review_report
from reporting.service.status import projection_status


def _day(d: common_pb2.Date) -> date | None:
    """An unset Date is None (the domain refuses it); an impossible one is refused here."""
    if not (d.year or d.month or d.day):
        return None
    try:
        return date(d.year, d.month, d.day)
    except ValueError as exc:
        raise InvalidArgument(
            "not a date", code="invalid_date", fields=[FieldProblem("date", "a real calendar day")]
        ) from exc


def _pb_day(d: date) -> common_pb2.Date:
    return common_pb2.Date(year=d.year, month=d.month, day=d.day)


class ReportingServicer(pb_grpc.ReportingServiceServicer):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def GetProjectionStatus(
        self, request: pb.GetProjectionStatusRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetProjectionStatusResponse:
        status = await projection_status(self.pool, principal=current_principal())
        streams = []
        for s in status.streams:
            item = pb.StreamStatus(
                topic=s.topic,
                events_applied=s.events_applied,
                consumed=[pb.PartitionOffset(partition=c.partition, offset=c.offset) for c in s.consumed],
            )
            if s.last_event_at is not None:
                ts = Timestamp()
                ts.FromDatetime(s.last_event_at)
                item.last_event_at.CopyFrom(ts)
            streams.append(item)
        return pb.GetProjectionStatusResponse(
            streams=streams, units=status.units, cameras=status.cameras, violations=status.violations
        )

    async def GetReviewReport(
        self, request: pb.GetReviewReportRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetReviewReportResponse:
        report = await review_report(
            self.pool,
            start=_day(request.from_date) if request.HasField("from_date") else None,
            end=_day(request.to_date) if request.HasField("to_date") else None,
            district_code=request.district_code,
            principal=current_principal(),
        )
        return pb.GetReviewReportResponse(
            from_date=_pb_day(report.period.start),
            to_date=_pb_day(report.period.end),
            previous_from_date=_pb_day(report.previous.start),
            previous_to_date=_pb_day(report.previous.end),
            district_code=report.district_code,
            figures=[
                pb.Figure(
                    name=f.name,
                    value=f.value,
                    previous=f.previous,
                    target=f.target,
                    kind=pb.FIGURE_KIND_QUANTITY if f.unit else pb.FIGURE_KIND_COUNT,
                    unit=f.unit or "",
                )
                for f in report.figures
            ],
            rates=[pb.Rate(name=r.name, value=r.value, previous=r.previous) for r in report.rates],
            breakdowns=[
                pb.Breakdown(
                    figure=b.figure,
                    dimension=b.dimension,
                    entries=[
                        pb.BreakdownEntry(key=e.key, label=e.label, value=e.value, previous=e.previous)
                        for e in b.entries
                    ],
                )
                for b in report.breakdowns
            ],
        )

    async def ListFigureRecords(
        self, request: pb.ListFigureRecordsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListFigureRecordsResponse:
        found = await figure_records(
            self.pool,
            figure=request.figure,
            start=_day(request.from_date) if request.HasField("from_date") else None,
            end=_day(request.to_date) if request.HasField("to_date") else None,
            district_code=request.district_code,
            size=request.page.page_size,
            token=request.page.page_token,
            principal=current_principal(),
            dimension=request.dimension,
            key=request.key,
        )
        return pb.ListFigureRecordsResponse(
            records=[pb.FigureRecord(id=r.id, label=r.label, quantity=r.quantity) for r in found.records],
            page=common_pb2.PageInfo(next_page_token=found.next_page_token),
        )


def register(server: grpc.aio.Server, pool: asyncpg.Pool) -> None:
    pb_grpc.add_ReportingServiceServicer_to_server(ReportingServicer(pool), server)
