"""Write the first version of the review report's DOCX template (services/reporting/src/reporting/exports/
templates/bao-cao.docx): the state administrative format of Decree 30/2020/NĐ-CP, Appendix I, with the
docxtpl (Jinja) tags the reporting service fills.

The template in the repository is data: the province edits it in Word (another agency line, an extra
paragraph, another font size) and the service fills whatever it finds. This script only made its first
version; running it again overwrites those edits (`python tools/make_review_template.py [PATH]`).

Tags the service fills (reporting.exports.domain.Document.context): parent_agency, agency, number_line,
place_date, document_type, excerpt, opening, sections[{heading, paragraphs}], table_title, period,
previous_period, rows[{label, unit, value, previous, change, target, rate}], recipients, signature_lines,
signer_name.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

OUT = Path(__file__).resolve().parents[1] / "services/reporting/src/reporting/exports/templates/bao-cao.docx"
FONT = "Times New Roman"
CENTER, JUSTIFY, LEFT = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.JUSTIFY, WD_ALIGN_PARAGRAPH.LEFT


def _fonts(style_or_run_element: object, name: str = FONT) -> None:
    rpr = style_or_run_element.get_or_add_rPr()  # type: ignore[attr-defined]
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), name)


def para(
    where: object,
    text: str = "",
    *,
    size: float = 14,
    bold: bool = False,
    italic: bool = False,
    align: int = CENTER,
    before: float = 0,
    after: float = 0,
    indent: float | None = None,
) -> Paragraph:
    p: Paragraph = where.add_paragraph()  # type: ignore[attr-defined]
    p.alignment = align
    f = p.paragraph_format
    f.space_before, f.space_after = Pt(before), Pt(after)
    f.line_spacing = 1.0
    if indent is not None:
        f.first_line_indent = Cm(indent)
    if text:
        run = p.add_run(text)
        run.font.size = Pt(size)
        run.bold = bold
        run.italic = italic
        run.font.name = FONT
        _fonts(run._r)
    return p


def rule(p: Paragraph, indent_cm: float) -> None:
    """A short horizontal rule under the line above: the paragraph's bottom border, indented both sides."""
    p.paragraph_format.left_indent = Cm(indent_cm)
    p.paragraph_format.right_indent = Cm(indent_cm)
    ppr = p._p.get_or_add_pPr()
    bdr = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for k, v in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(k), v)
    bdr.append(bottom)
    ppr.append(bdr)
    run = p.add_run()
    run.font.size = Pt(2)


def first_paragraph(cell: _Cell) -> None:
    """A new cell has one empty paragraph; remove it so the cell holds exactly what is added."""
    cell._tc.remove(cell.paragraphs[0]._p)


def width(cell: _Cell, mm: float) -> None:
    cell.width = Mm(mm)


def grid(table: Table, widths: list[float]) -> None:
    """The table's column grid (what LibreOffice lays out by; Word reads the cells' widths)."""
    for column, mm in zip(table.columns, widths, strict=True):
        column.width = Mm(mm)


