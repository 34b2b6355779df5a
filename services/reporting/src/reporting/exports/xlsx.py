"""The XLSX of the review report (openpyxl, write-only: rows go to disk as they come, so a large province's
records never sit in memory): a "Tổng hợp" sheet with every figure, rate and breakdown of the report, and one
sheet per count figure listing the records behind it (as many rows as the figure counts). Numbers are
numbers with number formats (`#,##0` shows 1.454 under Vietnamese settings, rates as per cent), dates
dd-mm-yyyy; headers in Vietnamese, the header row frozen, filters on, column widths set."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from d07.platform.text import vn_date
from reporting.exports.domain import BREAKDOWN_TITLES, SHEETS, Document, Row
from reporting.review.domain import Record

INTEGER = "#,##0"
DECIMAL = "#,##0.00"
RATE = "0.00%"
SUMMARY = "Tổng hợp"
SUMMARY_HEADERS = ("TT", "Mã chỉ số", "Chỉ tiêu", "Đơn vị tính", "Kỳ này", "Kỳ trước", "Tăng, giảm",
                   "Kế hoạch", "Tỷ lệ")  # fmt: skip
SUMMARY_WIDTHS = (6, 34, 58, 12, 14, 14, 14, 12, 10)
RECORD_HEADERS = ("TT", "Mã bản ghi", "Nội dung")
RECORD_WIDTHS = (8, 40, 90)
# The summary's first rows: the title, the period, an empty line; then the header row.
HEADER_ROW = 4


class ReviewWorkbook:
    """One workbook being written: the summary first, then each drill-down sheet in turn (`sheet`, then its
    records in batches with `append`), then `save`."""

    def __init__(self, document: Document) -> None:
        self.wb = Workbook(write_only=True)
        self.bold = Font(name="Times New Roman", bold=True)
        self._summary(document)
        self.current: WriteOnlyWorksheet | None = None
        self.count = 0

    def _cell(self, ws: WriteOnlyWorksheet, value: Any, fmt: str | None = None, bold: bool = False) -> Any:
        c = WriteOnlyCell(ws, value=value)
        if fmt:
            c.number_format = fmt
        if bold:
            c.font = self.bold
            c.alignment = Alignment(wrap_text=True, vertical="center")
        return c

    def _start(self, ws: WriteOnlyWorksheet, widths: Sequence[int], header_row: int) -> None:
        for n, w in enumerate(widths, 1):
            ws.column_dimensions[get_column_letter(n)].width = w
        ws.freeze_panes = f"A{header_row + 1}"

    def _summary(self, d: Document) -> None:
        ws = self.wb.create_sheet(SUMMARY)
        self._start(ws, SUMMARY_WIDTHS, HEADER_ROW)
        report = d.report
        ws.append([self._cell(ws, d.context()["excerpt"], bold=True)])
        p, q = report.period, report.previous
        ws.append([
            f"Kỳ này: {vn_date(p.start)} - {vn_date(p.end)}; kỳ trước: {vn_date(q.start)} - "
            f"{vn_date(q.end)}; "
            f"phạm vi: {'huyện ' + report.district_code if report.district_code else 'toàn tỉnh'}"
        ])  # fmt: skip
        ws.append([])
        ws.append([self._cell(ws, h, bold=True) for h in SUMMARY_HEADERS])
        n = 0
        for n, row in enumerate(d.table, 1):
            ws.append(self._row(ws, n, row))
        for b in report.breakdowns:
            title = BREAKDOWN_TITLES[(b.figure, b.dimension)]
            for e in b.entries:
                n += 1
                code = f"{b.figure.split('.')[0]}.by_{b.dimension}.{e.key}"
                ws.append([
                    n, code, f"{title}: {e.label}", "vụ", self._cell(ws, e.value, INTEGER),
                    self._cell(ws, e.previous, INTEGER), self._cell(ws, e.value - e.previous, INTEGER),
                ])  # fmt: skip
        ws.auto_filter.ref = f"A{HEADER_ROW}:{get_column_letter(len(SUMMARY_HEADERS))}{HEADER_ROW + n}"

    def _row(self, ws: WriteOnlyWorksheet, n: int, row: Row) -> list[Any]:
        if row.unit == "%":  # a rate in per cent: the fraction, formatted as per cent
            fmt = RATE
            value, previous = (None if x is None else round(x / 100, 6) for x in (row.value, row.previous))
            diff = None if row.change is None else round(row.change / 100, 6)
        else:
            fmt = INTEGER if row.decimals == 0 else "#,##0.0000"
            value, previous, diff = row.value, row.previous, row.change
        return [
            n, row.name, row.label, row.unit,
            self._cell(ws, value, fmt), self._cell(ws, previous, fmt), self._cell(ws, diff, fmt),
            self._cell(ws, row.target, INTEGER),
            self._cell(ws, None if row.rate is None else round(row.rate / 100, 6), RATE),
        ]  # fmt: skip

    def sheet(self, figure: str) -> None:
        """Close the sheet being written (its filter over the rows it got) and start the figure's."""
        self._close_sheet()
        ws = self.wb.create_sheet(SHEETS[figure])
        self._start(ws, RECORD_WIDTHS, 1)
        ws.append([self._cell(ws, h, bold=True) for h in RECORD_HEADERS])
        self.current, self.count = ws, 0

    def append(self, records: Iterable[Record]) -> None:
        assert self.current is not None
        ws = self.current
        for r in records:
            self.count += 1
            ws.append([self.count, r.id, r.label])

    def _close_sheet(self) -> None:
        if self.current is not None:
            self.current.auto_filter.ref = f"A1:{get_column_letter(len(RECORD_HEADERS))}{self.count + 1}"
            self.current = None

    def save(self, path: Path) -> None:
        self._close_sheet()
        self.wb.save(str(path))
