"""A fixed review report (the article's figures and a previous period) for the exports' unit tests."""

from __future__ import annotations

from datetime import date
from io import BytesIO

from docx import Document as read_docx
from docx.document import Document as DocxDocument

from d07.platform.signing import signature
from reporting.exports.domain import DocumentParams
from reporting.review.domain import (
    FIGURES,
    QUANTITIES,
    TARGETED,
    Breakdown,
    Entry,
    FigureValue,
    Period,
    RateValue,
    ReviewReport,
)

NOW = {
    "assessments.total": 1730, "assessments.passed": 1454, "models.total": 61, "models.in_units": 12,
    "models.in_communities": 49, "training.classes": 26, "training.attendances": 1502,
    "cameras.planned": 3200,
    "cameras.installed": 2400, "cameras.online": 2310, "cameras.online_hours": 1234567,
    "violations.opened": 300, "violations.detections": 512, "violations.resolved": 150,
    "violations.dismissed": 60, "violations.overdue": 12, "awards.merit.collective": 8,
    "awards.merit.individual": 8, "awards.commendation.collective": 14, "awards.commendation.individual": 12,
}  # fmt: skip
THEN = {name: 0 for name in FIGURES} | {
    "assessments.total": 346, "assessments.passed": 300, "models.total": 49, "models.in_units": 10,
    "violations.opened": 312,
}  # fmt: skip


def fixed_report() -> ReviewReport:
    current = Period(date(2014, 8, 15), date(2019, 8, 29))
    figures = [
        FigureValue(n, NOW[n], THEN[n], 3200 if n in TARGETED else None, QUANTITIES.get(n)) for n in FIGURES
    ]
    rates = [
        RateValue("cameras.uptime", 0.8765, None),
        RateValue("violations.per_camera_online_hour", 0.000243, None),
    ]
    breakdowns = [
        Breakdown("violations.opened", "kind", [Entry("crowd", "Tụ tập đông người", 100, 12),
                                                 Entry("intrusion", "Xâm nhập trái phép", 200, 300)]),
        Breakdown("violations.opened", "district", [Entry("001", "001", 300, 312)]),
    ]  # fmt: skip
    return ReviewReport(current, current.previous(), "", figures, rates, breakdowns)


def fixed_params(**overrides: object) -> DocumentParams:
    fields: dict[str, object] = dict(
        parent_agency="Ủy ban nhân dân tỉnh Sơn Lâm", agency="Ban Chỉ đạo 138", number="15", symbol="BC-BCĐ",
        place="Sơn Lâm", issued_on=None,
        signature=signature("KT", head="Trưởng ban", title="Phó Trưởng ban", name="Nguyễn Văn Thành"),
        recipients=["Bộ Công an (V28);", "Lưu: VT, BCĐ 138."],
    )  # fmt: skip
    fields.update(overrides)
    return DocumentParams(**fields)  # type: ignore[arg-type]


def decree_page(d: DocxDocument) -> bool:
    """A4 with the margins of Decree 30/2020/NĐ-CP, Appendix I (to a tenth of a millimetre: Word keeps
    twentieths of a point)."""
    s = d.sections[0]
    mm = [round(x.mm, 1) for x in (s.page_width, s.page_height, s.top_margin, s.bottom_margin,
                                   s.left_margin, s.right_margin)]  # fmt: skip
    w, h, top, bottom, left, right = mm
    return (
        (w, h) == (210, 297)
        and 20 <= top <= 25
        and 20 <= bottom <= 25
        and 30 <= left <= 35
        and 15 <= right <= 20
    )


def text_of(body: bytes) -> str:
    d = read_docx(BytesIO(body))
    parts = [p.text for p in d.paragraphs]
    for t in d.tables:
        for row in t.rows:
            parts += [c.text for c in row.cells]
    return "\n".join(parts)
