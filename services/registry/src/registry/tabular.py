"""Reading the tables provincial offices keep (XLSX or CSV) into rows of named fields.

Headers are Vietnamese and matched without regard to case, diacritics or spacing ("Mã đơn vị", "MA DON VI",
"mã  đơn vị" are one header). Each row keeps its line number in the file, so a problem can name it. Import
is all or nothing: callers validate every row, report every problem, and write only a file without any.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
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


# The budget of one upload. A workbook is a zip: its members are measured before anything is parsed (a small
# file can unpack to gigabytes), and reading stops at the row limit plus one, so a file that is refused is
# refused after reading no more than the limit allows. The reading itself runs in a worker thread
# (`read_upload`), never on the event loop.
MAX_COLUMNS = 64  # more columns than any table provincial offices keep; the rest of a row is not read
MAX_LINES = 2 * MAX_ROWS  # blank lines are skipped but counted: a sheet of blank lines is not free to read
MAX_UNPACKED_BYTES = 32 * 1024 * 1024  # the whole workbook unpacked
MAX_RATIO = 100  # unpacked / packed of one zip member (a bomb packs at 1.000:1)
READ_SECONDS = 20.0  # the time budget of one file


def _refuse_too_many() -> InvalidArgument:
    return InvalidArgument(f"at most {MAX_ROWS} rows per file", code="too_many_rows")


def _check_zip(content: bytes) -> None:
    """Refuse a workbook whose members unpack to more than MAX_UNPACKED_BYTES or compress more than
    MAX_RATIO to one, before a single member is inflated."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise InvalidArgument("the file is not a readable XLSX workbook", code="bad_file") from exc
    total = 0
    for member in members:
        total += member.file_size
        if member.file_size > 1024 * 1024 and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            raise InvalidArgument(
                "the workbook unpacks to far more than it weighs (a compressed bomb)", code="file_too_large",
                fields=[FieldProblem("file", f"{member.filename}: compression above {MAX_RATIO}:1")],
            )  # fmt: skip
    if total > MAX_UNPACKED_BYTES:
        raise InvalidArgument(
            "the workbook unpacks to too much", code="file_too_large",
            fields=[FieldProblem("file", f"at most {MAX_UNPACKED_BYTES // (1024 * 1024)} MiB unpacked")],
        )  # fmt: skip
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for member in members:
            if member.filename.startswith("xl/worksheets/") and member.filename.endswith(".xml"):
                _count_rows(archive, member)


def _count_rows(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
    """Count a sheet's row elements in its inflated bytes (fast, in short steps that let the event loop's
    thread run, bounded by MAX_UNPACKED_BYTES), because openpyxl reads a whole sheet before its first row when
    the sheet does not state its dimension. `<row` and a prefixed `:row ` / `:row>` are counted."""
    rows = 0
    tail = b""
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(256 * 1024):
                data = tail + chunk
                rows += data.count(b"<row") + data.count(b":row ") + data.count(b":row>")
                if rows > MAX_LINES + 1:
                    raise _refuse_too_many()
                tail = data[-5:]  # a tag cut by the chunk's end is counted in the next one ...
                rows -= tail.count(b"<row") + tail.count(b":row ") + tail.count(b":row>")  # ... only there
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise InvalidArgument("the file is not a readable XLSX workbook", code="bad_file") from exc


def _text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _cells_xlsx(content: bytes) -> Iterator[list[str]]:
    _check_zip(content)
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise InvalidArgument("the file is not a readable XLSX workbook", code="bad_file") from exc
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS)
        while True:
            try:
                row = next(rows)
            except StopIteration:
                break
            except Exception as exc:  # a damaged sheet is found while reading it
                raise InvalidArgument("the file is not a readable XLSX workbook", code="bad_file") from exc
            yield [_text(v) for v in row]
    finally:
        book.close()


def _cells_csv(content: bytes) -> Iterator[list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidArgument("a CSV file must be UTF-8", code="bad_encoding") from exc
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        for r in csv.reader(io.StringIO(text), dialect):
            yield list(r[:MAX_COLUMNS])
    except csv.Error as exc:
        raise InvalidArgument(f"the CSV file cannot be read: {exc}", code="bad_file") from exc


def read_table(
    filename: str, content: bytes, headers: Mapping[str, str], *, required: set[str],
    budget_seconds: float = READ_SECONDS,
) -> list[Row]:  # fmt: skip
    """Rows of an .xlsx or .csv file. `headers` maps a Vietnamese header to a field name; a header in the
    file that maps to nothing is ignored; a required field without a column refuses the file. Reading stops
    at MAX_ROWS + 1 rows (too_many_rows), MAX_LINES lines or `budget_seconds` (file_too_large)."""
    lower = filename.lower()
    if lower.endswith(".xlsx"):
        cells = _cells_xlsx(content)
    elif lower.endswith(".csv"):
        cells = _cells_csv(content)
    else:
        raise InvalidArgument("the file must be .xlsx or .csv", code="bad_file_type")
    deadline = time.monotonic() + budget_seconds
    try:
        header = next(cells, None)
        if header is None:
            raise InvalidArgument("the file is empty", code="empty_file")
        wanted = {fold(h): f for h, f in headers.items()}
        columns: dict[int, str] = {}
        for i, h in enumerate(header):
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
        for n, raw in enumerate(cells, start=2):
            if n > MAX_LINES + 1:
                raise InvalidArgument(
                    f"at most {MAX_LINES} lines per file, blank lines included", code="too_many_rows"
                )
            if n % 256 == 0 and time.monotonic() > deadline:
                raise InvalidArgument(
                    f"the file took more than {budget_seconds:g} s to read", code="file_too_large"
                )
            values = {field: (raw[i].strip() if i < len(raw) else "") for i, field in columns.items()}
            if not any(values.values()):
                continue  # blank lines are not rows
            bad = [f for f, v in values.items() if "\x00" in v]
            if bad:  # PostgreSQL stores no NUL: one odd cell is a problem of its line, never a 500
                names = {f: h for h, f in headers.items()}
                raise InvalidArgument(
                    "the file holds a NUL character", code="import_rejected",
                    fields=[FieldProblem(f"line {n}: {names[f]}", "a NUL character") for f in bad],
                )  # fmt: skip
            rows.append(Row(n, values))
            if len(rows) > MAX_ROWS:
                raise _refuse_too_many()
        return rows
    finally:
        close = getattr(cells, "close", None)
        if close is not None:
            close()


async def read_upload(
    filename: str, content: bytes, headers: Mapping[str, str], *, required: set[str]
) -> list[Row]:
    """read_table in a worker thread: the event loop (health, other calls, the workers) keeps running while
    a file is read."""
    return await asyncio.to_thread(read_table, filename, content, headers, required=required)
