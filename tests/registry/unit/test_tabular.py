"""Reading XLSX and CSV tables with Vietnamese headers (pure: files made in memory)."""

from __future__ import annotations

import io
import time
import zipfile

import pytest
from openpyxl import Workbook

from d07.platform.errors import InvalidArgument
from registry.tabular import MAX_LINES, MAX_ROWS, RowProblem, read_table, refuse

HEADERS = {"Mã đơn vị": "code", "Tên đơn vị": "name", "Quận/Huyện": "district_code"}


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_and_csv_read_alike_with_headers_matched_loosely() -> None:
    rows = [
        ["MA DON VI", "tên  đơn vị", "Quận/Huyện", "Ghi chú"],
        ["THPT-01", "Trường THPT Hùng Vương", 1, "x"],
        [None, None, None, None],
        ["UBND-02", "Ủy ban nhân dân xã Nam Mẫu", "002", ""],
    ]
    from_xlsx = read_table("don-vi.xlsx", xlsx(rows), HEADERS, required={"code", "name"})
    csv_text = (
        "\ufeffMã đơn vị;Tên đơn vị;Quận/Huyện\n"
        "THPT-01;Trường THPT Hùng Vương;1\n"
        ";;\n"
        "UBND-02;Ủy ban nhân dân xã Nam Mẫu;002\n"
    )
    from_csv = read_table("don-vi.csv", csv_text.encode(), HEADERS, required={"code", "name"})
    assert [(r.line, r.values) for r in from_xlsx] == [(r.line, r.values) for r in from_csv]
    assert from_xlsx[1].line == 4  # the blank line is skipped but counted
    assert from_xlsx[0].values == {"code": "THPT-01", "name": "Trường THPT Hùng Vương", "district_code": "1"}


def test_bad_files_are_refused_with_a_reason() -> None:
    with pytest.raises(InvalidArgument, match="lacks required columns") as err:
        read_table("a.csv", "Tên đơn vị\nX\n".encode(), HEADERS, required={"code", "name"})
    assert err.value.fields[0].field == "column 'Mã đơn vị'"
    cases = [
        ("a.pdf", b"%PDF", "bad_file_type"),
        ("a.xlsx", b"not a zip", "bad_file"),
        ("a.csv", "Mã".encode("utf-16"), "bad_encoding"),
        ("a.csv", b"", "empty_file"),
    ]
    for name, content, code in cases:
        with pytest.raises(InvalidArgument) as err:
            read_table(name, content, HEADERS, required={"code"})
        assert err.value.code == code


def test_problems_are_reported_by_line() -> None:
    error = refuse([RowProblem(17, "name", "required"), RowProblem(3, "code", "taken")], what="units.xlsx")
    assert [f.field for f in error.fields] == ["line 3: code", "line 17: name"]
    assert "nothing was imported" in error.message


def _sheet_zip(sheet: bytes) -> bytes:
    """A zip holding one worksheet member: enough for the checks made before openpyxl opens the file."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return out.getvalue()


def test_a_csv_is_read_only_up_to_the_row_limit_plus_one() -> None:
    text = "Mã đơn vị;Tên đơn vị\n" + "DV;Tên\n" * 600_000
    started = time.perf_counter()
    with pytest.raises(InvalidArgument) as err:
        read_table("a.csv", text.encode(), HEADERS, required={"code"})
    assert err.value.code == "too_many_rows"
    assert time.perf_counter() - started < 5  # 20.001 rows read, not 600.000 (generous: a shared machine)
    assert (
        len(read_table("a.csv", ("Mã đơn vị\n" + "DV\n" * MAX_ROWS).encode(), HEADERS, required={"code"}))
        == MAX_ROWS
    )


def test_blank_lines_count_against_a_budget_of_their_own() -> None:
    text = "Mã đơn vị\n" + ";\n" * (MAX_LINES + 1)
    with pytest.raises(InvalidArgument) as err:
        read_table("a.csv", text.encode(), HEADERS, required={"code"})
    assert err.value.code == "too_many_rows"


def test_a_zip_bomb_is_refused_before_it_is_inflated() -> None:
    bomb = _sheet_zip(b"<row><c><v>1</v></c></row>" * 2_000_000)  # 52 MB in about 60 KB
    with pytest.raises(InvalidArgument) as err:
        read_table("a.xlsx", bomb, HEADERS, required={"code"})
    assert err.value.code == "file_too_large"
    assert "compression" in err.value.fields[0].reason


def test_a_workbook_with_too_many_rows_is_refused_by_counting_them_first() -> None:
    sheet = b"".join(
        b'<x:row r="%d"><x:c><x:v>%d</x:v></x:c></x:row>' % (n, n * 7919) for n in range(MAX_LINES + 2)
    )
    with pytest.raises(InvalidArgument) as err:
        read_table("a.xlsx", _sheet_zip(sheet), HEADERS, required={"code"})
    assert err.value.code == "too_many_rows"


def test_a_slow_file_is_stopped_by_the_time_budget() -> None:
    text = "Mã đơn vị\n" + "DV\n" * 5_000
    with pytest.raises(InvalidArgument) as err:
        read_table("a.csv", text.encode(), HEADERS, required={"code"}, budget_seconds=0)
    assert err.value.code == "file_too_large"


def test_a_nul_in_a_cell_is_a_problem_of_its_line() -> None:
    text = "Mã đơn vị;Tên đơn vị\nDV-01;Trường A\nDV-02;Trường\x00B\n"
    with pytest.raises(InvalidArgument) as err:
        read_table("a.csv", text.encode(), HEADERS, required={"code"})
    assert err.value.code == "import_rejected"
    assert [f.field for f in err.value.fields] == ["line 3: Tên đơn vị"]