def main(out: Path) -> None:
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(14)
    _fonts(normal.element)
    doc.core_properties.title = "Báo cáo sơ kết thực hiện Chỉ thị số 07/CT-BCA-V28"
    doc.core_properties.author = "d07 reporting"
    body = doc._body._body
    body.remove(doc.paragraphs[0]._p) if doc.paragraphs else None

    # The header: the issuing agency top left, the national title and motto top right (Appendix I, 1-4).
    head = doc.add_table(rows=1, cols=2)
    head.alignment = WD_TABLE_ALIGNMENT.CENTER
    head.autofit = False
    grid(head, [68, 97])
    left, right = head.rows[0].cells
    width(left, 68)
    width(right, 97)
    for c in (left, right):
        first_paragraph(c)
    para(left, "{{ parent_agency }}", size=12)
    para(left, "{{ agency }}", size=12, bold=True)
    rule(para(left, size=2), 2.0)
    para(left, "{{ number_line }}", size=13, before=6)
    para(right, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", size=12, bold=True)
    para(right, "Độc lập - Tự do - Hạnh phúc", size=13, bold=True)
    rule(para(right, size=2), 2.3)
    para(right, "{{ place_date }}", size=14, italic=True, before=6)

    # The kind of document and its excerpt (Appendix I, 5).
    para(doc, "{{ document_type }}", size=14, bold=True, before=18)
    para(doc, "{{ excerpt }}", size=14, bold=True)
    rule(para(doc, size=2), 6.0)

    # The body, drafted from the figures.
    para(doc, "{{ opening }}", align=JUSTIFY, before=12, after=6, indent=1.27)
    para(doc, "I. KẾT QUẢ THỰC HIỆN", bold=True, align=LEFT, after=6, indent=1.27)
    para(doc, "{%p for s in sections %}", align=LEFT)
    para(doc, "{{ s.heading }}", bold=True, align=JUSTIFY, after=6, indent=1.27)
    para(doc, "{%p for t in s.paragraphs %}", align=LEFT)
    para(doc, "{{ t }}", align=JUSTIFY, after=6, indent=1.27)
    para(doc, "{%p endfor %}", align=LEFT)
    para(doc, "{%p endfor %}", align=LEFT)
    para(doc, "II. {{ table_title | upper }}", bold=True, align=LEFT, before=6, after=6, indent=1.27)
    para(doc, "Kỳ này: {{ period }}; kỳ trước: {{ previous_period }}.", size=12, italic=True, align=LEFT,
         after=6, indent=1.27)  # fmt: skip

    columns = (("TT", 10), ("Chỉ tiêu", 48), ("Đơn vị tính", 16), ("Kỳ này", 20), ("Kỳ trước", 17),
               ("Tăng, giảm", 20), ("Kế hoạch", 17), ("Tỷ lệ", 17))  # fmt: skip
    table = doc.add_table(rows=4, cols=len(columns))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    grid(table, [mm for _, mm in columns])
    cells = ("{{ loop.index }}", "{{ r.label }}", "{{ r.unit }}", "{{ r.value }}", "{{ r.previous }}",
             "{{ r.change }}", "{{ r.target }}", "{{ r.rate }}")  # fmt: skip
    for n, (title, mm) in enumerate(columns):
        for row in table.rows:
            width(row.cells[n], mm)
            first_paragraph(row.cells[n])
        para(table.rows[0].cells[n], title, size=11, bold=True)
        para(table.rows[1].cells[n], "{%tr for r in rows %}" if n == 0 else "", size=11)
        align = LEFT if n == 1 else (CENTER if n in (0, 2) else WD_ALIGN_PARAGRAPH.RIGHT)
        para(table.rows[2].cells[n], cells[n], size=11, align=align)
        para(table.rows[3].cells[n], "{%tr endfor %}" if n == 0 else "", size=11)

    # Recipients bottom left, the signature bottom right (Appendix I, 7-9).
    para(doc, "", size=6, after=6)
    foot = doc.add_table(rows=1, cols=2)
    foot.alignment = WD_TABLE_ALIGNMENT.CENTER
    foot.autofit = False
    grid(foot, [75, 90])
    to, sign = foot.rows[0].cells
    width(to, 75)
    width(sign, 90)
    for c in (to, sign):
        first_paragraph(c)
    para(to, "Nơi nhận:", size=12, bold=True, italic=True, align=LEFT)
    para(to, "{%p for r in recipients %}", size=11, align=LEFT)
    para(to, "- {{ r }}", size=11, align=LEFT)
    para(to, "{%p endfor %}", size=11, align=LEFT)
    para(sign, "{%p for l in signature_lines %}", size=14)
    para(sign, "{{ l }}", size=14, bold=True)
    para(sign, "{%p endfor %}", size=14)
    for _ in range(4):
        para(sign, "", size=14, after=6)
    para(sign, "{{ signer_name }}", size=14, bold=True)

    out.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(out))
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
