"""The export's request: the document's parameters from a request (HTTP query or protobuf) over the settings'
defaults, and the file as d07.reporting.v1 chunks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date

from d07.reporting.v1 import reporting_pb2 as pb
from reporting.config import ReportingSettings
from reporting.exports.domain import DocumentFields


def document_fields(
    s: ReportingSettings,
    *,
    parent_agency: str = "",
    agency: str = "",
    number: str = "",
    symbol: str = "",
    place: str = "",
    issued_on: date | None = None,
    signing_form: str | None = None,
    signing_body: str = "",
    signer_head: str = "",
    signer_title: str = "",
    signer_name: str = "",
    recipients: Sequence[str] = (),
    excerpt: str = "",
) -> DocumentFields:
    """Each parameter the caller gave, else its setting (D07_REPORT_*). A signing form given replaces the
    whole signature block of the settings (a "TM" of the caller's does not inherit a deputy's title)."""
    own_signature = signing_form is not None and signing_form != ""
    return DocumentFields(
        parent_agency=parent_agency or s.report_parent_agency,
        agency=agency or s.report_agency,
        number=number,
        symbol=symbol or s.report_symbol,
        place=place or s.report_place,
        issued_on=issued_on,
        signing_form=signing_form if own_signature and signing_form else s.report_signing_form,
        signing_body=signing_body if own_signature else (signing_body or s.report_signing_body),
        signer_head=signer_head or s.report_signer_head,
        signer_title=signer_title if own_signature else (signer_title or s.report_signer_title),
        signer_name=signer_name or s.report_signer_name,
        recipients=list(recipients) or list(s.report_recipients),
        excerpt=excerpt,
    )


def chunks_to_pb(
    name: str, media_type: str, size: int, chunks: Iterator[bytes]
) -> Iterator[pb.ExportReviewReportResponse]:
    first = True
    for block in chunks:
        if first:
            yield pb.ExportReviewReportResponse(file_name=name, media_type=media_type, size=size, chunk=block)
            first = False
        else:
            yield pb.ExportReviewReportResponse(chunk=block)
    if first:  # an empty file still names itself
        yield pb.ExportReviewReportResponse(file_name=name, media_type=media_type, size=size)
