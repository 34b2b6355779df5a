"""The review report as the province's documents: the formats, the document's parameters (agency, number,
place, date, signature, recipients) and the draft text and table written from the figures. Pure: no I/O.

Every number of the draft and of the table comes from one `ReviewReport` (the snapshot the JSON report is
read in); nothing here is typed in but the words around the numbers. Numbers print as Vietnamese documents
print them (`1.454`, `84,05%`) and dates as `29-08-2019`; the date line of the document reads
"Sơn Lâm, ngày 29 tháng 8 năm 2019" (Decree 30/2020/NĐ-CP, Appendix I).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from d07.platform.errors import FieldProblem, InvalidArgument
from d07.platform.signing import Signature
from d07.platform.text import vn_date, vn_number
from reporting.review.domain import BREAKDOWNS, FIGURES, QUANTITIES, FigureValue, RateValue, ReviewReport

# format -> (media type, file extension)
FORMATS: Mapping[str, tuple[str, str]] = {
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "pdf": ("application/pdf", "pdf"),
}

DIRECTIVE = "Chỉ thị số 07/CT-BCA-V28 ngày 15-08-2014 của Bộ trưởng Bộ Công an"
DIRECTIVE_TITLE = (
    "“Đẩy mạnh phong trào toàn dân bảo vệ an ninh Tổ quốc trong cơ quan, doanh nghiệp, nhà trường, đáp ứng "
    "yêu cầu, nhiệm vụ bảo đảm an ninh, trật tự trong tình hình mới”"
)

# For people: each figure's name and unit, in the order of FIGURES (the table's rows, the workbook's lines).
LABELS: Mapping[str, tuple[str, str]] = {
    "assessments.total": ("Lượt cơ quan, doanh nghiệp, nhà trường được đánh giá", "lượt"),
    "assessments.passed": ("Lượt đạt tiêu chuẩn “An toàn về an ninh, trật tự”", "lượt"),
    "models.total": ("Mô hình phong trào toàn dân bảo vệ ANTQ xây dựng mới, củng cố", "mô hình"),
    "models.in_units": ("- Trong cơ quan, doanh nghiệp, nhà trường", "mô hình"),
    "models.in_communities": ("- Ở khu dân cư, xã, phường", "mô hình"),
    "training.classes": ("Lớp bồi dưỡng nghiệp vụ bảo vệ", "lớp"),
    "training.attendances": ("Lượt bảo vệ được bồi dưỡng", "lượt"),
    "cameras.planned": ("Camera đưa vào kế hoạch lắp đặt", "camera"),
    "cameras.installed": ("Camera đã lắp đặt", "camera"),
    "cameras.online": ("Camera trực tuyến cuối kỳ", "camera"),
    "cameras.online_hours": ("Thời gian camera trực tuyến", "giờ"),
    "violations.opened": ("Vụ việc vi phạm phát hiện qua camera", "vụ"),
    "violations.detections": ("Lần phát hiện của camera", "lần"),
    "violations.resolved": ("Vụ việc đã xử lý xong", "vụ"),
    "violations.dismissed": ("Vụ việc đã loại bỏ (không vi phạm)", "vụ"),
    "violations.overdue": ("Vụ việc quá hạn xử lý", "vụ"),
    "awards.merit.collective": ("Bằng khen của Chủ tịch UBND tỉnh: tập thể", "tập thể"),
    "awards.merit.individual": ("Bằng khen của Chủ tịch UBND tỉnh: cá nhân", "cá nhân"),
    "awards.commendation.collective": ("Giấy khen của Giám đốc Công an tỉnh: tập thể", "tập thể"),
    "awards.commendation.individual": ("Giấy khen của Giám đốc Công an tỉnh: cá nhân", "cá nhân"),
}
assert tuple(LABELS) == FIGURES, "every figure needs its label, in the report's order"
RATE_LABELS: Mapping[str, tuple[str, str]] = {
    "cameras.uptime": ("Tỷ lệ thời gian camera trực tuyến", "%"),
    "violations.per_camera_online_hour": ("Vụ việc trên một giờ camera trực tuyến", "vụ/giờ"),
}
# The names of the drill-down sheets of the workbook (at most 31 characters, unique), one per count figure.
SHEETS: Mapping[str, str] = {
    "assessments.total": "Lượt đánh giá",
    "assessments.passed": "Lượt đạt chuẩn",
    "models.total": "Mô hình",
    "models.in_units": "Mô hình trong đơn vị",
    "models.in_communities": "Mô hình ở khu dân cư",
    "training.classes": "Lớp bồi dưỡng",
    "training.attendances": "Lượt bồi dưỡng",
    "cameras.planned": "Camera kế hoạch",
    "cameras.installed": "Camera đã lắp đặt",
    "cameras.online": "Camera trực tuyến",
    "violations.opened": "Vụ việc phát hiện",
    "violations.resolved": "Vụ việc xử lý xong",
    "violations.dismissed": "Vụ việc loại bỏ",
    "violations.overdue": "Vụ việc quá hạn",
    "awards.merit.collective": "Bằng khen tập thể",
    "awards.merit.individual": "Bằng khen cá nhân",
    "awards.commendation.collective": "Giấy khen tập thể",
    "awards.commendation.individual": "Giấy khen cá nhân",
}
assert set(SHEETS) == set(FIGURES) - set(QUANTITIES), "one sheet per count figure"
assert all(len(s) <= 31 for s in SHEETS.values()), "a sheet's name has at most 31 characters"
assert len(set(SHEETS.values())) == len(SHEETS), "sheet names are unique"
COUNT_FIGURES: tuple[str, ...] = tuple(f for f in FIGURES if f in SHEETS)
BREAKDOWN_TITLES: Mapping[tuple[str, str], str] = {
    ("violations.opened", "kind"): "Vụ việc vi phạm theo loại",
    ("violations.opened", "district"): "Vụ việc vi phạm theo huyện (mã)",
}
assert set(BREAKDOWN_TITLES) == set(BREAKDOWNS)


def export_format(name: str) -> str:
    """A known format (docx, xlsx, pdf), or INVALID_ARGUMENT naming the known ones."""
    key = name.strip().lower()
    if key not in FORMATS:
        raise InvalidArgument(
            f"unknown format {name!r}", code="unknown_format",
            fields=[FieldProblem("format", "one of " + ", ".join(FORMATS))],
        )  # fmt: skip
    return key


@dataclass(frozen=True)
class DocumentParams:
    """What the document says beyond the figures (the request's parameters over the settings' defaults)."""

    parent_agency: str
    agency: str
    number: str
    symbol: str
    place: str
    issued_on: date | None
    signature: Signature
    recipients: Sequence[str]
    excerpt: str = ""


@dataclass(frozen=True)
class DocumentFields:
    """The document's parameters as the caller gave them over the settings' defaults (the doors "
    "merge them); checked by the handler after the role."""

    parent_agency: str
    agency: str
    number: str
    symbol: str
    place: str
    issued_on: date | None
    signing_form: str
    signing_body: str
    signer_head: str
    signer_title: str
    signer_name: str
    recipients: Sequence[str]
    excerpt: str = ""


# --- numbers and phrases --------------------------------------------------------------------------------


def num(value: int | float | None, decimals: int = 0) -> str:
    return "" if value is None else vn_number(value, decimals)


def percent(part: int | float, whole: int | float | None) -> float | None:
    """part / whole in per cent (two decimals), None when there is no whole."""
    if not whole:
        return None
    return round(100 * part / whole, 2)


def pct(value: float | None) -> str:
    return "" if value is None else f"{vn_number(value, 2)}%"


def change(value: int | float, previous: int | float, decimals: int = 0) -> str:
    """ "tăng 12 so với kỳ trước", "giảm 3 so với kỳ trước", "bằng kỳ trước"."""
    diff = value - previous
    if diff > 0:
        return f"tăng {vn_number(diff, decimals)} so với kỳ trước"
    if diff < 0:
        return f"giảm {vn_number(-diff, decimals)} so với kỳ trước"
    return "bằng kỳ trước"


def place_and_date(place: str, on: date) -> str:
    """ "Sơn Lâm, ngày 29 tháng 8 năm 2019" (no leading zeros on the date line, as the decree prints it)."""
    return f"{place}, ngày {on.day} tháng {on.month} năm {on.year}"


def number_line(number: str, symbol: str) -> str:
    """ "Số: 15/BC-BCĐ"; an unnumbered draft leaves room for the number: "Số:      /BC-BCĐ"."""
    return f"Số: {number.strip() or '      '}/{symbol}"


def default_excerpt(report: ReviewReport) -> str:
    """ "Sơ kết 5 năm (2014-2019) thực hiện Chỉ thị số 07/CT-BCA-V28 ..." when the period is whole years
    (give or take a month), else "Kết quả thực hiện ... từ ngày 01-01-2019 đến ngày 30-06-2019"."""
    p = report.period
    years = round(p.days / 365.25)
    if years >= 1 and abs(p.days - years * 365.25) <= 31:
        return f"Sơ kết {years} năm ({p.start.year}-{p.end.year}) thực hiện {DIRECTIVE}"
    return f"Kết quả thực hiện {DIRECTIVE} từ ngày {vn_date(p.start)} đến ngày {vn_date(p.end)}"


def scope_name(report: ReviewReport) -> str:
    return f"huyện (mã {report.district_code})" if report.district_code else "toàn tỉnh"


# --- the draft ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    heading: str
    paragraphs: list[str]


@dataclass(frozen=True)
class Row:
    """One line of the table of figures: its label and unit, this period, the previous one, the change, the
    target and the rate (of the target, or of the whole it is part of), as numbers (None: not given)."""

    name: str
    label: str
    unit: str
    value: float | None
    previous: float | None
    target: int | None = None
    rate: float | None = None  # per cent
    decimals: int = 0

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return round(self.value - self.previous, self.decimals)

    def texts(self) -> dict[str, str]:
        """The row as the document prints it."""
        d = self.decimals
        diff = self.change
        return {
            "label": self.label,
            "unit": self.unit,
            "value": num(self.value, d),
            "previous": num(self.previous, d),
            "change": "" if diff is None else (("+" if diff > 0 else "") + num(diff, d)),
            "target": num(self.target),
            "rate": pct(self.rate),
        }


def _rate_of(name: str, f: Mapping[str, FigureValue]) -> float | None:
    if f[name].target is not None:
        return percent(f[name].value, f[name].target)
    if name == "assessments.passed":
        return percent(f[name].value, f["assessments.total"].value)
    return None


def _rate_row(r: RateValue) -> Row:
    label, unit = RATE_LABELS[r.name]
    if unit == "%":
        as_pct = [None if v is None else round(100 * v, 2) for v in (r.value, r.previous)]
        return Row(r.name, label, unit, as_pct[0], as_pct[1], decimals=2)
    return Row(r.name, label, unit, r.value, r.previous, decimals=4)


def rows(report: ReviewReport) -> list[Row]:
    """Every figure (in the report's order), then every rate: the table of the document and the workbook."""
    f = {x.name: x for x in report.figures}
    out = [
        Row(name, *LABELS[name], f[name].value, f[name].previous, f[name].target, _rate_of(name, f))
        for name in FIGURES
    ]
    return out + [_rate_row(r) for r in report.rates]


def draft(report: ReviewReport, agency: str) -> tuple[str, list[Section]]:
    """The opening paragraph and the sections of the body, in the order of a review (the seed article's):
    assessments, models, training, cameras, violations, awards. Every number is the report's."""
    f = {x.name: x for x in report.figures}
    v = {k: x.value for k, x in f.items()}
    pv = {k: x.previous for k, x in f.items()}
    p, q = report.period, report.previous
    where = scope_name(report)
    opening = (
        f"Thực hiện {DIRECTIVE} về {DIRECTIVE_TITLE}, {agency or 'Ban Chỉ đạo'} báo cáo kết quả thực hiện "
        f"trên địa bàn {where} trong kỳ từ ngày {vn_date(p.start)} đến ngày {vn_date(p.end)}, so "
        "với kỳ trước "
        f"(từ ngày {vn_date(q.start)} đến ngày {vn_date(q.end)}), như sau:"
    )
    sections = [
        Section("1. Đánh giá tiêu chuẩn “An toàn về an ninh, trật tự”", [_assessments(where, v, pv)]),
        Section("2. Xây dựng, củng cố mô hình phong trào toàn dân bảo vệ an ninh Tổ quốc", [_models(v, pv)]),
        Section("3. Bồi dưỡng nghiệp vụ cho lực lượng bảo vệ", [_training(v, pv)]),
        Section("4. Hệ thống camera giám sát", _cameras(report, f, v, pv)),
        Section("5. Phát hiện, xử lý vi phạm qua hệ thống camera", _violations(report, v, pv)),
        Section("6. Công tác khen thưởng", [_awards(v, pv)]),
    ]
    return opening, sections


def _assessments(where: str, v: Mapping[str, int], pv: Mapping[str, int]) -> str:
    passed, total = v["assessments.passed"], v["assessments.total"]
    share = percent(passed, total)
    text = (
        f"Trong kỳ, {where} có {num(passed)}/{num(total)} lượt cơ quan, doanh nghiệp, nhà trường "
        "đạt tiêu chuẩn "
        f"“An toàn về an ninh, trật tự”"
    )
    if share is not None:
        text += f" (đạt {pct(share)})"
    return (
        f"{text}; kỳ trước {num(pv['assessments.passed'])}/{num(pv['assessments.total'])} lượt, số lượt đạt "
        f"{change(passed, pv['assessments.passed'])}."
    )


def _models(v: Mapping[str, int], pv: Mapping[str, int]) -> str:
    return (
        f"Xây dựng mới, củng cố {num(v['models.total'])} mô hình phong trào toàn dân bảo vệ ANTQ, "
        "trong đó có "
        f"{num(v['models.in_units'])} mô hình thuộc cơ quan, doanh nghiệp, nhà trường và "
        f"{num(v['models.in_communities'])} mô hình ở khu dân cư; kỳ trước "
        f"{num(pv['models.total'])} mô hình, "
        f"{change(v['models.total'], pv['models.total'])} (mô hình thuộc cơ quan, doanh nghiệp, nhà trường "
        f"{change(v['models.in_units'], pv['models.in_units'])})."
    )


def _training(v: Mapping[str, int], pv: Mapping[str, int]) -> str:
    return (
        f"Tổ chức {num(v['training.classes'])} lớp bồi dưỡng nghiệp vụ bảo vệ cho "
        f"{num(v['training.attendances'])} lượt bảo vệ trong các cơ quan, doanh nghiệp, trường học; kỳ trước "
        f"{num(pv['training.classes'])} lớp, {num(pv['training.attendances'])} lượt (số lớp "
        f"{change(v['training.classes'], pv['training.classes'])}, số lượt "
        f"{change(v['training.attendances'], pv['training.attendances'])})."
    )


def _cameras(
    report: ReviewReport, f: Mapping[str, FigureValue], v: Mapping[str, int], pv: Mapping[str, int]
) -> list[str]:
    target = f["cameras.planned"].target
    planned, installed = v["cameras.planned"], v["cameras.installed"]
    if target is not None:
        first = (
            f"Kế hoạch lắp đặt {num(target)} camera ở các vị trí phù hợp để theo dõi, giám sát các "
            "hoạt động; "
            f"trong kỳ đã đưa vào kế hoạch {num(planned)} camera (đạt "
            f"{pct(percent(planned, target))} chỉ tiêu) "
            f"và lắp đặt {num(installed)} camera (đạt {pct(percent(installed, target))} chỉ tiêu)"
        )
    else:
        first = (
            f"Chưa có kế hoạch lắp đặt đặt chỉ tiêu cho kỳ này; trong kỳ đã đưa vào kế hoạch {num(planned)} "
            f"camera và lắp đặt {num(installed)} camera"
        )
    first += (
        f"; kỳ trước {num(pv['cameras.planned'])} camera kế hoạch, {num(pv['cameras.installed'])} "
        "camera lắp đặt "
        f"(số camera lắp đặt {change(installed, pv['cameras.installed'])})."
    )
    rates = {r.name: r for r in report.rates}
    up = rates["cameras.uptime"].value
    second = (
        f"Cuối kỳ có {num(v['cameras.online'])} camera đang trực tuyến "
        f"({change(v['cameras.online'], pv['cameras.online'])}); "
        f"tổng thời gian trực tuyến trong kỳ {num(v['cameras.online_hours'])} giờ"
    )
    if up is not None:
        second += f", tỷ lệ thời gian trực tuyến của các camera đã lắp đặt {pct(round(100 * up, 2))}"
    return [first, second + "."]


def _violations(report: ReviewReport, v: Mapping[str, int], pv: Mapping[str, int]) -> list[str]:
    opened, resolved, dismissed = v["violations.opened"], v["violations.resolved"], v["violations.dismissed"]
    first = (
        f"Hệ thống camera ghi nhận {num(v['violations.detections'])} lần phát hiện, mở "
        f"{num(opened)} vụ việc vi "
        f"phạm chuyển lực lượng Công an xử lý (kỳ trước {num(pv['violations.opened'])} vụ, "
        f"{change(opened, pv['violations.opened'])}); đã xử lý {num(resolved + dismissed)} vụ, trong đó "
        f"{num(resolved)} vụ giải quyết xong và {num(dismissed)} vụ loại bỏ do không vi phạm; "
        f"{num(v['violations.overdue'])} vụ quá hạn xử lý."
    )
    out = [first]
    by_kind = next(b for b in report.breakdowns if b.dimension == "kind")
    entries = [e for e in by_kind.entries if e.value]
    if entries:
        out.append("Theo loại vi phạm: " + "; ".join(f"{e.label} {num(e.value)} vụ" for e in entries) + ".")
    return out


def _awards(v: Mapping[str, int], pv: Mapping[str, int]) -> str:
    def pair(form: str, values: Mapping[str, int]) -> str:
        return (
            f"{num(values[f'awards.{form}.collective'])} tập thể và "
            f"{num(values[f'awards.{form}.individual'])} cá nhân"
        )

    merit = sum(v[f"awards.merit.{k}"] for k in ("collective", "individual"))
    merit_before = sum(pv[f"awards.merit.{k}"] for k in ("collective", "individual"))
    comm = sum(v[f"awards.commendation.{k}"] for k in ("collective", "individual"))
    comm_before = sum(pv[f"awards.commendation.{k}"] for k in ("collective", "individual"))
    return (
        f"Chủ tịch UBND tỉnh tặng Bằng khen cho {pair('merit', v)}; Giám đốc Công an tỉnh tặng Giấy khen cho "
        f"{pair('commendation', v)} có nhiều thành tích trong thực hiện Chỉ thị số 07; kỳ trước "
        "Bằng khen cho "
        f"{pair('merit', pv)}, Giấy khen cho {pair('commendation', pv)} (Bằng khen "
        f"{change(merit, merit_before)}, "
        f"Giấy khen {change(comm, comm_before)})."
    )


# --- the document as the template reads it ---------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """Everything the DOCX template is filled with (`context()`), and the file's name."""

    params: DocumentParams
    report: ReviewReport
    opening: str
    sections: list[Section]
    table: list[Row] = field(default_factory=list)

    @property
    def issued_on(self) -> date:
        return self.params.issued_on or self.report.period.end

    def context(self) -> dict[str, object]:
        p = self.params
        return {
            "parent_agency": p.parent_agency.upper(),
            "agency": p.agency.upper(),
            "number_line": number_line(p.number, p.symbol),
            "place_date": place_and_date(p.place, self.issued_on),
            "document_type": "BÁO CÁO",
            "excerpt": p.excerpt or default_excerpt(self.report),
            "opening": self.opening,
            "sections": [{"heading": s.heading, "paragraphs": s.paragraphs} for s in self.sections],
            "table_title": "Bảng tổng hợp số liệu",
            "rows": [r.texts() for r in self.table],
            "period": f"{vn_date(self.report.period.start)} - {vn_date(self.report.period.end)}",
            "previous_period": f"{vn_date(self.report.previous.start)} - {vn_date(self.report.previous.end)}",
            "recipients": list(p.recipients),
            "signature_lines": p.signature.lines(),
            "signer_name": p.signature.name,
        }


def document(report: ReviewReport, params: DocumentParams) -> Document:
    opening, sections = draft(report, params.agency)
    return Document(params, report, opening, sections, rows(report))


def file_name(report: ReviewReport, fmt: str) -> str:
    """ "bao-cao-so-ket_2014-08-15_2019-08-29.docx" (ASCII: every mail client and file system keeps it)."""
    scope = f"_{report.district_code}" if report.district_code else ""
    p = report.period
    return f"bao-cao-so-ket{scope}_{p.start.isoformat()}_{p.end.isoformat()}.{FORMATS[fmt][1]}"
