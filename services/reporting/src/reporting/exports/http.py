"""HTTP door of the exports: GET /v1/reports/review/export?format=docx|xlsx|pdf&from=...&to=...[&...], the
file streamed with its Content-Disposition."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from d07.platform.http import Caller
from reporting.config import ReportingDeps
from reporting.exports import service
from reporting.exports.messages import document_fields
from reporting.exports.service import ExportFile, ExportQuery, ExportUnitOfWork, Renderers
from reporting.review.domain import parse_day


def disposition(name: str) -> str:
    return f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"


def _stream(found: ExportFile) -> Iterator[bytes]:
    try:
        yield from found.chunks()
    finally:
        found.remove()


def renderers(deps: ReportingDeps) -> Renderers:
    s = deps.settings
    return Renderers(template=s.report_template, soffice=s.soffice, pdf_timeout=s.pdf_timeout_seconds)


def router(deps: ReportingDeps) -> APIRouter:
    api = APIRouter(prefix="/v1", tags=["reports"])

    @api.get("/reports/review/export", response_class=StreamingResponse)
    async def export_review_report(
        caller: Caller,
        format: Annotated[str, Query(description="docx, xlsx or pdf")] = "",
        from_: Annotated[str | None, Query(alias="from", description="first day, YYYY-MM-DD")] = None,
        to: Annotated[str | None, Query(description="last day, YYYY-MM-DD")] = None,
        district: str = "",
        parent_agency: str = "",
        agency: str = "",
        number: str = "",
        symbol: str = "",
        place: str = "",
        issued_on: Annotated[str | None, Query(description="the date line, YYYY-MM-DD")] = None,
        signing_form: Annotated[str, Query(description="HEAD, TM, KT, Q, TL or TUQ")] = "",
        signing_body: str = "",
        signer_head: str = "",
        signer_title: str = "",
        signer_name: str = "",
        recipient: Annotated[list[str] | None, Query(description="Nơi nhận, one per parameter")] = None,
        excerpt: str = "",
    ) -> StreamingResponse:
        """The review report as a DOCX, XLSX or PDF file (the same readers as the report)."""
        fields = document_fields(
            deps.settings, parent_agency=parent_agency, agency=agency, number=number, symbol=symbol,
            place=place, issued_on=parse_day("issued_on", issued_on), signing_form=signing_form,
            signing_body=signing_body, signer_head=signer_head, signer_title=signer_title,
            signer_name=signer_name, recipients=recipient or (), excerpt=excerpt,
        )  # fmt: skip
        query = ExportQuery(
            start=parse_day("from", from_), end=parse_day("to", to), format=format, document=fields,
            district_code=district, renderers=renderers(deps),
        )  # fmt: skip
        found = await service.export_review(deps.uow(ExportUnitOfWork), query, caller)
        headers = {"Content-Disposition": disposition(found.name), "Content-Length": str(found.size)}
        return StreamingResponse(_stream(found), media_type=found.media_type, headers=headers)

    return api
