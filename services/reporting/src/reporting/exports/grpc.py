"""gRPC door of the exports: ReportingService.ExportReviewReport (the rest of ReportingService is review's;
reporting/grpc.py composes the two)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from d07.platform.convert import date_from_pb
from d07.platform.grpc import current_principal
from d07.reporting.v1 import reporting_pb2 as pb
from reporting.config import ReportingDeps
from reporting.exports import service
from reporting.exports.messages import chunks_to_pb, document_fields
from reporting.exports.service import ExportQuery, ExportUnitOfWork, Renderers


class ExportsServicer:
    """The export method of d07.reporting.v1.ReportingService."""

    def __init__(self, deps: ReportingDeps) -> None:
        self.deps = deps

    async def ExportReviewReport(
        self, request: pb.ExportReviewReportRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.ExportReviewReportResponse]:
        d = request.document
        s = self.deps.settings
        fields = document_fields(
            s, parent_agency=d.parent_agency, agency=d.agency, number=d.number, symbol=d.symbol,
            place=d.place,
            issued_on=date_from_pb(d.issued_on, "document.issued_on") if d.HasField("issued_on") else None,
            signing_form=d.signing_form, signing_body=d.signing_body, signer_head=d.signer_head,
            signer_title=d.signer_title, signer_name=d.signer_name, recipients=list(d.recipients),
            excerpt=d.excerpt,
        )  # fmt: skip
        query = ExportQuery(
            start=date_from_pb(request.from_date, "from_date") if request.HasField("from_date") else None,
            end=date_from_pb(request.to_date, "to_date") if request.HasField("to_date") else None,
            format=request.format, document=fields, district_code=request.district_code,
            renderers=Renderers(s.report_template, s.soffice, s.pdf_timeout_seconds),
        )  # fmt: skip
        found = await service.export_review(self.deps.uow(ExportUnitOfWork), query, current_principal())
        try:
            for message in chunks_to_pb(found.name, found.media_type, found.size, found.chunks()):
                yield message
        finally:
            found.remove()
