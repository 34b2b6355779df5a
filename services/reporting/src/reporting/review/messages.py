"""The review report, its drill-down and the projection status as d07.reporting.v1 messages, and the
requests' dates."""

from __future__ import annotations

from datetime import date

from d07.common.v1 import common_pb2
from d07.platform.convert import date_from_pb, date_to_pb, optional_timestamp
from d07.reporting.v1 import reporting_pb2 as pb
from reporting.review.domain import FigureRecords, ProjectionStatus, ReviewReport


def optional_day(request: pb.GetReviewReportRequest | pb.ListFigureRecordsRequest, field: str) -> date | None:
    """A request's date: None when absent or unset (the domain refuses it); InvalidArgument when it is no
    calendar day."""
    return date_from_pb(getattr(request, field), field) if request.HasField(field) else None


def status_to_pb(status: ProjectionStatus) -> pb.GetProjectionStatusResponse:
    return pb.GetProjectionStatusResponse(
        streams=[
            pb.StreamStatus(
                topic=s.topic,
                events_applied=s.events_applied,
                consumed=[pb.PartitionOffset(partition=c.partition, offset=c.offset) for c in s.consumed],
                last_event_at=optional_timestamp(s.last_event_at),
            )
            for s in status.streams
        ],
        units=status.units,
        cameras=status.cameras,
        violations=status.violations,
    )


def report_to_pb(report: ReviewReport) -> pb.GetReviewReportResponse:
    return pb.GetReviewReportResponse(
        from_date=date_to_pb(report.period.start),
        to_date=date_to_pb(report.period.end),
        previous_from_date=date_to_pb(report.previous.start),
        previous_to_date=date_to_pb(report.previous.end),
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


def records_to_pb(found: FigureRecords) -> pb.ListFigureRecordsResponse:
    return pb.ListFigureRecordsResponse(
        records=[pb.FigureRecord(id=r.id, label=r.label, quantity=r.quantity) for r in found.records],
        page=common_pb2.PageInfo(next_page_token=found.next_page_token),
    )
