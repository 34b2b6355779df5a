"""The review report's documents from a fixed report: the draft text, the table, the signing forms, the DOCX
(format of Decree 30/2020/NĐ-CP) and the XLSX read back, and the template as data (an edit to it changes the
document without a code change)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from io import BytesIO
from pathlib import Path

import pytest
from docx import Document as read_docx
from openpyxl import load_workbook

from d07.platform.errors import InvalidArgument
from d07.platform.signing import signature
from reporting.config import ReportingSettings
from reporting.exports import docx
from reporting.exports.domain import (
    COUNT_FIGURES,
    SHEETS,
    change,
    default_excerpt,
    document,
    draft,
    export_format,
    file_name,
    place_and_date,
    rows,
)
from reporting.exports.xlsx import HEADER_ROW, SUMMARY, ReviewWorkbook
from reporting.review.domain import FIGURES, Period, Record
from tests.reporting.unit.review_fixture import NOW, THEN, decree_page, fixed_params, fixed_report, text_of

# --- phrases and draft -----------------------------------------------------------------------------------


def test_change_against_the_previous_period() -> None:
    assert change(61, 49) == "tăng 12 so với kỳ trước"
    assert change(300, 312) == "giảm 12 so với kỳ trước"
    assert change(8, 8) == "bằng kỳ trước"
    assert change(2454, 1000) == "tăng 1.454 so với kỳ trước"


def test_the_date_line_and_the_excerpt() -> None:
    assert place_and_date("Sơn Lâm", date(2019, 8, 29)) == "Sơn Lâm, ngày 29 tháng 8 năm 2019"
    report = fixed_report()
    assert default_excerpt(report).startswith("Sơ kết 5 năm (2014-2019) thực hiện Chỉ thị số 07/CT-BCA-V28")
    half = replace(report, period=Period(date(2019, 1, 1), date(2019, 6, 30)))
    assert "từ ngày 01-01-2019 đến ngày 30-06-2019" in default_excerpt(half)


def test_the_draft_reads_section_by_section_with_every_number_from_the_report() -> None:
    opening, sections = draft(fixed_report(), "Ban Chỉ đạo 138")
    assert "từ ngày 15-08-2014 đến ngày 29-08-2019" in opening
    assert [s.heading.split(".")[0] for s in sections] == ["1", "2", "3", "4", "5", "6"]
    text = "\n".join(p for s in sections for p in s.paragraphs)
    assert "toàn tỉnh có 1.454/1.730 lượt cơ quan, doanh nghiệp, nhà trường đạt tiêu chuẩn" in text
    assert "(đạt 84,05%)" in text
    assert "kỳ trước 300/346 lượt, số lượt đạt tăng 1.154 so với kỳ trước" in text
    assert "61 mô hình phong trào toàn dân bảo vệ ANTQ, trong đó có 12 mô hình thuộc cơ quan" in text
    assert "kỳ trước 49 mô hình, tăng 12 so với kỳ trước" in text
    assert "Tổ chức 26 lớp bồi dưỡng nghiệp vụ bảo vệ cho 1.502 lượt bảo vệ" in text
    assert "Kế hoạch lắp đặt 3.200 camera" in text
    assert "lắp đặt 2.400 camera (đạt 75,00% chỉ tiêu)" in text
    assert "mở 300 vụ việc vi phạm" in text
    assert "giảm 12 so với kỳ trước" in text
    assert "đã xử lý 210 vụ, trong đó 150 vụ giải quyết xong và 60 vụ loại bỏ" in text
    assert "Tụ tập đông người 100 vụ; Xâm nhập trái phép 200 vụ" in text
    assert "Bằng khen cho 8 tập thể và 8 cá nhân" in text
    assert "Giấy khen cho 14 tập thể và 12 cá nhân" in text


def test_the_table_has_every_figure_then_every_rate() -> None:
    table = rows(fixed_report())
    assert [r.name for r in table][: len(FIGURES)] == list(FIGURES)
    by = {r.name: r for r in table}
    for name in FIGURES:
        assert (by[name].value, by[name].previous) == (NOW[name], THEN[name])
    assert by["assessments.passed"].texts() == {
        "label": "Lượt đạt tiêu chuẩn “An toàn về an ninh, trật tự”", "unit": "lượt", "value": "1.454",
        "previous": "300", "change": "+1.154", "target": "", "rate": "84,05%",
    }  # fmt: skip
    assert by["cameras.installed"].texts()["target"] == "3.200"
    assert by["cameras.installed"].texts()["rate"] == "75,00%"
    assert by["violations.opened"].texts()["change"] == "-12"
    assert by["cameras.uptime"].texts()["value"] == "87,65"


def test_an_unknown_format_is_refused() -> None:
    assert export_format(" DOCX ") == "docx"
    with pytest.raises(InvalidArgument) as refused:
        export_format("odt")
    assert refused.value.code == "unknown_format"
    assert file_name(fixed_report(), "pdf") == "bao-cao-so-ket_2014-08-15_2019-08-29.pdf"


# --- the signing forms of Decree 30/2020 ------------------------------------------------------------------


def test_the_signing_forms() -> None:
    assert signature("", head="Chủ tịch", name="A").lines() == ["CHỦ TỊCH"]
    assert signature("KT", head="Chủ tịch", title="Phó Chủ tịch", name="A").lines() == [
        "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH",
    ]  # fmt: skip
    assert signature("TM", body="Ủy ban nhân dân", head="Chủ tịch", name="A").lines() == [
        "TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH",
    ]  # fmt: skip
    both = signature("KT.", body="Ủy ban nhân dân", head="Chủ tịch", title="Phó Chủ tịch", name="A")
    assert both.lines() == ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"]
    assert signature("q", head="Chủ tịch", name="A").lines() == ["Q. CHỦ TỊCH"]
    assert signature("TL", head="Chủ tịch", title="Chánh Văn phòng", name="A").lines() == [
        "TL. CHỦ TỊCH", "CHÁNH VĂN PHÒNG",
    ]  # fmt: skip
    assert signature("HEAD", head="Trưởng ban", name="A").lines() == ["TRƯỞNG BAN"]


@pytest.mark.parametrize(
    ("form", "kwargs", "field"),
    [
        ("XX", {"head": "Chủ tịch", "name": "A"}, "signing_form"),
        ("TM", {"head": "Chủ tịch", "name": "A"}, "signing_body"),
        ("KT", {"head": "Chủ tịch", "name": "A"}, "signer_title"),
        ("", {"head": "Chủ tịch", "name": " "}, "signer_name"),
    ],
)
def test_an_incomplete_signature_is_refused(form: str, kwargs: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        signature(form, **kwargs)
    assert field in [f.field for f in refused.value.fields]


# --- the DOCX ----------------------------------------------------------------------------------------------


def test_the_docx_is_in_the_decrees_format() -> None:
    body = docx.render(document(fixed_report(), fixed_params()))
    d = read_docx(BytesIO(body))
    assert decree_page(d)
    assert d.styles["Normal"].font.name == "Times New Roman"
    assert d.styles["Normal"].font.size.pt in (13, 14)
    head_left, head_right = d.tables[0].rows[0].cells
    assert [p.text for p in head_left.paragraphs if p.text] == [
        "ỦY BAN NHÂN DÂN TỈNH SƠN LÂM", "BAN CHỈ ĐẠO 138", "Số: 15/BC-BCĐ",
    ]  # fmt: skip
    right = [p for p in head_right.paragraphs if p.text]
    assert [p.text for p in right] == [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Sơn Lâm, ngày 29 tháng 8 năm 2019",
    ]
    assert all(r.italic for r in right[2].runs)
    text = text_of(body)
    assert "BÁO CÁO" in [p.text for p in d.paragraphs]
    assert "1.454/1.730 lượt" in text
    to, sign = d.tables[-1].rows[0].cells
    assert to.paragraphs[0].text == "Nơi nhận:"
    assert [p.text for p in to.paragraphs[1:]] == ["- Bộ Công an (V28);", "- Lưu: VT, BCĐ 138."]
    assert [p.text for p in sign.paragraphs if p.text] == [
        "KT. TRƯỞNG BAN",
        "PHÓ TRƯỞNG BAN",
        "Nguyễn Văn Thành",
    ]
    table = d.tables[1]
    values = {r.cells[1].text: r.cells[3].text for r in table.rows[1:]}
    assert values["Lượt đạt tiêu chuẩn “An toàn về an ninh, trật tự”"] == "1.454"
    assert len(table.rows) == 1 + len(rows(fixed_report()))


def test_the_request_texts_are_escaped() -> None:
    body = docx.render(document(fixed_report(), fixed_params(agency="Ban A & B <138>")))
    assert "BAN A & B <138>" in text_of(body)


def test_editing_the_template_changes_the_document_without_a_code_change(tmp_path: Path) -> None:
    edited = read_docx(str(docx.DEFAULT_TEMPLATE))
    left = edited.tables[0].rows[0].cells[0]
    for p in left.paragraphs:
        if "{{ parent_agency }}" in p.text:
            p.runs[0].text = "ỦY BAN NHÂN DÂN TỈNH LÂM SƠN"
    edited.add_paragraph("Đoạn văn tỉnh tự thêm vào mẫu: {{ signer_name }} ký.")
    template = tmp_path / "mau.docx"
    edited.save(str(template))
    body = docx.render(document(fixed_report(), fixed_params()), template)
    text = text_of(body)
    assert "ỦY BAN NHÂN DÂN TỈNH LÂM SƠN" in text
    assert "ỦY BAN NHÂN DÂN TỈNH SƠN LÂM" not in text
    assert "Đoạn văn tỉnh tự thêm vào mẫu: Nguyễn Văn Thành ký." in text


# --- the XLSX -----------------------------------------------------------------------------------------------


def test_the_workbook_has_every_figure_and_a_sheet_of_records_per_count_figure(tmp_path: Path) -> None:
    doc = document(fixed_report(), fixed_params())
    book = ReviewWorkbook(doc)
    for figure in COUNT_FIGURES:
        book.sheet(figure)
        many = min(NOW[figure], 1500)
        for start in range(0, many, 1000):  # in batches, as the cursor gives them
            batch = range(start, min(many, start + 1000))
            book.append(Record(f"{figure}-{n:05d}", f"bản ghi {n}") for n in batch)
    path = tmp_path / "b.xlsx"
    book.save(path)
    wb = load_workbook(path)
    assert wb.sheetnames == [SUMMARY, *(SHEETS[f] for f in COUNT_FIGURES)]
    summary = wb[SUMMARY]
    assert summary.freeze_panes == f"A{HEADER_ROW + 1}"
    assert summary.auto_filter.ref.startswith(f"A{HEADER_ROW}:")
    lines = {r[1]: r for r in summary.iter_rows(min_row=HEADER_ROW + 1, values_only=True)}
    for name in FIGURES:
        assert lines[name][4] == NOW[name]
        assert lines[name][5] == THEN[name]
    assert lines["cameras.uptime"][4] == pytest.approx(0.8765)
    assert lines["violations.by_kind.intrusion"][4] == 200
    cell = next(c for c in summary[HEADER_ROW + 2] if c.value == 1454)
    assert cell.data_type == "n"
    assert cell.number_format == "#,##0"
    for figure in COUNT_FIGURES:
        ws = wb[SHEETS[figure]]
        assert [c.value for c in ws[1]] == ["TT", "Mã bản ghi", "Nội dung"]
        assert ws.max_row - 1 == min(NOW[figure], 1500)
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref == f"A1:C{ws.max_row}"
        assert ws.column_dimensions["C"].width == 90


def test_the_readmes_settings_table_is_the_settings() -> None:
    readme = (Path(__file__).resolve().parents[3] / "services/reporting/README.md").read_text()
    row = r"^\| `D07_(REPORT_[A-Z_]+|SOFFICE|PDF_TIMEOUT_SECONDS)` \| (.*) \|$"
    table = dict(re.findall(row, readme, re.M))
    s = ReportingSettings()
    own = ("soffice", "pdf_timeout_seconds")
    names = {n.upper() for n in type(s).model_fields if n.startswith("report_") or n in own}
    assert set(table) == names
    for name, shown in table.items():
        value = getattr(s, name.lower())
        if isinstance(value, str) and value:
            assert shown == value, name
    assert table["REPORT_SIGNING_BODY"] == "(empty)"
    assert all(r.rstrip(";.") in table["REPORT_RECIPIENTS"] for r in s.report_recipients)
    assert table["PDF_TIMEOUT_SECONDS"] == f"{s.pdf_timeout_seconds:g}"
