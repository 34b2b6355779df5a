"""The review report exported as a document: DOCX (the province's template filled), XLSX (every figure and
the records behind each count figure) or PDF (the DOCX converted by LibreOffice). Same readers as the report.

One snapshot: the figures and, for the workbook, every record behind them are read in one repeatable-read
transaction, so each drill-down sheet has exactly as many rows as its figure and the document's numbers are
the JSON report's of that moment. The file is built on disk (records streamed from a server-side cursor into
a write-only workbook), then handed to the door, which streams it in chunks and removes it: memory stays flat
however many records the province has.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from d07.platform.auth import Principal, require_roles
from d07.platform.db import Conn
from d07.platform.signing import signature
from d07.platform.uow import UnitOfWork
from reporting.exports import docx, pdf
from reporting.exports.domain import (
    COUNT_FIGURES,
    FORMATS,
    Document,
    DocumentFields,
    DocumentParams,
    document,
    export_format,
    file_name,
)
from reporting.exports.repository import ExportRepository
from reporting.exports.xlsx import ReviewWorkbook
from reporting.review.domain import ReviewReport, period
from reporting.review.service import READERS, read_report

CHUNK = 64 * 1024


class ExportUnitOfWork(UnitOfWork):
    reports: ExportRepository

    def bind(self, conn: Conn) -> None:
        self.reports = ExportRepository(conn)


@dataclass(frozen=True)
class Renderers:
    """Where the document's tools are (from the settings): the DOCX template, LibreOffice."""

    template: Path | None = None  # None: the template shipped with the service
    soffice: str = pdf.DEFAULT_SOFFICE
    pdf_timeout: float = 120.0


@dataclass(frozen=True)
class ExportQuery:
    start: date | None
    end: date | None
    format: str
    document: DocumentFields
    district_code: str = ""
    renderers: Renderers = field(default_factory=Renderers)


@dataclass
class ExportFile:
    """A finished document on disk: its name and media type for the caller, read in chunks, then removed."""

    name: str
    media_type: str
    path: Path
    report: ReviewReport

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    def chunks(self, size: int = CHUNK) -> Iterator[bytes]:
        with self.path.open("rb") as f:
            while block := f.read(size):
                yield block

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def params(fields: DocumentFields) -> DocumentParams:
    """The document's parameters, the signature block checked (INVALID_ARGUMENT naming the field)."""
    signed = signature(
        fields.signing_form, head=fields.signer_head, name=fields.signer_name, title=fields.signer_title,
        body=fields.signing_body,
    )  # fmt: skip
    recipients = [r.strip() for r in fields.recipients if r.strip()]
    return DocumentParams(
        parent_agency=fields.parent_agency.strip(), agency=fields.agency.strip(),
        number=fields.number.strip(), symbol=fields.symbol.strip(), place=fields.place.strip(),
        issued_on=fields.issued_on, signature=signed, recipients=recipients, excerpt=fields.excerpt.strip(),
    )  # fmt: skip


def _scratch(suffix: str) -> Path:
    fd, name = tempfile.mkstemp(prefix="d07-export-", suffix=suffix)
    os.close(fd)
    return Path(name)


async def export_review(uow: ExportUnitOfWork, query: ExportQuery, principal: Principal) -> ExportFile:
    """The review report of the period as a DOCX, XLSX or PDF file (see the module docstring)."""
    require_roles(principal, *READERS)
    fmt = export_format(query.format)
    current = period(query.start, query.end)
    fields = params(query.document)
    path = _scratch("." + FORMATS[fmt][1])
    try:
        async with uow:
            await uow.reports.snapshot()
            report = await read_report(uow.reports, current, query.district_code)
            doc = document(report, fields)
            if fmt == "xlsx":
                await _workbook(uow.reports, doc, path)
        if fmt != "xlsx":
            body = await asyncio.to_thread(
                docx.render, doc, query.renderers.template or docx.DEFAULT_TEMPLATE
            )
            if fmt == "pdf":
                r = query.renderers
                body = await pdf.convert(body, soffice=r.soffice, limit=r.pdf_timeout)
            path.write_bytes(body)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return ExportFile(file_name(report, fmt), FORMATS[fmt][0], path, report)


async def _workbook(reports: ExportRepository, doc: Document, path: Path) -> None:
    """The summary, then each count figure's records streamed into its sheet, a batch at a time (the
    workbook's writing runs in a worker thread so the event loop keeps serving)."""
    book = await asyncio.to_thread(ReviewWorkbook, doc)
    report = doc.report
    for figure in COUNT_FIGURES:
        book.sheet(figure)
        async for batch in reports.stream(figure=figure, period=report.period, district=report.district_code):
            await asyncio.to_thread(book.append, batch)
    await asyncio.to_thread(book.save, path)
