"""Reading the tables provincial offices keep (XLSX or CSV) into rows of named fields.

Headers are Vietnamese and matched without regard to case, diacritics or spacing ("Mã đơn vị", "MA DON VI",
"mã  đơn vị" are one header). Each row keeps its line number in the file, so a problem can name it. Import
is all or nothing: callers validate every row, report every problem, and write only a file without any.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from d07.platform.errors import FieldProblem, InvalidArgument
from d07.platform.text import fold

MAX_ROWS = 20_000


@dataclass(frozen=True)
class Row:
    line: int  # the line in the file (1 is the header line)
    values: dict[str, str]


@dataclass(frozen=True)
class RowProblem:
    line: int
    field: str
    reason: str

    def as_field(self) -> FieldProblem:
        return FieldProblem(f"line {self.line}: {self.field}", self.reason)


def refuse(problems: Sequence[RowProblem], *, what: str) -> InvalidArgument:
    """The error of a file with problems: nothing was imported, every problem named by line and field."""
    ordered = sorted(problems, key=lambda p: (p.line, p.field))
    return InvalidArgument(
        f"{what}: {len(ordered)} problem(s); nothing was imported", code="import_rejected",
        fields=[p.as_field() for p in ordered],
    )  # fmt: skip


def _cells_xlsx(content: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise InvalidArgument("the file is not a readable XLSX workbook", code="bad_file") from exc
    sheet = book.worksheets[0]
    rows = []
    for row in sheet.iter_rows(values_only=True):
        rows.append(["" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
                     for v in row])  # fmt: skip
    book.close()
    return rows


def _cells_csv(content: bytes) -> list[list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidArgument("a CSV file must be UTF-8", code="bad_encoding") from exc
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [list(r) for r in csv.reader(io.StringIO(text), dialect)]


def read_table(filename: str, content: bytes, headers: Mapping[str, str], *, required: set[str]) -> list[Row]:
    """Rows of an .xlsx or .csv file. `headers` maps a Vietnamese header to a field name; a header in the
    file that maps to nothing is ignored; a required field without a column refuses the file."""
    lower = filename.lower()
    if lower.endswith(".xlsx"):
        cells = _cells_xlsx(content)
    elif lower.endswith(".csv"):
        cells = _cells_csv(content)
    else:
        raise InvalidArgument("the file must be .xlsx or .csv", code="bad_file_type")
    if not cells:
        raise InvalidArgument("the file is empty", code="empty_file")
    wanted = {fold(h): f for h, f in headers.items()}
    columns: dict[int, str] = {}
    for i, h in enumerate(cells[0]):
        field = wanted.get(fold(h))
        if field is not None:
            columns[i] = field
    missing = required - set(columns.values())
    if missing:
        names = {f: h for h, f in headers.items()}
        raise InvalidArgument(
            "the file lacks required columns", code="missing_columns",
            fields=[FieldProblem(f"column {names[f]!r}", "required") for f in sorted(missing)],
        )  # fmt: skip
    rows: list[Row] = []
    for n, raw in enumerate(cells[1:], start=2):
        values = {field: (raw[i].strip() if i < len(raw) else "") for i, field in columns.items()}
        if not any(values.values()):
            continue  # blank lines are not rows
        rows.append(Row(n, values))
    if len(rows) > MAX_ROWS:
        raise InvalidArgument(f"at most {MAX_ROWS} rows per file", code="too_many_rows")
    return rows
