"""The export handler over a fake unit of work: the readers of the report and no one else, refusals (an
unknown format, an incomplete signature, a bad period) after the role and before anything is read, and one
snapshot for the figures and the records of the workbook."""

from __future__ import annotations

from datetime import date
from io import BytesIO

import pytest
from openpyxl import load_workbook

from d07.platform.auth import ADMIN, AUDITOR, CHAIRMAN_OFFICE, POLICE, SERVICE, UNIT_OFFICER
from d07.platform.errors import InvalidArgument, PermissionDenied
from reporting.config import ReportingSettings
from reporting.exports.domain import SHEETS
from reporting.exports.messages import document_fields
from reporting.exports.service import ExportQuery, export_review
from reporting.review.domain import Period, Record
from tests.reporting.service.fakes import FakeExportUnitOfWork, counts
from tests.support.principals import caller, every_role

READERS = {ADMIN, POLICE, CHAIRMAN_OFFICE, AUDITOR, SERVICE}
PERIOD = Period(date(2014, 8, 15), date(2019, 8, 29))
SETTINGS = ReportingSettings()


def query(fmt: str = "docx", **fields: str) -> ExportQuery:
    return ExportQuery(PERIOD.start, PERIOD.end, fmt, document_fields(SETTINGS, **fields))  # type: ignore[arg-type]


def untouched(uow: FakeExportUnitOfWork) -> bool:
    return (uow.reports.calls, uow.commits, uow.rollbacks, uow.audits, uow.events) == ([], 0, 0, [], [])


@pytest.mark.parametrize("role", every_role())
async def test_only_the_readers_of_the_report_may_export(role: str) -> None:
    uow = FakeExportUnitOfWork()
    who = caller(role, unit_id="5c7a1f2e-3b4d-4e6f-8a9b-0c1d2e3f4a5b" if role == UNIT_OFFICER else None)
    if role in READERS:
        found = await export_review(uow, query(), who)
        try:
            assert found.media_type.endswith("wordprocessingml.document")
            assert found.name == "bao-cao-so-ket_2014-08-15_2019-08-29.docx"
            assert b"".join(found.chunks())[:2] == b"PK"
        finally:
            found.remove()
        assert not found.path.exists()
        assert uow.commits == 1
    else:
        with pytest.raises(PermissionDenied):
            await export_review(uow, query("odt"), who)  # the role first, even before the format
        assert untouched(uow)
    assert (uow.audits, uow.events) == ([], [])


@pytest.mark.parametrize(
    ("q", "code"),
    [
        (query("odt"), "unknown_format"),
        (query(""), "unknown_format"),
        (query(signing_form="KT", signer_title=""), "invalid_signature"),
        (query(signing_form="ZZ"), "invalid_signing_form"),
        (ExportQuery(PERIOD.end, PERIOD.start, "docx", query().document), "invalid_period"),
    ],
)
async def test_a_bad_request_is_refused_before_anything_is_read(q: ExportQuery, code: str) -> None:
    uow = FakeExportUnitOfWork()
    with pytest.raises(InvalidArgument) as refused:
        await export_review(uow, q, caller(ADMIN))
    assert refused.value.code == code
    assert untouched(uow)


async def test_the_workbook_reads_the_figures_and_their_records_in_one_snapshot() -> None:
    uow = FakeExportUnitOfWork()
    uow.reports.by_period[(PERIOD, "")] = counts(models__total=3, models__in_units=1)
    uow.reports.records_of["models.total"] = [Record(f"m{n}", f"Mô hình {n}") for n in range(3)]
    uow.reports.records_of["models.in_units"] = [Record("m1", "Mô hình 1")]
    found = await export_review(uow, query("xlsx"), caller(POLICE))
    try:
        wb = load_workbook(BytesIO(b"".join(found.chunks())))
    finally:
        found.remove()
    assert uow.reports.calls[0] == ("snapshot",)
    streamed = [c[1] for c in uow.reports.calls if c[0] == "stream"]
    assert streamed == list(SHEETS)
    assert uow.commits == 1  # one transaction: figures and records
    assert [c.value for c in wb[SHEETS["models.total"]]["C"]][1:] == ["Mô hình 0", "Mô hình 1", "Mô hình 2"]
    assert wb[SHEETS["models.in_units"]].max_row == 2


def test_the_composed_servicer_answers_the_export_with_the_exports_part() -> None:
    from reporting.exports.grpc import ExportsServicer
    from reporting.grpc import ReportingService
    from reporting.review.grpc import ReportingServicer

    assert ReportingService.ExportReviewReport is ExportsServicer.ExportReviewReport
    assert ReportingService.GetReviewReport is ReportingServicer.GetReviewReport
