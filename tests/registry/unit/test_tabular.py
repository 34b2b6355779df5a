"""Reading XLSX and CSV tables with Vietnamese headers (pure: files made in memory)."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from d07.platform.errors import InvalidArgument
from registry.tabular import RowProblem, read_table, refuse

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
